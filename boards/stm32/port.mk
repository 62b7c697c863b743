# STM32 firmware with mpssl (included by the top Makefile).
#   make firmware PORT=stm32 [BOARD=NUCLEO_F429ZI|PYBD_SF2|QEMU_NETDUINO_PLUS_2]  ->  build/stm32-<BOARD>/firmware.{elf,bin,hex,dfu}
# The port's make runs in the checkout's ports/stm32 but writes only under BUILD=; our own
# mpy-cross keeps it from building one in the checkout, and PYTHONDONTWRITEBYTECODE keeps the
# port's Python generators from leaving __pycache__ there.

STM32_BOARDS := NUCLEO_F429ZI PYBD_SF2 QEMU_NETDUINO_PLUS_2
FIRMWARE_BOARDS += $(addprefix stm32:,$(STM32_BOARDS))

# BOARD is shared with the other ports' rules: only a BOARD the user gave counts here.
ifneq ($(filter command line environment,$(origin BOARD)),)
STM32_BOARD := $(BOARD)
else
STM32_BOARD := NUCLEO_F429ZI
endif
STM32_BUILD := $(BUILD_ROOT)/stm32-$(STM32_BOARD)
STM32_BOARD_DIR := $(ROOT)/boards/stm32/$(STM32_BOARD)
STM32_JOBS ?= $(JOBS)

STM32_MAKE_ARGS := BOARD_DIR=$(STM32_BOARD_DIR) BUILD=$(STM32_BUILD) \
	USER_C_MODULES=$(ROOT)/usermod MICROPY_PY_SSL=0 MICROPY_MPYCROSS=$(MPY_CROSS)

.PHONY: firmware-stm32 check-stm32-board

check-stm32-board:
	@test -d $(STM32_BOARD_DIR) || { echo "No STM32 board '$(STM32_BOARD)' in boards/stm32 (have: $(STM32_BOARDS))" >&2; exit 1; }
	@command -v arm-none-eabi-gcc >/dev/null || { echo "arm-none-eabi-gcc not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi" >&2; exit 1; }

# Always hand over to the port's make: it knows what is out of date (sources, board, mpssl).
firmware-stm32: check-micropython check-stm32-board $(MPY_CROSS)
	PYTHONDONTWRITEBYTECODE=1 $(MAKE) -C $(MICROPY_DIR)/ports/stm32 $(STM32_MAKE_ARGS) -j$(STM32_JOBS)

# The upstream board of the same hardware, from the same checkout, for `make sizes` (for the
# emulation board QEMU_<name>, upstream's <name>). NimBLE's
# submodule may be absent (as here): the upstream PYBD build then uses BTstack, as ours does.
.PHONY: firmware-upstream-stm32
firmware-upstream-stm32: check-micropython check-stm32-board $(MPY_CROSS)
	PYTHONDONTWRITEBYTECODE=1 $(MAKE) -C $(MICROPY_DIR)/ports/stm32 BOARD=$(patsubst QEMU_%,%,$(STM32_BOARD)) \
		BUILD=$(BUILD_ROOT)/upstream/stm32-$(STM32_BOARD) MICROPY_MPYCROSS=$(MPY_CROSS) \
		$(if $(wildcard $(MICROPY_DIR)/lib/mynewt-nimble/nimble),,MICROPY_BLUETOOTH_NIMBLE=0 MICROPY_BLUETOOTH_BTSTACK=1) \
		-j$(STM32_JOBS)
