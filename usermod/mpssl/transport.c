// The wrapped stream as mbedTLS sees it: the BIO callbacks (send, receive, receive with a DTLS
// timeout), the DTLS retransmission timer, and waiting for the stream outside mbedTLS.
//
// Rules (mpssl.h has the socket fields they use):
// - No Python exception crosses an mbedTLS call.  What the stream raises is kept in
//   pending_exc and mbedTLS is told "would block", so its state stays whole: the module raises
//   after mbedTLS returned, and the call can be repeated.
// - Once an exception is pending, the stream is not called again within the same mbedTLS call.
// - A stream error travels as MBEDTLS_ERR_NET_*_FAILED with the errno kept in io_errno, so no
//   errno is mistaken for an mbedTLS code.
// - The stream's own timeout (a socket's settimeout) is not an error of the connection: mbedTLS
//   is told "would block" and the module raises OSError(ETIMEDOUT) once it has returned, so the
//   call can be repeated (over DTLS, that is how an application sees a lost datagram).
// - A stream that answers "would block" is non-blocking from then on.
// - Nothing here waits: a DTLS receive with a timeout reads only what is ready, and the socket
//   waits (mpssl_transport_wait) between mbedTLS calls, where an exception may propagate.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/mphal.h"

#include "mbedtls/net_sockets.h"

#include "mpssl.h"

#define MPSSL_POLL_READY (MP_STREAM_POLL_HUP | MP_STREAM_POLL_ERR)

static int stream_call(mpssl_socket_t *self, bool write, unsigned char *buf, size_t len) {
    int want = write ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_WANT_READ;
    if (self->pending_exc != MP_OBJ_NULL || self->timed_out) {
        return want; // keep the first exception; mbedTLS returns, then the module raises it
    }
    int err = 0;
    mp_uint_t out;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        const mp_stream_p_t *stream = mp_get_stream(self->sock);
        out = write ? stream->write(self->sock, buf, len, &err) : stream->read(self->sock, buf, len, &err);
        nlr_pop();
    } else {
        self->pending_exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        return want;
    }
    if (out == MP_STREAM_ERROR) {
        if (mp_is_nonblocking_error(err)) {
            self->blocking = MPSSL_BLOCKING_NO;
            return want;
        }
        if (err == MP_ETIMEDOUT) {
            self->timed_out = true;
            return want;
        }
        self->io_errno = err;
        return write ? MBEDTLS_ERR_NET_SEND_FAILED : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    if (!write && out == 0 && len > 0) {
        self->stream_ended = true;
    }
    if (write && out == 0 && len > 0) {
        // A stream that takes nothing would make mbedTLS believe the record went out.
        self->io_errno = MP_EIO;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return (int)MIN(out, len);
}

int mpssl_transport_send(void *self, const unsigned char *buf, size_t len) {
    return stream_call(self, true, (unsigned char *)buf, len);
}

int mpssl_transport_recv(void *self, unsigned char *buf, size_t len) {
    return stream_call(self, false, buf, len);
}

// The stream's readiness inside an mbedTLS call: exceptions are kept, not raised.
static mp_uint_t guarded_poll(mpssl_socket_t *self, mp_uint_t events) {
    mp_uint_t ready = 0;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        ready = mpssl_transport_poll(self, events);
        nlr_pop();
    } else {
        self->pending_exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    }
    return ready;
}

// DTLS receive.  With a timeout (the handshake's retransmission timer runs) it never blocks in
// the stream: it reads what is ready, and otherwise says "would block" so the socket can wait
// between mbedTLS calls, where the timer then makes mbedTLS resend.  A stream whose mode is
// unknown is read anyway when the call does not mean to wait: a non-blocking stream answers
// "would block" and so makes itself known.
int mpssl_transport_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms) {
    mpssl_socket_t *self = ctx;
    if (timeout_ms == 0 || self->blocking == MPSSL_BLOCKING_NO) {
        return mpssl_transport_recv(ctx, buf, len);
    }
    if (self->pending_exc != MP_OBJ_NULL) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    mp_uint_t ready = guarded_poll(self, MP_STREAM_POLL_RD);
    if (self->pending_exc != MP_OBJ_NULL) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (ready & (MP_STREAM_POLL_RD | MPSSL_POLL_READY)) {
        return mpssl_transport_recv(ctx, buf, len);
    }
    if (self->blocking == MPSSL_BLOCKING_UNKNOWN && !self->wait_intent) {
        int ret = mpssl_transport_recv(ctx, buf, len);
        if (ret >= 0 && self->blocking == MPSSL_BLOCKING_UNKNOWN) {
            self->blocking = MPSSL_BLOCKING_YES; // nothing was ready, yet the read returned: it waited
        }
        return ret;
    }
    return MBEDTLS_ERR_SSL_WANT_READ;
}

void mpssl_transport_timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms) {
    mpssl_socket_t *self = ctx;
    self->timer_start = mp_hal_ticks_ms();
    self->timer_int_ms = int_ms;
    self->timer_fin_ms = fin_ms;
}

int mpssl_transport_timer_get(void *ctx) {
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

mp_uint_t mpssl_transport_poll(mpssl_socket_t *self, mp_uint_t events) {
    const mp_stream_p_t *stream = mp_get_stream(self->sock);
    int err = 0;
    mp_uint_t ready = stream->ioctl(self->sock, MP_STREAM_POLL, events, &err);
    if (ready == MP_STREAM_ERROR) {
        // A stream that cannot tell (an io.IOBase without poll): let the next call find out.
        return events;
    }
    return ready;
}

void mpssl_transport_wait(mpssl_socket_t *self, mp_uint_t events) {
    bool dtls_timer = (self->protocol & MPSSL_PROTOCOL_DTLS) && self->state == MPSSL_HANDSHAKE;
    for (;;) {
        if (mpssl_transport_poll(self, events) & (events | MPSSL_POLL_READY)) {
            return;
        }
        if (dtls_timer && mpssl_transport_timer_get(self) == 2) {
            return; // the next mbedTLS call resends the flight
        }
        mp_event_wait_ms(1);
    }
}
