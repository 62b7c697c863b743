// lwIP's compiler/platform header for the mpssl qemu board (newlib on Cortex-M3).
#ifndef MPSSL_QEMU_ARCH_CC_H
#define MPSSL_QEMU_ARCH_CC_H

#define LWIP_PLATFORM_DIAG(x)
#define LWIP_PLATFORM_ASSERT(x) do { } while (0)
#define LWIP_NO_CTYPE_H 1

#endif // MPSSL_QEMU_ARCH_CC_H
