# Pyboard D SF2 (Wi-Fi and Bluetooth on the CYW43, littlefs) with mpssl as `ssl` and `tls`:
# upstream's board of the same name, read from the MicroPython checkout, with the built-in TLS
# module swapped out.
MPSSL_UPSTREAM_BOARD = PYBD_SF2

# Bluetooth through BTstack rather than upstream's default NimBLE (the pinned checkout carries
# lib/btstack, not lib/mynewt-nimble). Upstream builds PYBD boards this way in CI too. With the
# NimBLE submodule present: MICROPY_BLUETOOTH_NIMBLE=1 MICROPY_BLUETOOTH_BTSTACK=0.
MICROPY_BLUETOOTH_NIMBLE ?= 0
MICROPY_BLUETOOTH_BTSTACK ?= 1

include $(BOARD_DIR)/../mpssl_board.mk

# Upstream's memory layout, plus mpssl and the mbedTLS error table in the QSPI flash (see the file).
LD_FILES = $(MPSSL_BOARD_DIR)/mpssl_qspi.ld
