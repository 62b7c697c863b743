// The qemu board built with the built-in tls (MPSSL_BUILTIN_TLS=1, make bench's side-by-side image):
// extmod's mbedtls_alt.c includes its port's configuration by this name, and the qemu port has none.
// It is the board's own configuration, the one mpssl's image of the same board uses.
#include "mbedtls_config_qemu.h"
