# NUCLEO-F429ZI (Ethernet, lwIP) with mpssl as `ssl` and `tls`: upstream's board of the same name,
# read from the MicroPython checkout, with the built-in TLS module swapped out.
MPSSL_UPSTREAM_BOARD = NUCLEO_F429ZI
include $(BOARD_DIR)/../mpssl_board.mk
