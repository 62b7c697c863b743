# Shared by the mpssl STM32 boards: start from the upstream board of the same hardware and swap
# the built-in `tls` (and micropython-lib's frozen ssl.py) for mpssl. The board's mpconfigboard.mk
# sets MPSSL_UPSTREAM_BOARD and includes this file. See ports-config/README.md, "stm32".

# Our board directory, before it is pointed at upstream's below (the manifest lives here).
MPSSL_BOARD_DIR := $(abspath $(BOARD_DIR))

# A board with no MPSSL_UPSTREAM_BOARD (QEMU_NETDUINO_PLUS_2, an emulation board) has its own
# definition in its directory and takes only the tls swap below.
ifdef MPSSL_UPSTREAM_BOARD
# Relative to ports/stm32, where the port's make runs.
MPSSL_UPSTREAM_BOARD_DIR := boards/$(MPSSL_UPSTREAM_BOARD)

include $(MPSSL_UPSTREAM_BOARD_DIR)/mpconfigboard.mk

# From here on the port reads the upstream board's files by path: mpconfigboard.h and the HAL
# config (-I$(BOARD_DIR)), pins.csv, and the board's C files ($(BOARD_DIR)/*.c). BOARD (the name)
# was already taken from our directory's name, which is the same.
override BOARD_DIR := $(MPSSL_UPSTREAM_BOARD_DIR)
endif

# No built-in tls module: mpssl's micropython.mk compiles lib/mbedtls and the error table itself.
MICROPY_PY_SSL = 0
# Kept at 1 so the port's Makefile still adds its mbedTLS platform layer (mbedtls/mbedtls_port.c:
# time from the RTC); extmod.mk reads it only when MICROPY_PY_SSL=1.
MICROPY_SSL_MBEDTLS = 1

# The entropy hook (mbedtls_hardware_poll, from the RNG through mp_hal_get_random) is upstream's
# extmod/mbedtls/mbedtls_alt.c, which guards it with MICROPY_PY_SSL && MICROPY_SSL_MBEDTLS. That
# one object is compiled as if the built-in module were on; modtls_mbedtls.c stays compiled out.
$(BUILD)/extmod/mbedtls/mbedtls_alt.o: CFLAGS += -DMICROPY_PY_SSL=1

FROZEN_MANIFEST = $(MPSSL_BOARD_DIR)/manifest.py
