// mpssl: MicroPython's documented `ssl` module on the port's own mbedTLS.
// Declarations shared by modssl.c, conf.c, context.c, transport.c, socket.c, certs.c and errors.c.
#ifndef MPSSL_H
#define MPSSL_H

#include "py/obj.h"
#if MICROPY_PY_THREAD
#include "py/mpthread.h"
#endif

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "mbedtls/entropy.h"
#include "mbedtls/ctr_drbg.h"
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
#if !defined(MBEDTLS_SSL_COOKIE_C)
// Without the cookie module mbedTLS keeps its placeholder cookie callbacks, which refuse every
// ClientHello: a DTLS server would accept no client at all.
#error "MBEDTLS_SSL_DTLS_HELLO_VERIFY needs MBEDTLS_SSL_COOKIE_C (on ESP-IDF: CONFIG_MBEDTLS_SSL_DTLS_HELLO_VERIFY needs the cookie module); enable both or neither"
#endif
#include "mbedtls/ssl_cookie.h"
#endif

#define MPSSL_VERSION "0.2.0"

// Protocol constants: bit 0 says server, bit 1 says DTLS (the values of MicroPython's `tls`).
#define MPSSL_PROTOCOL_SERVER (1)
#define MPSSL_PROTOCOL_DTLS (2)
#define MPSSL_PROTOCOL_TLS_CLIENT (0)
#define MPSSL_PROTOCOL_TLS_SERVER (MPSSL_PROTOCOL_SERVER)
#define MPSSL_PROTOCOL_DTLS_CLIENT (MPSSL_PROTOCOL_DTLS)
#define MPSSL_PROTOCOL_DTLS_SERVER (MPSSL_PROTOCOL_DTLS | MPSSL_PROTOCOL_SERVER)

// The largest datagram a DTLS socket sends: an Ethernet MTU less IPv6 and UDP headers, with room
// for tunnels.  mbedTLS fragments handshake messages to fit.
#define MPSSL_DTLS_MTU (1400)

// ---- conf.c: what an SSLContext shares with the sockets it wrapped ----
//
// Each of these lives on mbedTLS' heap (mbedtls_calloc), outside the garbage-collected objects,
// and is reference-counted, so the garbage collector may finalise a context and its sockets in
// any order: the last reference frees.

// The random generator of a context and of its configurations, with the DTLS cookie secret.
typedef struct _mpssl_rng_t {
    size_t refs;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context ctr_drbg;
    #if MICROPY_PY_THREAD
    mp_thread_mutex_t mutex;    // sockets of one context may run on two cores (rp2 has no GIL)
    #endif
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    bool has_cookie;
    mbedtls_ssl_cookie_ctx cookie;
    #endif
} mpssl_rng_t;

// An own certificate chain with its private key (load_cert_chain).
typedef struct _mpssl_creds_t {
    size_t refs;
    mbedtls_x509_crt chain;
    mbedtls_pk_context key;
} mpssl_creds_t;

// Trust anchors (load_verify_locations).
typedef struct _mpssl_trust_t {
    size_t refs;
    mbedtls_x509_crt chain;
} mpssl_trust_t;

// One mbedTLS configuration.  A context changes only a configuration no socket uses: it copies
// a shared one first (mpssl_conf_writable), so a socket keeps what it was wrapped with.
typedef struct _mpssl_conf_t {
    size_t refs;
    uint8_t protocol;
    uint8_t verify_mode;        // MBEDTLS_SSL_VERIFY_NONE / _OPTIONAL / _REQUIRED
    mbedtls_ssl_config conf;
    mpssl_rng_t *rng;
    mpssl_creds_t *creds;       // NULL: no own certificate
    mpssl_trust_t *trust;       // NULL: no trust anchors
    int *ciphersuites;          // zero-terminated; NULL: mbedTLS' default list
    #if defined(MBEDTLS_SSL_ALPN)
    const char **alpn;          // NULL-terminated, the names stored after the pointers; NULL: none
    size_t alpn_count;
    size_t alpn_names_len;      // the names' bytes, each with its NUL
    #endif
} mpssl_conf_t;

// These return 0 or an mbedTLS error code and raise nothing, so a caller can free what it
// holds before it raises.
int mpssl_conf_new(mpssl_conf_t **out, uint8_t protocol, uint8_t verify_mode);
mpssl_conf_t *mpssl_conf_retain(mpssl_conf_t *conf);
void mpssl_conf_release(mpssl_conf_t *conf);
// Makes *slot safe to change: copies it when a socket shares it.
int mpssl_conf_writable(mpssl_conf_t **slot);
void mpssl_conf_set_verify_mode(mpssl_conf_t *conf, uint8_t mode);
// Takes over the caller's reference to creds / trust, also on failure.
int mpssl_conf_set_creds(mpssl_conf_t *conf, mpssl_creds_t *creds);
void mpssl_conf_set_trust(mpssl_conf_t *conf, mpssl_trust_t *trust);
int mpssl_conf_set_ciphersuites(mpssl_conf_t *conf, const int *ids, size_t n);
#if defined(MBEDTLS_SSL_ALPN)
// The ALPN protocols of *slot (copied first when a socket shares it): `count` NUL-terminated names
// back to back, `names_len` bytes in all.  A count of 0 removes them.
int mpssl_conf_set_alpn(mpssl_conf_t **slot, const char *names, size_t names_len, size_t count);
#endif
int mpssl_rng_random(void *rng, unsigned char *out, size_t len);

// New credentials and trust stores belong to the caller until a configuration takes them;
// *_discard frees one no configuration took.
int mpssl_creds_new(mpssl_creds_t **out);
void mpssl_creds_discard(mpssl_creds_t *creds);
// A new trust store holding a copy of `from` (may be NULL).
int mpssl_trust_new(mpssl_trust_t **out, const mpssl_trust_t *from);
void mpssl_trust_discard(mpssl_trust_t *trust);

// ---- context.c ----

typedef struct _mpssl_context_t {
    mp_obj_base_t base;
    mpssl_conf_t *conf;         // NULL once the context was released (__del__)
    uint8_t protocol;
    uint8_t verify_mode;
    bool check_hostname;
    mp_obj_t verify_callback;   // None, or callable(cert_der: bytes, depth: int) -> int
} mpssl_context_t;

extern const mp_obj_type_t mpssl_context_type;
mp_obj_t mpssl_context_new(uint8_t protocol);
mp_obj_t mpssl_context_load_cert_chain(mp_obj_t self_in, mp_obj_t certfile, mp_obj_t keyfile);
mp_obj_t mpssl_context_load_verify_locations(mp_obj_t self_in, mp_obj_t cafile, mp_obj_t cadata);
void mpssl_context_set_verify_mode(mpssl_context_t *self, mp_int_t mode);

// ---- socket.c and transport.c: SSLSocket ----

typedef enum {
    MPSSL_HANDSHAKE,    // mbedTLS set up, handshake not finished
    MPSSL_OPEN,         // handshake finished
    MPSSL_FAILED,       // a fatal error: mbedTLS released, the error kept, the wrapped stream open
    MPSSL_CLOSED,       // close() or the finaliser ran: everything released
} mpssl_state_t;

// What the socket knows of its wrapped stream's blocking mode.
typedef enum {
    MPSSL_BLOCKING_UNKNOWN,     // not told and not yet seen: a read or write decides
    MPSSL_BLOCKING_YES,         // setblocking(True), or a read waited although nothing was ready
    MPSSL_BLOCKING_NO,          // setblocking(False), or the stream answered "would block"
} mpssl_blocking_t;

typedef struct _mpssl_socket_t {
    mp_obj_base_t base;
    mpssl_conf_t *conf;         // the configuration mbedTLS uses (a reference); NULL once released
    mp_obj_t sock;              // the wrapped stream; MP_OBJ_NULL once closed
    mp_obj_t verify_callback;   // the context's, when it wrapped this socket
    mp_obj_t pending_exc;       // what the stream or a callback raised inside an mbedTLS call
    mbedtls_ssl_context ssl;
    uint8_t protocol;
    uint8_t verify_mode;
    uint8_t state;              // mpssl_state_t
    uint8_t blocking;           // mpssl_blocking_t
    uint8_t poll_mask;          // MP_STREAM_POLL_RD/WR: the direction the last call waits on
    bool check_hostname;
    bool wait_intent;           // the running call waits for the stream (a blocking call)
    bool stream_ended;          // a read of the wrapped stream returned 0: its end
    bool timed_out;             // the stream's own timeout ran out inside the running mbedTLS call
    int io_errno;               // errno the stream reported inside the running mbedTLS call
    int error;                  // sticky: the mbedTLS code that failed the socket
    int error_errno;            // sticky: or the stream's errno
    uint32_t error_flags;       // sticky: verify flags of a verification failure
    size_t write_pending;       // bytes of a record mbedTLS holds after WANT_WRITE, 0 if none
    uint32_t write_pending_hash; // of those bytes, to check that a retry resends them
    // DTLS retransmission timer (mbedtls_ssl_set_timer_cb), in mp_hal_ticks_ms.
    mp_uint_t timer_start;
    uint32_t timer_int_ms;
    uint32_t timer_fin_ms;
} mpssl_socket_t;

extern const mp_obj_type_t mpssl_socket_type;
mp_obj_t mpssl_socket_new(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    bool do_handshake, mp_obj_t server_hostname, mp_obj_t client_id);

// transport.c: mbedTLS' BIO and timer callbacks over the wrapped stream, and waiting for it.
int mpssl_transport_send(void *self, const unsigned char *buf, size_t len);
int mpssl_transport_recv(void *self, unsigned char *buf, size_t len);
int mpssl_transport_recv_timeout(void *self, unsigned char *buf, size_t len, uint32_t timeout_ms);
void mpssl_transport_timer_set(void *self, uint32_t int_ms, uint32_t fin_ms);
int mpssl_transport_timer_get(void *self);
// Outside mbedTLS calls only (these may raise): the stream's readiness for `events`, and a
// wait until the stream is ready for `events` or the DTLS timer expires.
mp_uint_t mpssl_transport_poll(mpssl_socket_t *self, mp_uint_t events);
void mpssl_transport_wait(mpssl_socket_t *self, mp_uint_t events);

// ---- certs.c ----
// Bytes of a `str` path (file read) or of a bytes-like object; NUL-terminated for PEM.
const unsigned char *mpssl_certs_data(mp_obj_t src, size_t *len, mp_obj_t *keep_alive);
bool mpssl_certs_is_pem(const unsigned char *buf, size_t len);
// Parses one or many certificates, PEM or DER (several concatenated), into chain.
// Returns 0 or an mbedTLS error code; *count receives how many were added.
int mpssl_certs_parse_chain(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len, size_t *count);
mp_obj_t mpssl_certs_to_dict(const mbedtls_x509_crt *crt);

// ---- errors.c ----
extern const mp_obj_type_t mpssl_type_SSLError;
extern const mp_obj_type_t mpssl_type_SSLCertVerificationError;
MP_NORETURN void mpssl_raise_mbedtls(int err);
MP_NORETURN void mpssl_raise_verify_failed(uint32_t flags);
// Raise for a failed handshake or record operation: verification failures become
// SSLCertVerificationError, the rest follows mpssl_raise_mbedtls.
MP_NORETURN void mpssl_raise_ssl(int err, uint32_t verify_flags);

#endif // MPSSL_H
