// mbedTLS configuration of the built-in bench binary (make bench: build/bench/builtin): the unix
// port's own configuration with mbedTLS on MicroPython's GC heap, selected exactly as mpssl's
// MBEDTLS_HEAP=gc build selects it (ports-config/mbedtls/mpssl_mbedtls_config.h): the bare-metal
// block of extmod/mbedtls/mbedtls_config_common.h (m_tracked_calloc / m_tracked_free), keeping the
// operating system's entropy source as upstream's coverage variant does. Nothing else changes.
#ifndef MPSSL_BENCH_BUILTIN_GC_HEAP_H
#define MPSSL_BENCH_BUILTIN_GC_HEAP_H

#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)

#include "mbedtls/mbedtls_config_port.h"

#undef MBEDTLS_ENTROPY_HARDWARE_ALT
#undef MBEDTLS_NO_PLATFORM_ENTROPY

#endif
