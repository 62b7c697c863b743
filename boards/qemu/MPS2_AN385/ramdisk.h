// The mpssl qemu board's RAM filesystem (ramdisk.c).
#ifndef MPSSL_QEMU_RAMDISK_H
#define MPSSL_QEMU_RAMDISK_H

// Formats the RAM disk on first use and mounts it at "/" (call on every soft reset).
void ramdisk_mount(void);

#endif // MPSSL_QEMU_RAMDISK_H
