// SSLSocket: the stream protocol over a wrapped stream (read, write, ioctl/poll), the handshake
// state machine (blocking and not), DTLS retransmission timers, close_notify and peer info.
#include <string.h>

#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/mphal.h"

#include "mpssl.h"

typedef enum {
    MPSSL_HANDSHAKE,    // mbedTLS set up, handshake not finished
    MPSSL_OPEN,         // handshake finished
    MPSSL_FAILED,       // handshake failed: mbedTLS state released, the wrapped stream still open
    MPSSL_CLOSED,       // close() ran: everything released
} mpssl_state_t;

typedef struct _mpssl_socket_t {
    mp_obj_base_t base;
    mpssl_context_t *ctx;       // keeps the configuration alive while mbedTLS uses it
    mp_obj_t sock;              // the wrapped stream; MP_OBJ_NULL once closed
    mp_obj_t pending_exc;       // an exception the wrapped stream raised inside an mbedTLS call
    mbedtls_ssl_context ssl;
    uint8_t state;
    bool nonblocking;
    bool check_hostname;
    int want;                   // MBEDTLS_ERR_SSL_WANT_READ/_WRITE of the last call, for poll
    // DTLS retransmission timer (mbedtls_ssl_set_timer_cb), in mp_hal_ticks_ms.
    mp_uint_t timer_start;
    uint32_t timer_int_ms;
    uint32_t timer_fin_ms;
} mpssl_socket_t;

// ---- transport: mbedTLS' BIO callbacks over the wrapped stream ----

// Calls the wrapped stream with exceptions caught: an exception must not unwind through mbedTLS.
// Stream errors travel through mbedTLS as -errno (errors.c turns them back into OSError).
static int stream_call(mpssl_socket_t *self, bool write, unsigned char *buf, size_t len) {
    int err = 0;
    mp_uint_t out = MP_STREAM_ERROR;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        const mp_stream_p_t *stream = mp_get_stream(self->sock);
        out = write ? stream->write(self->sock, buf, len, &err) : stream->read(self->sock, buf, len, &err);
        nlr_pop();
    } else {
        self->pending_exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    if (out == MP_STREAM_ERROR) {
        if (mp_is_nonblocking_error(err)) {
            return write ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_WANT_READ;
        }
        return -err;
    }
    return (int)out;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
    return stream_call(ctx, true, (unsigned char *)buf, len);
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
    return stream_call(ctx, false, buf, len);
}

// The wrapped stream's readiness, or `events` when it cannot say (a stream without poll).
static mp_uint_t stream_poll(mpssl_socket_t *self, mp_uint_t events) {
    const mp_stream_p_t *stream = mp_get_stream(self->sock);
    if (stream->ioctl == NULL) {
        return events;
    }
    int err;
    mp_uint_t ready = MP_STREAM_ERROR;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        ready = stream->ioctl(self->sock, MP_STREAM_POLL, events, &err);
        nlr_pop();
    }
    return ready == MP_STREAM_ERROR ? events : ready;
}

// DTLS receive with a deadline, so a lost datagram leads to a retransmission instead of a
// receive that blocks forever.  A non-blocking socket never waits here.
static int bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms) {
    mpssl_socket_t *self = ctx;
    if (timeout_ms == 0 || self->nonblocking) {
        return bio_recv(ctx, buf, len);
    }
    mp_uint_t start = mp_hal_ticks_ms();
    for (;;) {
        if (stream_poll(self, MP_STREAM_POLL_RD) & (MP_STREAM_POLL_RD | MP_STREAM_POLL_HUP | MP_STREAM_POLL_ERR)) {
            return bio_recv(ctx, buf, len);
        }
        if (mp_hal_ticks_ms() - start >= timeout_ms) {
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        mp_event_wait_ms(1);
    }
}

static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms) {
    mpssl_socket_t *self = ctx;
    self->timer_start = mp_hal_ticks_ms();
    self->timer_int_ms = int_ms;
    self->timer_fin_ms = fin_ms;
}

static int timer_get(void *ctx) {
    mpssl_socket_t *self = ctx;
    if (self->timer_fin_ms == 0) {
        return -1; // cancelled
    }
    mp_uint_t elapsed = mp_hal_ticks_ms() - self->timer_start;
    if (elapsed >= self->timer_fin_ms) {
        return 2;
    }
    return elapsed >= self->timer_int_ms ? 1 : 0;
}

// check_hostname=False: the chain is still verified, the name is not.
static int verify_without_hostname(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    (void)ctx;
    (void)crt;
    (void)depth;
    *flags &= ~MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

// ---- state ----

static void release_tls(mpssl_socket_t *self, uint8_t state) {
    if (self->state == MPSSL_HANDSHAKE || self->state == MPSSL_OPEN) {
        mbedtls_ssl_free(&self->ssl);
    }
    self->state = state;
}

// Re-raises what the wrapped stream raised during the last mbedTLS call.
static void raise_pending(mpssl_socket_t *self) {
    if (self->pending_exc != MP_OBJ_NULL) {
        mp_obj_t exc = self->pending_exc;
        self->pending_exc = MP_OBJ_NULL;
        release_tls(self, MPSSL_FAILED);
        nlr_raise(exc);
    }
}

static bool is_want(int ret) {
    return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

// The handshake failed: tell the peer where TLS says so, release mbedTLS, raise.
// The wrapped stream stays open: it is the caller's (a DTLS server reuses it after HelloVerify).
static MP_NORETURN void handshake_failed(mpssl_socket_t *self, int ret) {
    if (ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
        // Best effort: the connection is failing anyway.
        (void)mbedtls_ssl_send_alert_message(&self->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
            MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
        self->pending_exc = MP_OBJ_NULL;
    }
    uint32_t flags = mbedtls_ssl_get_verify_result(&self->ssl);
    release_tls(self, MPSSL_FAILED);
    mpssl_raise_ssl(ret, flags == (uint32_t)-1 ? 0 : flags);
}

static void after_call(mpssl_socket_t *self, int ret) {
    raise_pending(self);
    self->want = is_want(ret) ? ret : 0;
    if (self->state == MPSSL_HANDSHAKE && mbedtls_ssl_is_handshake_over(&self->ssl)) {
        self->state = MPSSL_OPEN;
    }
}

// Drives the handshake; a blocking caller waits for a non-blocking stream.
static int handshake(mpssl_socket_t *self, bool wait) {
    for (;;) {
        int ret = mbedtls_ssl_handshake(&self->ssl);
        after_call(self, ret);
        if (ret == 0) {
            return 0;
        }
        if (!is_want(ret)) {
            handshake_failed(self, ret);
        }
        if (!wait) {
            return ret;
        }
        mp_event_wait_ms(1);
    }
}

static void check_usable(mpssl_socket_t *self) {
    if (self->state == MPSSL_CLOSED) {
        mp_raise_OSError(MP_EBADF);
    }
    if (self->state == MPSSL_FAILED) {
        mp_raise_OSError(MP_ENOTCONN);
    }
}

// ---- stream protocol ----

static mp_uint_t socket_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    check_usable(self);
    bool in_handshake = self->state == MPSSL_HANDSHAKE;
    int ret = mbedtls_ssl_read(&self->ssl, buf, size);
    after_call(self, ret);
    if (ret >= 0) {
        return (mp_uint_t)ret;
    }
    if (is_want(ret)) {
        *errcode = MP_EAGAIN;
        return MP_STREAM_ERROR;
    }
    if (in_handshake && self->state == MPSSL_HANDSHAKE) {
        handshake_failed(self, ret);
    }
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        return 0; // end of stream, with or without close_notify (CPython's suppress_ragged_eofs)
    }
    if (ret < 0 && ret > -256) {
        *errcode = -ret;
        return MP_STREAM_ERROR;
    }
    mpssl_raise_mbedtls(ret);
}

static mp_uint_t socket_write(mp_obj_t self_in, const void *buf, mp_uint_t size, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    check_usable(self);
    bool in_handshake = self->state == MPSSL_HANDSHAKE;
    int ret = mbedtls_ssl_write(&self->ssl, buf, size);
    after_call(self, ret);
    if (ret >= 0) {
        return (mp_uint_t)ret;
    }
    if (is_want(ret)) {
        *errcode = MP_EAGAIN;
        return MP_STREAM_ERROR;
    }
    if (in_handshake && self->state == MPSSL_HANDSHAKE) {
        handshake_failed(self, ret);
    }
    if (ret < 0 && ret > -256) {
        *errcode = -ret;
        return MP_STREAM_ERROR;
    }
    mpssl_raise_mbedtls(ret);
}

static mp_uint_t socket_close(mpssl_socket_t *self) {
    if (self->state == MPSSL_CLOSED) {
        return 0;
    }
    if (self->state == MPSSL_OPEN) {
        // Best effort: the peer may be gone already.
        (void)mbedtls_ssl_close_notify(&self->ssl);
        self->pending_exc = MP_OBJ_NULL;
    }
    release_tls(self, MPSSL_CLOSED);
    mp_obj_t sock = self->sock;
    self->sock = MP_OBJ_NULL;
    mp_stream_close(sock);
    return 0;
}

static mp_uint_t poll_tls(mpssl_socket_t *self, mp_uint_t events) {
    mp_uint_t ready = 0;
    if ((events & MP_STREAM_POLL_RD) && self->state == MPSSL_OPEN
        && (mbedtls_ssl_get_bytes_avail(&self->ssl) > 0 || mbedtls_ssl_check_pending(&self->ssl))) {
        ready |= MP_STREAM_POLL_RD; // decrypted or received data mbedTLS holds already
    }
    // mbedTLS may need the other direction first (a handshake or a record half sent).
    mp_uint_t ask = events;
    if (self->want == MBEDTLS_ERR_SSL_WANT_WRITE && (events & MP_STREAM_POLL_RD)) {
        ask = (ask & ~MP_STREAM_POLL_RD) | MP_STREAM_POLL_WR;
    } else if (self->want == MBEDTLS_ERR_SSL_WANT_READ && (events & MP_STREAM_POLL_WR)) {
        ask = (ask & ~MP_STREAM_POLL_WR) | MP_STREAM_POLL_RD;
    }
    mp_uint_t got = stream_poll(self, ask);
    if (self->want == MBEDTLS_ERR_SSL_WANT_WRITE && (events & MP_STREAM_POLL_RD)) {
        ready |= (got & MP_STREAM_POLL_WR) ? MP_STREAM_POLL_RD : 0;
        got &= ~MP_STREAM_POLL_WR;
        got |= ready & events & MP_STREAM_POLL_WR;
    } else if (self->want == MBEDTLS_ERR_SSL_WANT_READ && (events & MP_STREAM_POLL_WR)) {
        ready |= (got & MP_STREAM_POLL_RD) ? MP_STREAM_POLL_WR : 0;
        got &= ~MP_STREAM_POLL_RD;
        got |= ready & events & MP_STREAM_POLL_RD;
    }
    ready |= got & (events | MP_STREAM_POLL_HUP | MP_STREAM_POLL_ERR);
    // An expired DTLS timer needs a read call to retransmit.
    if (self->state == MPSSL_HANDSHAKE && (self->ctx->protocol & MPSSL_PROTOCOL_DTLS)
        && timer_get(self) == 2) {
        ready |= events & MP_STREAM_POLL_RD;
    }
    return ready;
}

static mp_uint_t socket_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        return socket_close(self);
    }
    if (self->sock == MP_OBJ_NULL) {
        if (request == MP_STREAM_POLL) {
            return MP_STREAM_POLL_NVAL;
        }
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    if (request == MP_STREAM_POLL && self->state != MPSSL_FAILED) {
        return poll_tls(self, arg);
    }
    if (request == MP_STREAM_GET_FILENO) {
        // No file descriptor: select.poll must ask poll_tls, which knows about data mbedTLS
        // holds already and about a handshake that needs the other direction.
        *errcode = MP_EINVAL;
        return MP_STREAM_ERROR;
    }
    return mp_get_stream(self->sock)->ioctl(self->sock, request, arg, errcode);
}

// ---- methods ----

static mp_obj_t socket_setblocking(mp_obj_t self_in, mp_obj_t flag) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->sock == MP_OBJ_NULL) {
        mp_raise_OSError(MP_EBADF);
    }
    self->nonblocking = !mp_obj_is_true(flag);
    mp_obj_t dest[3];
    mp_load_method(self->sock, MP_QSTR_setblocking, dest);
    dest[2] = flag;
    return mp_call_method_n_kw(1, 0, dest);
}
static MP_DEFINE_CONST_FUN_OBJ_2(socket_setblocking_obj, socket_setblocking);

static mpssl_socket_t *get_open(mp_obj_t self_in) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    check_usable(self);
    return self;
}

// do_handshake(): finish the handshake; returns True when done, False when a non-blocking
// stream must wait (poll, then call again).
static mp_obj_t socket_do_handshake(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    if (self->state == MPSSL_OPEN) {
        return mp_const_true;
    }
    return mp_obj_new_bool(handshake(self, !self->nonblocking) == 0);
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_do_handshake_obj, socket_do_handshake);

static mp_obj_t socket_getpeercert(size_t n_args, const mp_obj_t *args) {
    mpssl_socket_t *self = get_open(args[0]);
    bool binary = n_args > 1 && mp_obj_is_true(args[1]);
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&self->ssl);
    if (peer == NULL) {
        return mp_const_none;
    }
    if (binary) {
        return mp_obj_new_bytes(peer->raw.p, peer->raw.len);
    }
    // As CPython: a certificate that was not validated gives an empty dict.
    if (self->ctx->verify_mode == MBEDTLS_SSL_VERIFY_NONE || mbedtls_ssl_get_verify_result(&self->ssl) != 0) {
        return mp_obj_new_dict(0);
    }
    return mpssl_certs_to_dict(peer);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(socket_getpeercert_obj, 1, 2, socket_getpeercert);

static mp_obj_t socket_cipher(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    return mp_obj_new_str_from_cstr(mbedtls_ssl_get_ciphersuite(&self->ssl));
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_cipher_obj, socket_cipher);

static mp_obj_t socket_version(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    if (self->state != MPSSL_OPEN) {
        return mp_const_none;
    }
    return mp_obj_new_str_from_cstr(mbedtls_ssl_get_version(&self->ssl));
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_version_obj, socket_version);

// verify_result(): None when the peer's certificate verified, else the
// SSLCertVerificationError that CERT_REQUIRED would have raised (useful with CERT_OPTIONAL).
static mp_obj_t socket_verify_result(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    if (self->state != MPSSL_OPEN) {
        mp_raise_OSError(MP_ENOTCONN); // nothing verified before the handshake
    }
    uint32_t flags = mbedtls_ssl_get_verify_result(&self->ssl);
    if (flags == 0) {
        return mp_const_none;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mpssl_raise_verify_failed(flags == (uint32_t)-1 ? MBEDTLS_X509_BADCERT_SKIP_VERIFY : flags);
    }
    return MP_OBJ_FROM_PTR(nlr.ret_val);
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_verify_result_obj, socket_verify_result);

static mp_obj_t socket_del(mp_obj_t self_in) {
    // The finaliser releases mbedTLS only: the wrapped stream has its own finaliser, and no
    // close_notify is sent from inside the garbage collector.
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    release_tls(self, MPSSL_CLOSED);
    self->sock = MP_OBJ_NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_del_obj, socket_del);

static const mp_rom_map_elem_t socket_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv), MP_ROM_PTR(&mp_stream_read1_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv_into), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_send), MP_ROM_PTR(&mp_stream_write1_obj) },
    { MP_ROM_QSTR(MP_QSTR_sendall), MP_ROM_PTR(&mp_stream_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_setblocking), MP_ROM_PTR(&socket_setblocking_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&socket_del_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mp_stream___exit___obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&mp_stream_ioctl_obj) },
    { MP_ROM_QSTR(MP_QSTR_do_handshake), MP_ROM_PTR(&socket_do_handshake_obj) },
    { MP_ROM_QSTR(MP_QSTR_getpeercert), MP_ROM_PTR(&socket_getpeercert_obj) },
    { MP_ROM_QSTR(MP_QSTR_cipher), MP_ROM_PTR(&socket_cipher_obj) },
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&socket_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_verify_result), MP_ROM_PTR(&socket_verify_result_obj) },
};
static MP_DEFINE_CONST_DICT(socket_locals_dict, socket_locals_dict_table);

static const mp_stream_p_t socket_stream_p = {
    .read = socket_read,
    .write = socket_write,
    .ioctl = socket_ioctl,
};

MP_DEFINE_CONST_OBJ_TYPE(
    mpssl_socket_type,
    MP_QSTR_SSLSocket,
    MP_TYPE_FLAG_NONE,
    protocol, &socket_stream_p,
    locals_dict, &socket_locals_dict
    );

// ---- construction ----

static void check_wrap_args(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    mp_obj_t server_hostname, mp_obj_t client_id) {
    const mp_obj_type_t *type = mp_obj_get_type(sock);
    const mp_stream_p_t *stream = MP_OBJ_TYPE_HAS_SLOT(type, protocol) ? MP_OBJ_TYPE_GET_SLOT(type, protocol) : NULL;
    if (stream == NULL || stream->read == NULL || stream->write == NULL || stream->ioctl == NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("sock must be a stream (a socket or an io.IOBase)"));
    }
    bool server_ctx = ctx->protocol & MPSSL_PROTOCOL_SERVER;
    if (server_side != server_ctx) {
        mp_raise_ValueError(server_side
            ? MP_ERROR_TEXT("server_side=True needs a PROTOCOL_TLS_SERVER or PROTOCOL_DTLS_SERVER context")
            : MP_ERROR_TEXT("a server context needs server_side=True"));
    }
    if (server_hostname != mp_const_none && !mp_obj_is_str(server_hostname)) {
        mp_raise_TypeError(MP_ERROR_TEXT("server_hostname must be str"));
    }
    if (!server_side && ctx->verify_mode == MBEDTLS_SSL_VERIFY_REQUIRED && ctx->check_hostname
        && server_hostname == mp_const_none) {
        mp_raise_ValueError(MP_ERROR_TEXT("CERT_REQUIRED requires server_hostname"));
    }
    if ((ctx->protocol & MPSSL_PROTOCOL_DTLS) && server_side && client_id == mp_const_none) {
        mp_raise_ValueError(MP_ERROR_TEXT("a DTLS server needs client_id (the client's address as bytes)"));
    }
}

mp_obj_t mpssl_socket_new(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    bool do_handshake, mp_obj_t server_hostname, mp_obj_t client_id) {
    check_wrap_args(ctx, sock, server_side, server_hostname, client_id);
    bool dtls = ctx->protocol & MPSSL_PROTOCOL_DTLS;

    mpssl_socket_t *self = mp_obj_malloc_with_finaliser(mpssl_socket_t, &mpssl_socket_type);
    self->ctx = ctx;
    self->sock = sock;
    self->pending_exc = MP_OBJ_NULL;
    self->state = MPSSL_HANDSHAKE;
    self->nonblocking = false;
    self->check_hostname = ctx->check_hostname;
    self->want = 0;
    self->timer_start = 0;
    self->timer_int_ms = 0;
    self->timer_fin_ms = 0;
    mbedtls_ssl_init(&self->ssl);

    int ret = mbedtls_ssl_setup(&self->ssl, &ctx->conf);
    if (ret == 0 && server_hostname != mp_const_none) {
        ret = mbedtls_ssl_set_hostname(&self->ssl, mp_obj_str_get_str(server_hostname));
    }
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    if (ret == 0 && dtls && server_side) {
        mp_buffer_info_t id;
        mp_get_buffer_raise(client_id, &id, MP_BUFFER_READ);
        ret = mbedtls_ssl_set_client_transport_id(&self->ssl, id.buf, id.len);
    }
    #endif
    if (ret != 0) {
        release_tls(self, MPSSL_FAILED);
        mpssl_raise_mbedtls(ret);
    }
    if (!self->check_hostname) {
        mbedtls_ssl_set_verify(&self->ssl, verify_without_hostname, NULL);
    }
    if (dtls) {
        mbedtls_ssl_set_timer_cb(&self->ssl, self, timer_set, timer_get);
    }
    mbedtls_ssl_set_bio(&self->ssl, self, bio_send, bio_recv, dtls ? bio_recv_timeout : NULL);

    if (do_handshake) {
        handshake(self, true);
    }
    return MP_OBJ_FROM_PTR(self);
}
