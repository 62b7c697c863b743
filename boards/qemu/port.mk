# The emulated qemu board (make firmware PORT=qemu [BOARD=MPS2_AN385]): MicroPython's qemu port,
# built out of tree with mpssl.  `make run-qemu` starts it by hand with the REPL on a pty.
FIRMWARE_BOARDS += qemu:MPS2_AN385
QEMU_BOARD_BUILD = $(BUILD_ROOT)/qemu-$(or $(BOARD),MPS2_AN385)

.PHONY: firmware-qemu run-qemu
firmware-qemu: check-micropython $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu BOARD=$(or $(BOARD),MPS2_AN385) \
		BOARD_DIR=$(ROOT)/boards/qemu/$(or $(BOARD),MPS2_AN385) BUILD=$(QEMU_BOARD_BUILD) \
		USER_C_MODULES=$(ROOT)/usermod MICROPY_MPYCROSS=$(MPY_CROSS) -j$(JOBS)

run-qemu: venv firmware-qemu
	$(VENV)/bin/mpssl-qemu --firmware $(QEMU_BOARD_BUILD)/firmware.elf

# The upstream board of the same hardware, from the same checkout, for `make sizes`.
.PHONY: firmware-upstream-qemu
firmware-upstream-qemu: check-micropython $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu BOARD=$(or $(BOARD),MPS2_AN385) \
		BUILD=$(BUILD_ROOT)/upstream/qemu-$(or $(BOARD),MPS2_AN385) MICROPY_MPYCROSS=$(MPY_CROSS) -j$(JOBS)
