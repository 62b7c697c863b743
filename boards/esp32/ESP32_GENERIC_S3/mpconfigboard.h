// ESP32_GENERIC_S3 with mpssl: upstream's board header, unchanged (the TLS module is swapped in CMake, see
// usermod/mpssl/esp32.cmake). MICROPY_PY_SSL stays (MICROPY_PY_NETWORK) as ports/esp32/mpconfigport.h
// defines it: MICROPY_SSL_MBEDTLS follows it and keeps main.c's mbedTLS clock hook, hashlib and cryptolib.
#include "ports/esp32/boards/ESP32_GENERIC_S3/mpconfigboard.h"
