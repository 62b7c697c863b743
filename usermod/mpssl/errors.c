// The one place that turns mbedTLS return codes and verify flags into Python exceptions.
//
// Compatibility with MicroPython's built-in `tls` comes first: for the same failure the
// exception's args are what `tls` gives ((code, 'MBEDTLS_ERR_...') for a library error, the
// verify text for a verification failure).  ssl.SSLError is an OSError and
// ssl.SSLCertVerificationError is also a ValueError, so `except OSError` and `except ValueError`
// keep working.  The extra detail is derived from args on attribute access, so an exception
// costs no more memory than the built-in's:
//   SSLError.reason, .mbedtls_code
//   SSLCertVerificationError.verify_code (mbedTLS verify flags), .verify_message
#include <string.h>

#include "py/runtime.h"
#include "py/objexcept.h"
#include "py/objtuple.h"
#include "py/mperrno.h"

#include "mbedtls/error.h"

#include "mpssl.h"

#define MPSSL_ERR_NAME_MAX (80)
#define MPSSL_VERIFY_TEXT_MAX (512)

typedef struct _mpssl_reason_t {
    int code;
    const char *text;
} mpssl_reason_t;

// Readable reasons for the failures users meet most; others fall back to mbedTLS' name.
static const mpssl_reason_t mpssl_reasons[] = {
    { MBEDTLS_ERR_SSL_CONN_EOF, "the peer closed the connection during the handshake" },
    { MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, "the peer ended the handshake with a fatal alert" },
    { MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE, "handshake failed: no cipher suite, version or curve in common" },
    { MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION, "the peer speaks no protocol version this side accepts" },
    { MBEDTLS_ERR_SSL_INVALID_RECORD, "the peer sent data that is not a TLS record" },
    { MBEDTLS_ERR_SSL_DECODE_ERROR, "the peer sent a handshake message that does not decode" },
    { MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE, "the peer sent a message out of order" },
    { MBEDTLS_ERR_SSL_UNEXPECTED_RECORD, "the peer sent a record out of order" },
    { MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE, "the client sent no certificate but the server requires one" },
    { MBEDTLS_ERR_SSL_PRIVATE_KEY_REQUIRED, "no certificate and key: call load_cert_chain() first" },
    { MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED, "Hello Verify Required: wrap the next datagram from this client again" },
    { MBEDTLS_ERR_SSL_TIMEOUT, "timed out waiting for the peer" },
    { MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, "the peer closed the connection" },
    { MBEDTLS_ERR_SSL_BAD_INPUT_DATA, "invalid input to the TLS library" },
    { MBEDTLS_ERR_SSL_INTERNAL_ERROR, "internal error in the TLS library" },
    { MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, "certificate verify failed" },
    { MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED, "no trusted CA certificates: call load_verify_locations() first" },
};

// mbedTLS' own verify-flag texts (the public MBEDTLS_X509_CRT_ERROR_INFO_LIST).
typedef struct _mpssl_verify_text_t {
    uint32_t flag;
    const char *text;
} mpssl_verify_text_t;

#define X509_CRT_ERROR_INFO(err, err_str, info) { err, info },
static const mpssl_verify_text_t mpssl_verify_texts[] = {
    MBEDTLS_X509_CRT_ERROR_INFO_LIST
};
#undef X509_CRT_ERROR_INFO

static bool is_alloc_failure(int err) {
    return err == MBEDTLS_ERR_SSL_ALLOC_FAILED || err == MBEDTLS_ERR_X509_ALLOC_FAILED
           || err == MBEDTLS_ERR_PK_ALLOC_FAILED || err == MBEDTLS_ERR_MPI_ALLOC_FAILED
           || err == MBEDTLS_ERR_ECP_ALLOC_FAILED || err == MBEDTLS_ERR_ASN1_ALLOC_FAILED;
}

MP_NORETURN void mpssl_raise_mbedtls(int err) {
    if (is_alloc_failure(err)) {
        mp_raise_OSError(MP_ENOMEM);
    }
    char name[MPSSL_ERR_NAME_MAX];
    mbedtls_strerror(err, name, sizeof(name));
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(err), mp_obj_new_str(name, strlen(name)) };
    nlr_raise(mp_obj_new_exception_args(&mpssl_type_SSLError, 2, args));
}

MP_NORETURN void mpssl_raise_verify_failed(uint32_t flags) {
    char text[MPSSL_VERIFY_TEXT_MAX];
    // The built-in `tls` uses "\n" as the prefix of each line; keep the same text.
    int len = mbedtls_x509_crt_verify_info(text, sizeof(text), "\n", flags);
    if (len <= 0) {
        mpssl_raise_mbedtls(MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
    }
    mp_obj_t arg = mp_obj_new_str(text, (size_t)len);
    nlr_raise(mp_obj_new_exception_args(&mpssl_type_SSLCertVerificationError, 1, &arg));
}

MP_NORETURN void mpssl_raise_ssl(int err, uint32_t verify_flags) {
    if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && verify_flags != 0) {
        mpssl_raise_verify_failed(verify_flags);
    }
    mpssl_raise_mbedtls(err);
}

static const char *reason_for_code(int code) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(mpssl_reasons); ++i) {
        if (mpssl_reasons[i].code == code) {
            return mpssl_reasons[i].text;
        }
    }
    return NULL;
}

// Verify flags recovered from the verify text: each flag contributes its own line.
static uint32_t verify_flags_from_text(const char *text) {
    uint32_t flags = 0;
    for (size_t i = 0; i < MP_ARRAY_SIZE(mpssl_verify_texts); ++i) {
        if (strstr(text, mpssl_verify_texts[i].text) != NULL) {
            flags |= mpssl_verify_texts[i].flag;
        }
    }
    return flags;
}

// The first non-empty line of the verify text, after `prefix`.
static mp_obj_t first_line(const char *prefix, mp_obj_t text_obj) {
    size_t len;
    const char *text = mp_obj_str_get_data(text_obj, &len);
    const char *end = text + len;
    while (text < end && *text == '\n') {
        ++text;
    }
    const char *stop = memchr(text, '\n', end - text);
    vstr_t vstr;
    vstr_init(&vstr, strlen(prefix) + (stop ? stop : end) - text);
    vstr_add_str(&vstr, prefix);
    vstr_add_strn(&vstr, text, (stop ? stop : end) - text);
    return mp_obj_new_str_from_vstr(&vstr);
}

static void mpssl_error_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    mp_obj_exception_attr(self_in, attr, dest);
    if (dest[0] != MP_OBJ_NULL || dest[1] != MP_OBJ_NULL) {
        return; // found, or a store/delete request that the base handled or refused
    }
    mp_obj_exception_t *self = MP_OBJ_TO_PTR(self_in);
    size_t n = self->args->len;
    mp_obj_t first = n > 0 ? self->args->items[0] : mp_const_none;
    bool verify_error = mp_obj_is_str(first);
    if (attr == MP_QSTR_mbedtls_code) {
        if (verify_error) {
            dest[0] = MP_OBJ_NEW_SMALL_INT(MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
        } else {
            dest[0] = mp_obj_is_int(first) ? first : mp_const_none;
        }
    } else if (attr == MP_QSTR_reason) {
        if (verify_error) {
            dest[0] = first_line("certificate verify failed: ", first);
        } else if (mp_obj_is_int(first)) {
            const char *text = reason_for_code(mp_obj_get_int(first));
            if (text != NULL) {
                dest[0] = mp_obj_new_str_from_cstr(text);
            } else {
                dest[0] = n > 1 ? self->args->items[1] : mp_obj_new_str_from_cstr("TLS error");
            }
        } else {
            dest[0] = first;
        }
    } else if (verify_error && attr == MP_QSTR_verify_code) {
        dest[0] = mp_obj_new_int_from_uint(verify_flags_from_text(mp_obj_str_get_str(first)));
    } else if (verify_error && attr == MP_QSTR_verify_message) {
        dest[0] = first_line("", first);
    }
}

MP_DEFINE_CONST_OBJ_TYPE(
    mpssl_type_SSLError,
    MP_QSTR_SSLError,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mpssl_error_attr,
    parent, &mp_type_OSError
    );

// SSLCertVerificationError has two bases: ssl.SSLError (so OSError) and ValueError, which the
// built-in `tls` raises for verification failures.
static const mp_rom_obj_tuple_t mpssl_verify_error_bases = {
    {&mp_type_tuple}, 2, { MP_ROM_PTR(&mpssl_type_SSLError), MP_ROM_PTR(&mp_type_ValueError) }
};

MP_DEFINE_CONST_OBJ_TYPE(
    mpssl_type_SSLCertVerificationError,
    MP_QSTR_SSLCertVerificationError,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mpssl_error_attr,
    parent, &mpssl_verify_error_bases
    );
