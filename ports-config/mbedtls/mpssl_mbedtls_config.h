// mbedTLS configuration for mpssl builds on make and CMake ports.
//
// It starts from the port's own configuration (MPSSL_PORT_MBEDTLS_CONFIG, by default the
// header every MicroPython port keeps at "mbedtls/mbedtls_config_port.h") and then enables
// what mpssl's features need.  Only additions live here; the port keeps its clock, entropy
// and heap hooks.
#ifndef MPSSL_MBEDTLS_CONFIG_H
#define MPSSL_MBEDTLS_CONFIG_H

#ifndef MPSSL_PORT_MBEDTLS_CONFIG
#define MPSSL_PORT_MBEDTLS_CONFIG "mbedtls/mbedtls_config_port.h"
#endif

// mbedTLS on MicroPython's GC heap, as the MCU ports do it (make MBEDTLS_HEAP=gc on unix).
// Must be decided before the port's configuration includes the common one.
#if MPSSL_MBEDTLS_GC_HEAP
#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)
#endif

#include MPSSL_PORT_MBEDTLS_CONFIG

#if MPSSL_MBEDTLS_GC_HEAP && defined(MPSSL_HOST_ENTROPY)
// The bare-metal configuration expects a hardware entropy source; a host build keeps the
// operating system's one.
#undef MBEDTLS_ENTROPY_HARDWARE_ALT
#undef MBEDTLS_NO_PLATFORM_ENTROPY
#endif

// PEM certificates and keys, bundles of many certificates.
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

// getpeercert() needs the peer's certificate after the handshake.
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE

// Verification: hostname check against SAN/CN, key usage of the chain.
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

// Protocol features the module uses.  A feature with an API (session tickets, max fragment
// length) is enabled together with that API, not before: otherwise it costs flash and claims
// what is not there.
#define MBEDTLS_SSL_SERVER_NAME_INDICATION  // server_hostname= is sent
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC        // both: security fixes peers negotiate on their own
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALPN                    // set_alpn_protocols / selected_alpn_protocol
#undef MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#undef MBEDTLS_SSL_SESSION_TICKETS
#undef MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH

// Encrypted private keys need a password, and the module has no password API: without PKCS#5 an
// encrypted PKCS#8 key is refused as 'invalid key' without carrying the decryption code.  (The
// RFC 1421 encrypted-PEM code stays whenever MD5 and AES-CBC are in, which hashlib and the CBC
// suites need.)
#undef MBEDTLS_PKCS5_C
#undef MBEDTLS_PKCS12_C

// ChaCha20-Poly1305 cipher suites (CPython and OpenSSL peers prefer them on devices without AES).
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

// The NIST curves' own modular reduction instead of the generic one.  Chosen from make bench's
// emulated Cortex-M3 column: an ECDHE-ECDSA P-256 handshake pair costs 86 M instructions instead of
// 576 M (ECDHE-RSA 2048: 166 M instead of 569 M), for the same heap and 2.7 KB of flash
// (2026-12-08, bench/results.md).  ESP-IDF has it on by default.
#define MBEDTLS_ECP_NIST_OPTIM

// DTLS 1.2 with HelloVerify cookies and replay protection, whatever the port chose.
#define MBEDTLS_SSL_PROTO_DTLS
#define MBEDTLS_SSL_DTLS_ANTI_REPLAY
#define MBEDTLS_SSL_DTLS_HELLO_VERIFY
#define MBEDTLS_SSL_COOKIE_C

// Readable error names (MicroPython's compact table replaces mbedTLS' error.c).
#define MBEDTLS_ERROR_C

#endif // MPSSL_MBEDTLS_CONFIG_H
