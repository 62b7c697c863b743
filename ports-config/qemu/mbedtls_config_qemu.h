// mbedTLS configuration of the emulated qemu board: MicroPython's bare-metal common
// configuration, with the clock hooks of ports-config/qemu/mbedtls_port.c.
#ifndef MPSSL_MBEDTLS_CONFIG_QEMU_H
#define MPSSL_MBEDTLS_CONFIG_QEMU_H

#include <time.h>

// Time from the host's clock through semihosting (the board has no RTC).
#include "board_clock.h"
#define MBEDTLS_PLATFORM_TIME_MACRO mpssl_qemu_time
#define MBEDTLS_PLATFORM_MS_TIME_ALT

#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)
#include "extmod/mbedtls/mbedtls_config_common.h"

#endif // MPSSL_MBEDTLS_CONFIG_QEMU_H
