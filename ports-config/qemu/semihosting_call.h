// ARM semihosting: the board asks the host (QEMU with -semihosting) for a service.
#ifndef MPSSL_QEMU_SEMIHOSTING_CALL_H
#define MPSSL_QEMU_SEMIHOSTING_CALL_H

#define SYS_OPEN (0x01)
#define SYS_CLOSE (0x02)
#define SYS_READ (0x06)
#define OPEN_MODE_RB (1)

static inline int semihosting_call(int op, const void *args) {
    register int r0 __asm__ ("r0") = op;
    register const void *r1 __asm__ ("r1") = args;
    __asm__ volatile ("bkpt 0xAB" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

#endif // MPSSL_QEMU_SEMIHOSTING_CALL_H
