// mpssl: MicroPython's documented `ssl` module on the port's own mbedTLS.
// Declarations shared by modssl.c, context.c, socket.c, certs.c and errors.c.
#ifndef MPSSL_H
#define MPSSL_H

#include "py/obj.h"

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "mbedtls/entropy.h"
#include "mbedtls/ctr_drbg.h"
#if defined(MBEDTLS_SSL_COOKIE_C)
#include "mbedtls/ssl_cookie.h"
#endif

#define MPSSL_VERSION "0.1.0"

// Protocol constants: bit 0 says server, bit 1 says DTLS (the values of MicroPython's `tls`).
#define MPSSL_PROTOCOL_SERVER (1)
#define MPSSL_PROTOCOL_DTLS (2)
#define MPSSL_PROTOCOL_TLS_CLIENT (0)
#define MPSSL_PROTOCOL_TLS_SERVER (MPSSL_PROTOCOL_SERVER)
#define MPSSL_PROTOCOL_DTLS_CLIENT (MPSSL_PROTOCOL_DTLS)
#define MPSSL_PROTOCOL_DTLS_SERVER (MPSSL_PROTOCOL_DTLS | MPSSL_PROTOCOL_SERVER)

// SSLContext: one mbedTLS configuration, its RNG, credentials and trust anchors.
typedef struct _mpssl_context_t {
    mp_obj_base_t base;
    uint8_t protocol;
    uint8_t verify_mode;        // MBEDTLS_SSL_VERIFY_NONE / _OPTIONAL / _REQUIRED
    bool check_hostname;
    bool freed;                 // mbedTLS state released (finaliser ran)
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context ctr_drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt cacert;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    int *ciphersuites;          // GC-allocated, zero-terminated; NULL means mbedTLS' default list
    #if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_ctx cookie;
    #endif
} mpssl_context_t;

extern const mp_obj_type_t mpssl_context_type;
extern const mp_obj_type_t mpssl_socket_type;
extern const mp_obj_type_t mpssl_type_SSLError;
extern const mp_obj_type_t mpssl_type_SSLCertVerificationError;

// context.c
mp_obj_t mpssl_context_new(uint8_t protocol);
mp_obj_t mpssl_context_load_cert_chain(mp_obj_t self_in, mp_obj_t certfile, mp_obj_t keyfile);
mp_obj_t mpssl_context_load_verify_locations(mp_obj_t self_in, mp_obj_t cafile, mp_obj_t cadata);
void mpssl_context_set_verify_mode(mpssl_context_t *self, mp_int_t mode);

// socket.c
mp_obj_t mpssl_socket_new(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    bool do_handshake, mp_obj_t server_hostname, mp_obj_t client_id);

// certs.c
// Bytes of a `str` path (file read) or of a bytes-like object; NUL-terminated for PEM.
const unsigned char *mpssl_certs_data(mp_obj_t src, size_t *len, mp_obj_t *keep_alive);
bool mpssl_certs_is_pem(const unsigned char *buf, size_t len);
// Parses one or many certificates, PEM or DER (several concatenated), into chain.
// Returns 0 or an mbedTLS error code; *count receives how many were added.
int mpssl_certs_parse_chain(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len, size_t *count);
mp_obj_t mpssl_certs_to_dict(const mbedtls_x509_crt *crt);

// errors.c
MP_NORETURN void mpssl_raise_mbedtls(int err);
MP_NORETURN void mpssl_raise_verify_failed(uint32_t flags);
// Raise for a failed handshake or record operation: verification failures become
// SSLCertVerificationError, the rest follows mpssl_raise_mbedtls.
MP_NORETURN void mpssl_raise_ssl(int err, uint32_t verify_flags);

#endif // MPSSL_H
