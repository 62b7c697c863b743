// mbedTLS platform layer of the emulated qemu board: entropy from the host's /dev/urandom through
// ARM semihosting (QEMU runs with -semihosting), milliseconds from the host's monotonic clock.
// Test hardware only: a real board takes entropy from its TRNG.
#include "py/mphal.h"

#include "mbedtls/platform_time.h"

#include "board_clock.h"
#include "semihosting_call.h"

// 64 bits of milliseconds: the board's 32-bit tick counter would wrap after 49.7 days.
mbedtls_ms_time_t mbedtls_ms_time(void) {
    return (mbedtls_ms_time_t)(mpssl_qemu_monotonic_ns() / 1000000ULL);
}

// Entropy: the host's /dev/urandom, read through semihosting.  Weak: the board built with the
// built-in tls instead (make bench's side-by-side image) takes extmod's mbedtls_alt.c, which draws
// from mp_hal_get_random, the same host entropy on this board.
MP_WEAK int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
    (void)data;
    *olen = semihosting_host_entropy(output, len);
    return *olen > 0 || len == 0 ? 0 : -1;
}
