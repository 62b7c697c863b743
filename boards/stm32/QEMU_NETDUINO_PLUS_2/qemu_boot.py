# Frozen, run before boot.py: the board's filesystem is FAT on its RAM disk (pyb.Flash, see
# board_qemu.c), mounted at "/".  The RAM disk is empty when QEMU starts and keeps its files over
# soft and hard resets until QEMU exits.
import pyb
import vfs

_bdev = pyb.Flash(start=0)
try:
    vfs.mount(_bdev, "/")
except OSError:
    vfs.VfsFat.mkfs(_bdev)
    vfs.mount(_bdev, "/")
del _bdev, pyb, vfs
