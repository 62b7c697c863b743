// Certificate and key data: loading from a path or bytes, parsing PEM and DER bundles of many
// certificates, and turning a certificate into the dict getpeercert() returns.
#include <string.h>
#include <stdio.h>

#include "py/runtime.h"
#include "py/builtin.h"
#include "py/objstr.h"
#include "py/stream.h"

#include "mbedtls/asn1.h"
#include "mbedtls/oid.h"

#include "mpssl.h"

static mp_obj_t read_file(mp_obj_t path) {
    mp_obj_t open_args[2] = { path, MP_OBJ_NEW_QSTR(MP_QSTR_rb) };
    mp_obj_t file = mp_builtin_open(2, open_args, (mp_map_t *)&mp_const_empty_map);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t dest[2];
        mp_load_method(file, MP_QSTR_read, dest);
        mp_obj_t data = mp_call_method_n_kw(0, 0, dest);
        nlr_pop();
        mp_stream_close(file);
        return data;
    } else {
        mp_stream_close(file);
        nlr_jump(nlr.ret_val);
    }
}

const unsigned char *mpssl_certs_data(mp_obj_t src, size_t *len, mp_obj_t *keep_alive) {
    mp_obj_t data = src;
    if (mp_obj_is_str(src)) {
        data = read_file(src);
    }
    mp_buffer_info_t buf;
    if (!mp_get_buffer(data, &buf, MP_BUFFER_READ) || mp_obj_is_str(data)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected a file path (str) or the data (bytes)"));
    }
    if (!mp_obj_is_type(data, &mp_type_bytes)) {
        // Copy into a bytes object: its data always ends in a NUL, which PEM parsing needs.
        data = mp_obj_new_bytes(buf.buf, buf.len);
        mp_get_buffer_raise(data, &buf, MP_BUFFER_READ);
    }
    *keep_alive = data;
    *len = buf.len;
    return buf.buf;
}

bool mpssl_certs_is_pem(const unsigned char *buf, size_t len) {
    static const char marker[] = "-----BEGIN ";
    size_t n = sizeof(marker) - 1;
    for (size_t i = 0; i + n <= len; ++i) {
        if (memcmp(buf + i, marker, n) == 0) {
            return true;
        }
    }
    return false;
}

static size_t chain_length(const mbedtls_x509_crt *crt) {
    size_t n = 0;
    for (; crt != NULL && crt->raw.len != 0; crt = crt->next) {
        ++n;
    }
    return n;
}

int mpssl_certs_parse_chain(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len, size_t *count) {
    size_t before = chain_length(chain);
    *count = 0;
    if (len == 0) {
        return MBEDTLS_ERR_X509_INVALID_FORMAT;
    }
    if (mpssl_certs_is_pem(buf, len)) {
        // The buffer comes from mpssl_certs_data, so buf[len] is a NUL that mbedTLS must see.
        int ret = mbedtls_x509_crt_parse(chain, buf, len + 1);
        *count = chain_length(chain) - before;
        if (ret > 0) {
            return MBEDTLS_ERR_X509_INVALID_FORMAT; // some certificates of the bundle failed
        }
        if (ret == 0 && *count == 0) {
            return MBEDTLS_ERR_X509_INVALID_FORMAT;
        }
        return ret;
    }
    // DER: one certificate or several concatenated, each an ASN.1 SEQUENCE.
    const unsigned char *p = buf;
    const unsigned char *end = buf + len;
    while (p < end) {
        unsigned char *q = (unsigned char *)p;
        size_t body;
        int ret = mbedtls_asn1_get_tag(&q, end, &body, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
        if (ret != 0) {
            return MBEDTLS_ERR_X509_INVALID_FORMAT + ret;
        }
        size_t total = (size_t)(q - p) + body;
        ret = mbedtls_x509_crt_parse_der(chain, p, total);
        if (ret != 0) {
            return ret;
        }
        ++*count;
        p += total;
    }
    return 0;
}

// getpeercert() as CPython gives it: subject, issuer, version, serialNumber, notBefore,
// notAfter, subjectAltName.

typedef struct _mpssl_attr_name_t {
    const char *short_name;
    qstr long_name;
} mpssl_attr_name_t;

static const mpssl_attr_name_t mpssl_attr_names[] = {
    { "CN", MP_QSTR_commonName },
    { "O", MP_QSTR_organizationName },
    { "OU", MP_QSTR_organizationalUnitName },
    { "C", MP_QSTR_countryName },
    { "ST", MP_QSTR_stateOrProvinceName },
    { "L", MP_QSTR_localityName },
    { "emailAddress", MP_QSTR_emailAddress },
    { "serialNumber", MP_QSTR_serialNumber },
};

static mp_obj_t attr_name(const mbedtls_asn1_buf *oid) {
    const char *short_name;
    if (mbedtls_oid_get_attr_short_name(oid, &short_name) == 0) {
        for (size_t i = 0; i < MP_ARRAY_SIZE(mpssl_attr_names); ++i) {
            if (strcmp(short_name, mpssl_attr_names[i].short_name) == 0) {
                return MP_OBJ_NEW_QSTR(mpssl_attr_names[i].long_name);
            }
        }
        return mp_obj_new_str_from_cstr(short_name);
    }
    char dotted[64];
    int n = mbedtls_oid_get_numeric_string(dotted, sizeof(dotted), oid);
    return n > 0 ? mp_obj_new_str(dotted, (size_t)n) : mp_obj_new_str_from_cstr("?");
}

// ---- ASN.1 strings to str: never raise on a certificate mbedTLS accepted ----

#define MPSSL_REPLACEMENT_CHAR (0xFFFD)

static void add_code_point(vstr_t *vstr, uint32_t c) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        c = MPSSL_REPLACEMENT_CHAR;
    }
    #if MICROPY_PY_BUILTINS_STR_UNICODE
    vstr_add_char(vstr, (unichar)c);
    #else
    vstr_add_byte(vstr, c < 0x80 ? (byte)c : '?');
    #endif
}

// UTF-8, each invalid or overlong sequence becoming U+FFFD.
static void add_utf8(vstr_t *vstr, const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t b = p[i];
        size_t n = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 4;
        uint32_t c = n == 0 ? b : n == 1 ? (b & 0x1Fu) : n == 2 ? (b & 0x0Fu) : (b & 0x07u);
        bool ok = n < 4 && i + n < len;
        for (size_t k = 1; ok && k <= n; ++k) {
            ok = (p[i + k] & 0xC0) == 0x80;
            c = (c << 6) | (p[i + k] & 0x3Fu);
        }
        static const uint32_t min_for_length[] = { 0, 0x80, 0x800, 0x10000 };
        if (!ok || c < min_for_length[n]) {
            add_code_point(vstr, MPSSL_REPLACEMENT_CHAR);
            ++i;
            continue;
        }
        add_code_point(vstr, c);
        i += n + 1;
    }
}

// The value of an X.509 string attribute, decoded by its ASN.1 type.
static mp_obj_t asn1_string(const mbedtls_asn1_buf *val) {
    vstr_t vstr;
    vstr_init(&vstr, val->len + 1);
    const uint8_t *p = val->p;
    size_t len = val->len;
    switch (val->tag) {
        case MBEDTLS_ASN1_BMP_STRING:       // UTF-16BE
            for (size_t i = 0; i + 1 < len; i += 2) {
                uint32_t c = ((uint32_t)p[i] << 8) | p[i + 1];
                if (c >= 0xD800 && c <= 0xDBFF && i + 3 < len) {
                    uint32_t lo = ((uint32_t)p[i + 2] << 8) | p[i + 3];
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                        i += 2;
                    }
                }
                add_code_point(&vstr, c);
            }
            break;
        case MBEDTLS_ASN1_UNIVERSAL_STRING: // UTF-32BE
            for (size_t i = 0; i + 3 < len; i += 4) {
                add_code_point(&vstr, ((uint32_t)p[i] << 24) | ((uint32_t)p[i + 1] << 16)
                    | ((uint32_t)p[i + 2] << 8) | p[i + 3]);
            }
            break;
        case MBEDTLS_ASN1_T61_STRING:       // read as Latin-1, as OpenSSL does
            for (size_t i = 0; i < len; ++i) {
                add_code_point(&vstr, p[i]);
            }
            break;
        default:                            // UTF8String, PrintableString, IA5String, ...
            add_utf8(&vstr, p, len);
            break;
    }
    return mp_obj_new_str_from_vstr(&vstr);
}

// (((name, value),), ...): one relative distinguished name a tuple, as CPython does.
static mp_obj_t name_to_tuple(const mbedtls_x509_name *name) {
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (; name != NULL; name = name->next) {
        if (name->oid.p == NULL) {
            continue;
        }
        mp_obj_t pair[2] = {
            attr_name(&name->oid),
            asn1_string(&name->val),
        };
        mp_obj_t rdn = mp_obj_new_tuple(1, (mp_obj_t[]) { mp_obj_new_tuple(2, pair) });
        mp_obj_list_append(list, rdn);
    }
    size_t len;
    mp_obj_t *items;
    mp_obj_list_get(list, &len, &items);
    return mp_obj_new_tuple(len, items);
}

static mp_obj_t time_to_str(const mbedtls_x509_time *t) {
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int mon = (t->mon >= 1 && t->mon <= 12) ? t->mon - 1 : 0;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%.3s %2d %02d:%02d:%02d %04d GMT",
        months + 3 * mon, t->day, t->hour, t->min, t->sec, t->year);
    return mp_obj_new_str(buf, (size_t)n);
}

static mp_obj_t serial_to_str(const mbedtls_x509_buf *serial) {
    static const char hex[] = "0123456789ABCDEF";
    vstr_t vstr;
    vstr_init(&vstr, serial->len * 2);
    for (size_t i = 0; i < serial->len; ++i) {
        vstr_add_char(&vstr, hex[serial->p[i] >> 4]);
        vstr_add_char(&vstr, hex[serial->p[i] & 15]);
    }
    return mp_obj_new_str_from_vstr(&vstr);
}

static mp_obj_t ip_to_str(const mbedtls_x509_buf *ip) {
    char buf[48];
    int n = 0;
    if (ip->len == 4) {
        n = snprintf(buf, sizeof(buf), "%d.%d.%d.%d", ip->p[0], ip->p[1], ip->p[2], ip->p[3]);
    } else if (ip->len == 16) {
        for (size_t i = 0; i < 16; i += 2) {
            n += snprintf(buf + n, sizeof(buf) - n, i ? ":%X" : "%X", (ip->p[i] << 8) | ip->p[i + 1]);
        }
    }
    return mp_obj_new_str(buf, (size_t)n);
}

static mp_obj_t san_to_tuple(const mbedtls_x509_crt *crt) {
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (const mbedtls_x509_sequence *cur = &crt->subject_alt_names; cur != NULL; cur = cur->next) {
        if (cur->buf.p == NULL) {
            continue;
        }
        mbedtls_x509_subject_alternative_name san;
        if (mbedtls_x509_parse_subject_alt_name(&cur->buf, &san) != 0) {
            continue; // a kind of name mbedTLS does not parse: leave it out
        }
        mp_obj_t pair[2] = { MP_OBJ_NULL, MP_OBJ_NULL };
        mbedtls_x509_buf v = san.san.unstructured_name;
        v.tag = MBEDTLS_ASN1_IA5_STRING;
        if (san.type == MBEDTLS_X509_SAN_DNS_NAME) {
            pair[0] = MP_OBJ_NEW_QSTR(MP_QSTR_DNS);
            pair[1] = asn1_string(&v);
        } else if (san.type == MBEDTLS_X509_SAN_IP_ADDRESS) {
            pair[0] = mp_obj_new_str_from_cstr("IP Address");
            pair[1] = ip_to_str(&v);
        } else if (san.type == MBEDTLS_X509_SAN_RFC822_NAME) {
            pair[0] = mp_obj_new_str_from_cstr("email");
            pair[1] = asn1_string(&v);
        } else if (san.type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER) {
            pair[0] = MP_OBJ_NEW_QSTR(MP_QSTR_URI);
            pair[1] = asn1_string(&v);
        }
        mbedtls_x509_free_subject_alt_name(&san);
        if (pair[0] != MP_OBJ_NULL) {
            mp_obj_list_append(list, mp_obj_new_tuple(2, pair));
        }
    }
    size_t len;
    mp_obj_t *items;
    mp_obj_list_get(list, &len, &items);
    return mp_obj_new_tuple(len, items);
}

mp_obj_t mpssl_certs_to_dict(const mbedtls_x509_crt *crt) {
    mp_obj_t dict = mp_obj_new_dict(7);
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_subject), name_to_tuple(&crt->subject));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_issuer), name_to_tuple(&crt->issuer));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_version), MP_OBJ_NEW_SMALL_INT(crt->version));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_serialNumber), serial_to_str(&crt->serial));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_notBefore), time_to_str(&crt->valid_from));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_notAfter), time_to_str(&crt->valid_to));
    mp_obj_t san = san_to_tuple(crt);
    if (mp_obj_len(san) != MP_OBJ_NEW_SMALL_INT(0)) {
        mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_subjectAltName), san);
    }
    return dict;
}
