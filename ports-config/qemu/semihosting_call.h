// ARM semihosting: the board asks the host (QEMU with -semihosting) for a service.
#ifndef MPSSL_QEMU_SEMIHOSTING_CALL_H
#define MPSSL_QEMU_SEMIHOSTING_CALL_H

#include <stddef.h>
#include <stdint.h>

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

// Fills `buf` with `len` bytes of the host's /dev/urandom; returns how many it got (len, or less
// when the host refused).  Opens and closes the file each time, so no host handle outlives a
// reset of the board.
static inline size_t semihosting_host_entropy(uint8_t *buf, size_t len) {
    static const char path[] = "/dev/urandom";
    const int open_args[3] = { (int)path, OPEN_MODE_RB, sizeof(path) - 1 };
    int handle = semihosting_call(SYS_OPEN, open_args);
    if (handle < 0) {
        return 0;
    }
    const int read_args[3] = { handle, (int)buf, (int)len };
    int not_read = semihosting_call(SYS_READ, read_args);
    const int close_args[1] = { handle };
    semihosting_call(SYS_CLOSE, close_args);
    return not_read >= 0 && (size_t)not_read <= len ? len - (size_t)not_read : 0;
}

#endif // MPSSL_QEMU_SEMIHOSTING_CALL_H
