// mbedTLS platform layer of the emulated qemu board: entropy from the host's /dev/urandom through
// ARM semihosting (QEMU runs with -semihosting), milliseconds from the board's tick counter.
// Test hardware only: a real board takes entropy from its TRNG.
#include "py/mphal.h"

#include "mbedtls/platform_time.h"

#include "semihosting_call.h"

mbedtls_ms_time_t mbedtls_ms_time(void) {
    return (mbedtls_ms_time_t)mp_hal_ticks_ms();
}

// Entropy: the host's /dev/urandom, read through semihosting.
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
    (void)data;
    static const char path[] = "/dev/urandom";
    const int open_args[3] = { (int)path, OPEN_MODE_RB, sizeof(path) - 1 };
    int handle = semihosting_call(SYS_OPEN, open_args);
    if (handle < 0) {
        *olen = 0;
        return -1;
    }
    const int read_args[3] = { handle, (int)output, (int)len };
    int not_read = semihosting_call(SYS_READ, read_args);
    const int close_args[1] = { handle };
    semihosting_call(SYS_CLOSE, close_args);
    *olen = not_read >= 0 && (size_t)not_read <= len ? len - (size_t)not_read : 0;
    return 0;
}
