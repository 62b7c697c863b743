// SSLSocket: the stream protocol (read, write, ioctl/poll) over a wrapped stream, the
// handshake state machine (blocking and not), sticky errors, close_notify and peer info.
//
// Every mbedTLS call goes through run(), which keeps these rules:
// - After WANT_READ/WANT_WRITE a write is repeated with the same length (write_pending).
// - A blocking call waits for the stream between mbedTLS calls (mpssl_transport_wait); a
//   non-blocking one returns "would block" and remembers the direction for poll.
// - What the stream or the verify callback raised inside mbedTLS is raised once mbedTLS returned.
// - So is the stream's own timeout, as OSError(ETIMEDOUT): the socket stays usable.
// - A fatal error releases mbedTLS and is kept: every later call raises it again.
#include <string.h>

#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/gc.h"

#include "mpssl.h"

typedef enum {
    OP_HANDSHAKE,
    OP_READ,
    OP_WRITE,
} mpssl_op_t;

// What run() returns when a non-blocking call must wait.
#define MPSSL_WOULD_BLOCK (-1)

// ---- state ----

static void release_tls(mpssl_socket_t *self, uint8_t state) {
    if (self->state == MPSSL_HANDSHAKE || self->state == MPSSL_OPEN) {
        mbedtls_ssl_free(&self->ssl);
    }
    self->state = state;
    self->poll_mask = 0;
    self->write_pending = 0;
}

static void release_all(mpssl_socket_t *self) {
    release_tls(self, MPSSL_CLOSED);
    mpssl_conf_t *conf = self->conf;
    self->conf = NULL;
    mpssl_conf_release(conf);
    self->sock = MP_OBJ_NULL;
    self->pending_exc = MP_OBJ_NULL;
}

static MP_NORETURN void raise_kept_error(mpssl_socket_t *self) {
    if (self->error_errno != 0) {
        mp_raise_OSError(self->error_errno);
    }
    mpssl_raise_ssl(self->error, self->error_flags);
}

static void check_usable(mpssl_socket_t *self) {
    if (self->state == MPSSL_CLOSED) {
        mp_raise_OSError(MP_EBADF);
    }
    if (self->state == MPSSL_FAILED) {
        raise_kept_error(self);
    }
}

// A fatal error: tell the peer where TLS says so, release mbedTLS, keep the error, raise it (or
// what the stream or the verify callback raised, which caused it).  The wrapped stream stays
// open: it is the caller's (a DTLS server reuses it after HelloVerify).
static MP_NORETURN void fail(mpssl_socket_t *self, int ret) {
    mp_obj_t exc = self->pending_exc;
    self->pending_exc = MP_OBJ_NULL;
    self->error = ret;
    self->error_errno = self->io_errno;
    self->error_flags = 0;
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&self->ssl);
        self->error_flags = flags == (uint32_t)-1 ? 0 : flags;
    }
    if (ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE && exc == MP_OBJ_NULL) {
        // Best effort: the connection is failing anyway.
        (void)mbedtls_ssl_send_alert_message(&self->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
            MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
        self->pending_exc = MP_OBJ_NULL;
    }
    release_tls(self, MPSSL_FAILED);
    if (exc != MP_OBJ_NULL) {
        nlr_raise(exc);
    }
    raise_kept_error(self);
}

static bool is_want(int ret) {
    return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

// FNV-1a: enough to tell a retried write that resends other bytes.
static uint32_t hash_bytes(const uint8_t *buf, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; ++i) {
        h = (h ^ buf[i]) * 16777619u;
    }
    return h;
}

// The length to hand mbedTLS: after WANT_WRITE, exactly the pending record's (mbedTLS documents
// that the call must be repeated with the same arguments; with another length it reports that
// length as sent although only the pending record went out).
static size_t write_length(mpssl_socket_t *self, const uint8_t *buf, size_t len) {
    if (self->write_pending == 0) {
        return len;
    }
    if (len < self->write_pending || hash_bytes(buf, self->write_pending) != self->write_pending_hash) {
        mp_raise_ValueError(MP_ERROR_TEXT("write() after a write that returned None must resend the same bytes first"));
    }
    return self->write_pending;
}

static int call_mbedtls(mpssl_socket_t *self, mpssl_op_t op, uint8_t *buf, size_t len) {
    self->io_errno = 0;
    self->timed_out = false;
    switch (op) {
        case OP_HANDSHAKE:
            return mbedtls_ssl_handshake(&self->ssl);
        case OP_READ:
            return mbedtls_ssl_read(&self->ssl, buf, len);
        default:
            return mbedtls_ssl_write(&self->ssl, buf, len);
    }
}

// Runs one operation until it completes, fails, or (non-blocking) must wait.
// Returns the mbedTLS result (>= 0) or MPSSL_WOULD_BLOCK.
static int run(mpssl_socket_t *self, mpssl_op_t op, uint8_t *buf, size_t len, bool wait) {
    check_usable(self);
    self->poll_mask = 0;
    self->wait_intent = wait;
    if (op == OP_WRITE) {
        len = write_length(self, buf, len);
    }
    for (;;) {
        int ret = call_mbedtls(self, op, buf, len);
        if (self->state == MPSSL_HANDSHAKE && mbedtls_ssl_is_handshake_over(&self->ssl)) {
            self->state = MPSSL_OPEN;
        }
        if (op == OP_WRITE) {
            if (ret >= 0) {
                self->write_pending = 0;
            } else if (ret == MBEDTLS_ERR_SSL_WANT_WRITE && self->state == MPSSL_OPEN && self->write_pending == 0) {
                // The handshake is over, so mbedTLS has made a record of these bytes and holds it.
                int max = mbedtls_ssl_get_max_out_record_payload(&self->ssl);
                self->write_pending = max > 0 && (size_t)max < len ? (size_t)max : len;
                self->write_pending_hash = hash_bytes(buf, self->write_pending);
            }
        }
        if (op == OP_READ && ret == 0 && len > 0 && !self->stream_ended) {
            // mbedtls_ssl_read() returns 0 for an empty application-data record too (peers send
            // them, e.g. against CBC attacks); only the stream's own end is the end of the stream.
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            continue; // a TLS 1.3 ticket arrived before the data: read on
        }
        #if defined(MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE)
        if (ret == MBEDTLS_ERR_SSL_CLIENT_RECONNECT) {
            // The client came back from the same port; mbedTLS reset the context for a new handshake.
            self->state = MPSSL_HANDSHAKE;
            continue;
        }
        #endif
        if (!is_want(ret)) {
            if (self->pending_exc != MP_OBJ_NULL || ret < 0) {
                if (ret < 0 && op == OP_READ && self->state == MPSSL_OPEN
                    && (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF)
                    && self->pending_exc == MP_OBJ_NULL) {
                    return 0; // end of stream, with or without close_notify (CPython's suppress_ragged_eofs)
                }
                if (ret >= 0) {
                    // Done, yet a callback raised (after its result no longer mattered): raise it.
                    mp_obj_t exc = self->pending_exc;
                    self->pending_exc = MP_OBJ_NULL;
                    nlr_raise(exc);
                }
                fail(self, ret);
            }
            return ret;
        }
        // Would block.  The direction poll must watch when it differs from the call's own.
        uint8_t dir = ret == MBEDTLS_ERR_SSL_WANT_READ ? MP_STREAM_POLL_RD : MP_STREAM_POLL_WR;
        if (op == OP_HANDSHAKE || (op == OP_READ && dir == MP_STREAM_POLL_WR)
            || (op == OP_WRITE && dir == MP_STREAM_POLL_RD)) {
            self->poll_mask = dir;
        }
        if (self->pending_exc != MP_OBJ_NULL) {
            // mbedTLS was told "would block" and is intact: raise, and the call can be repeated.
            mp_obj_t exc = self->pending_exc;
            self->pending_exc = MP_OBJ_NULL;
            nlr_raise(exc);
        }
        if (self->timed_out) {
            // The stream waited as long as its timeout allows; mbedTLS is intact, as above.
            self->timed_out = false;
            mp_raise_OSError(MP_ETIMEDOUT);
        }
        if (!wait && self->blocking == MPSSL_BLOCKING_NO) {
            return MPSSL_WOULD_BLOCK;
        }
        if (wait || self->blocking == MPSSL_BLOCKING_YES) {
            mpssl_transport_wait(self, dir);
        }
        // Mode unknown: the next call asks the stream, which then tells.
    }
}

static bool call_waits(mpssl_socket_t *self) {
    return self->blocking == MPSSL_BLOCKING_YES;
}

// ---- stream protocol ----

static mp_uint_t socket_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    int ret = run(self, OP_READ, buf, size, call_waits(self));
    if (ret == MPSSL_WOULD_BLOCK) {
        *errcode = MP_EAGAIN;
        return MP_STREAM_ERROR;
    }
    return (mp_uint_t)ret;
}

static mp_uint_t socket_write(mp_obj_t self_in, const void *buf, mp_uint_t size, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    int ret = run(self, OP_WRITE, (uint8_t *)buf, size, call_waits(self));
    if (ret == MPSSL_WOULD_BLOCK) {
        *errcode = MP_EAGAIN;
        return MP_STREAM_ERROR;
    }
    return (mp_uint_t)ret;
}

static mp_uint_t socket_close(mpssl_socket_t *self) {
    if (self->state == MPSSL_CLOSED) {
        return 0;
    }
    if (self->state == MPSSL_OPEN) {
        // Best effort, never waiting: the peer may be gone already.
        self->io_errno = 0;
        (void)mbedtls_ssl_close_notify(&self->ssl);
    }
    mp_obj_t sock = self->sock;
    release_all(self);
    mp_stream_close(sock);
    return 0;
}

static mp_uint_t poll_tls(mpssl_socket_t *self, mp_uint_t events) {
    const mp_uint_t rdwr = MP_STREAM_POLL_RD | MP_STREAM_POLL_WR;
    mp_uint_t asked = events;
    mp_uint_t moved = 0;
    // Only while mbedTLS needs the other direction to make progress does a poll for one
    // direction ask the stream for the other.
    if (self->poll_mask != 0 && (asked & rdwr)) {
        moved = asked & rdwr;
        asked = (asked & ~rdwr) | self->poll_mask;
    }
    mp_uint_t ready = 0;
    if ((asked & MP_STREAM_POLL_RD)
        && (mbedtls_ssl_get_bytes_avail(&self->ssl) > 0 || mbedtls_ssl_check_pending(&self->ssl))) {
        ready |= MP_STREAM_POLL_RD; // data mbedTLS holds already
        if (asked == MP_STREAM_POLL_RD) {
            return moved ? moved : MP_STREAM_POLL_RD;
        }
    }
    ready |= mpssl_transport_poll(self, asked);
    if (moved && (ready & self->poll_mask)) {
        ready = (ready & ~rdwr) | moved; // ready for what mbedTLS waits on: the caller's call proceeds
    }
    // An expired DTLS timer needs a call to resend the flight.
    if (self->state == MPSSL_HANDSHAKE && (self->protocol & MPSSL_PROTOCOL_DTLS)
        && mpssl_transport_timer_get(self) == 2) {
        ready |= events & rdwr;
    }
    return ready & (events | MP_STREAM_POLL_HUP | MP_STREAM_POLL_ERR);
}

static mp_uint_t socket_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        return socket_close(self);
    }
    if (request == MP_STREAM_POLL) {
        if (self->state == MPSSL_CLOSED || self->state == MPSSL_FAILED) {
            return MP_STREAM_POLL_NVAL; // the next read or write raises why
        }
        return poll_tls(self, arg);
    }
    // Anything else, MP_STREAM_GET_FILENO included: select.poll must ask poll_tls, which knows
    // about data mbedTLS holds and about a handshake that needs the other direction.
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

// ---- methods ----

static mp_obj_t socket_setblocking(mp_obj_t self_in, mp_obj_t flag) {
    mpssl_socket_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->sock == MP_OBJ_NULL) {
        mp_raise_OSError(MP_EBADF);
    }
    mp_obj_t dest[3];
    mp_load_method_maybe(self->sock, MP_QSTR_setblocking, dest);
    if (dest[0] != MP_OBJ_NULL) {
        dest[2] = flag;
        mp_call_method_n_kw(1, 0, dest);
    }
    self->blocking = mp_obj_is_true(flag) ? MPSSL_BLOCKING_YES : MPSSL_BLOCKING_NO;
    return mp_const_none;
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
    return mp_obj_new_bool(run(self, OP_HANDSHAKE, NULL, 0, call_waits(self)) == 0);
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_do_handshake_obj, socket_do_handshake);

static mp_obj_t socket_getpeercert(size_t n_args, const mp_obj_t *args) {
    mpssl_socket_t *self = get_open(args[0]);
    bool binary = n_args > 1 && mp_obj_is_true(args[1]);
    const mbedtls_x509_crt *peer = self->state == MPSSL_OPEN ? mbedtls_ssl_get_peer_cert(&self->ssl) : NULL;
    if (peer == NULL) {
        return mp_const_none;
    }
    if (binary) {
        return mp_obj_new_bytes(peer->raw.p, peer->raw.len);
    }
    // As CPython: a certificate that was not validated gives an empty dict.
    if (self->verify_mode == MBEDTLS_SSL_VERIFY_NONE || mbedtls_ssl_get_verify_result(&self->ssl) != 0) {
        return mp_obj_new_dict(0);
    }
    return mpssl_certs_to_dict(peer);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(socket_getpeercert_obj, 1, 2, socket_getpeercert);

#if defined(MBEDTLS_SSL_ALPN)
// selected_alpn_protocol(): the protocol both sides agreed on, or None (before the handshake, or
// when one side offered none).
static mp_obj_t socket_selected_alpn_protocol(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    const char *name = self->state == MPSSL_OPEN ? mbedtls_ssl_get_alpn_protocol(&self->ssl) : NULL;
    return name != NULL ? mp_obj_new_str_from_cstr(name) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(socket_selected_alpn_protocol_obj, socket_selected_alpn_protocol);
#endif

// cipher(): None before the handshake, then CPython's (name, protocol version, secret bits).
static mp_obj_t socket_cipher(mp_obj_t self_in) {
    mpssl_socket_t *self = get_open(self_in);
    if (self->state != MPSSL_OPEN) {
        return mp_const_none;
    }
    const char *name = mbedtls_ssl_get_ciphersuite(&self->ssl);
    const mbedtls_ssl_ciphersuite_t *info = mbedtls_ssl_ciphersuite_from_string(name);
    mp_obj_t items[3] = {
        mp_obj_new_str_from_cstr(name),
        mp_obj_new_str_from_cstr(mbedtls_ssl_get_version(&self->ssl)),
        MP_OBJ_NEW_SMALL_INT(info != NULL ? mbedtls_ssl_ciphersuite_get_cipher_key_bitlen(info) : 0),
    };
    return mp_obj_new_tuple(3, items);
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
    release_all(MP_OBJ_TO_PTR(self_in));
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
    #if defined(MBEDTLS_SSL_ALPN)
    { MP_ROM_QSTR(MP_QSTR_selected_alpn_protocol), MP_ROM_PTR(&socket_selected_alpn_protocol_obj) },
    #endif
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

// The verify callback of every socket: the hostname check as the context says, then the
// context's verify_callback (cert DER as bytes, depth) -> int, 0 to go on.
static int verify_cert(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    mpssl_socket_t *self = ctx;
    if (!self->check_hostname) {
        *flags &= ~MBEDTLS_X509_BADCERT_CN_MISMATCH;
    }
    if (self->verify_callback == mp_const_none) {
        return 0;
    }
    if (self->pending_exc != MP_OBJ_NULL) {
        return MBEDTLS_ERR_X509_FATAL_ERROR;
    }
    int ret = MBEDTLS_ERR_X509_FATAL_ERROR;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t der = mp_obj_new_bytes(crt->raw.p, crt->raw.len);
        ret = (int)mp_obj_get_int(mp_call_function_2(self->verify_callback, der, MP_OBJ_NEW_SMALL_INT(depth)));
        nlr_pop();
    } else {
        self->pending_exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    }
    return ret;
}

static const mp_stream_p_t *check_wrap_args(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    mp_obj_t server_hostname) {
    const mp_obj_type_t *type = mp_obj_get_type(sock);
    const mp_stream_p_t *stream = MP_OBJ_TYPE_HAS_SLOT(type, protocol) ? MP_OBJ_TYPE_GET_SLOT(type, protocol) : NULL;
    if (stream == NULL || stream->read == NULL || stream->write == NULL || stream->ioctl == NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("sock must be a stream (a socket or an io.IOBase)"));
    }
    if (server_hostname != mp_const_none) {
        if (!mp_obj_is_str(server_hostname)) {
            mp_raise_TypeError(MP_ERROR_TEXT("server_hostname must be str"));
        }
        size_t len;
        const char *name = mp_obj_str_get_data(server_hostname, &len);
        if (memchr(name, '\0', len) != NULL) {
            // mbedTLS would check the name up to the NUL only.
            mp_raise_ValueError(MP_ERROR_TEXT("server_hostname contains a NUL byte"));
        }
    }
    if (!server_side && ctx->verify_mode != MBEDTLS_SSL_VERIFY_NONE && ctx->check_hostname
        && server_hostname == mp_const_none) {
        mp_raise_ValueError(ctx->verify_mode == MBEDTLS_SSL_VERIFY_REQUIRED
            ? MP_ERROR_TEXT("CERT_REQUIRED requires server_hostname")
            : MP_ERROR_TEXT("check_hostname requires server_hostname"));
    }
    return stream;
}

// Everything mbedtls_ssl_setup and the per-connection settings need; 0 or an mbedTLS code.
static int setup_tls(mpssl_socket_t *self, bool server_side, mp_obj_t server_hostname, mp_obj_t client_id) {
    int ret = mbedtls_ssl_setup(&self->ssl, &self->conf->conf);
    if (ret == MBEDTLS_ERR_SSL_ALLOC_FAILED) {
        // Sockets waiting for the garbage collector may hold mbedTLS memory (on ESP-IDF's heap
        // too): collect and try once more.
        mbedtls_ssl_free(&self->ssl);
        mbedtls_ssl_init(&self->ssl);
        gc_collect();
        ret = mbedtls_ssl_setup(&self->ssl, &self->conf->conf);
    }
    if (ret != 0) {
        return ret;
    }
    if (!server_side) {
        // NULL says "no name to check" explicitly, which mbedTLS 3.6.3 and later require.
        ret = mbedtls_ssl_set_hostname(&self->ssl,
            server_hostname == mp_const_none ? NULL : mp_obj_str_get_str(server_hostname));
        if (ret != 0) {
            return ret;
        }
    }
    bool dtls = self->protocol & MPSSL_PROTOCOL_DTLS;
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    if (dtls && server_side) {
        // As the built-in: a DTLS server needs the client's address (bytes) for its cookies.
        mp_buffer_info_t id;
        if (client_id == mp_const_none || !mp_get_buffer(client_id, &id, MP_BUFFER_READ)) {
            return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
        }
        ret = mbedtls_ssl_set_client_transport_id(&self->ssl, id.buf, id.len);
        if (ret != 0) {
            return ret;
        }
    }
    #else
    (void)client_id;
    #endif
    mbedtls_ssl_set_verify(&self->ssl, verify_cert, self);
    if (dtls) {
        #if defined(MBEDTLS_SSL_PROTO_DTLS)
        mbedtls_ssl_set_mtu(&self->ssl, MPSSL_DTLS_MTU);
        #endif
        mbedtls_ssl_set_timer_cb(&self->ssl, self, mpssl_transport_timer_set, mpssl_transport_timer_get);
    }
    mbedtls_ssl_set_bio(&self->ssl, self, mpssl_transport_send, mpssl_transport_recv,
        dtls ? mpssl_transport_recv_timeout : NULL);
    return 0;
}

mp_obj_t mpssl_socket_new(mpssl_context_t *ctx, mp_obj_t sock, bool server_side,
    bool do_handshake, mp_obj_t server_hostname, mp_obj_t client_id) {
    check_wrap_args(ctx, sock, server_side, server_hostname);

    mpssl_socket_t *self = mp_obj_malloc_with_finaliser(mpssl_socket_t, &mpssl_socket_type);
    memset((uint8_t *)self + sizeof(mp_obj_base_t), 0, sizeof(*self) - sizeof(mp_obj_base_t));
    self->sock = sock;
    self->verify_callback = ctx->verify_callback;
    self->pending_exc = MP_OBJ_NULL;
    self->protocol = ctx->protocol;
    self->verify_mode = ctx->verify_mode;
    self->check_hostname = ctx->check_hostname;
    self->state = MPSSL_HANDSHAKE;
    self->blocking = MPSSL_BLOCKING_UNKNOWN;
    // The socket keeps the configuration it starts with, whatever the context does next.
    self->conf = mpssl_conf_retain(ctx->conf);
    mbedtls_ssl_init(&self->ssl);

    int ret = setup_tls(self, server_side, server_hostname, client_id);
    if (ret != 0) {
        release_all(self);
        mpssl_raise_mbedtls(ret);
    }
    if (do_handshake) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            // The caller asked to block until the handshake is done, whatever the stream's mode.
            run(self, OP_HANDSHAKE, NULL, 0, true);
            nlr_pop();
        } else {
            // Nobody can use this socket: release mbedTLS now, not when the GC finds it.
            release_all(self);
            nlr_jump(nlr.ret_val);
        }
    }
    return MP_OBJ_FROM_PTR(self);
}
