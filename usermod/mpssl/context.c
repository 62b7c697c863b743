// SSLContext: the mbedTLS configuration, RNG, own certificate chain and key, trust anchors,
// verify mode, cipher suites and DTLS HelloVerify cookies.
#include <string.h>

#include "py/runtime.h"
#include "py/objstr.h"

#include "mpssl.h"

static const char mpssl_personalisation[] = "mpssl";

static void context_free(mpssl_context_t *self) {
    if (self->freed) {
        return;
    }
    self->freed = true;
    #if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_free(&self->cookie);
    #endif
    mbedtls_pk_free(&self->own_key);
    mbedtls_x509_crt_free(&self->own_cert);
    mbedtls_x509_crt_free(&self->cacert);
    mbedtls_ssl_config_free(&self->conf);
    mbedtls_ctr_drbg_free(&self->ctr_drbg);
    mbedtls_entropy_free(&self->entropy);
    self->ciphersuites = NULL;
}

static void check_ret(mpssl_context_t *self, int ret) {
    if (ret != 0) {
        context_free(self);
        mpssl_raise_mbedtls(ret);
    }
}

mp_obj_t mpssl_context_new(uint8_t protocol) {
    bool server = protocol & MPSSL_PROTOCOL_SERVER;
    bool dtls = protocol & MPSSL_PROTOCOL_DTLS;
    mpssl_context_t *self = mp_obj_malloc_with_finaliser(mpssl_context_t, &mpssl_context_type);
    self->protocol = protocol;
    self->freed = false;
    self->ciphersuites = NULL;
    // Clients verify by default, with the hostname, as CPython's PROTOCOL_TLS_CLIENT does.
    self->verify_mode = server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED;
    self->check_hostname = !server;

    // Every object is initialised before anything can fail, so context_free is always safe.
    mbedtls_entropy_init(&self->entropy);
    mbedtls_ctr_drbg_init(&self->ctr_drbg);
    mbedtls_ssl_config_init(&self->conf);
    mbedtls_x509_crt_init(&self->cacert);
    mbedtls_x509_crt_init(&self->own_cert);
    mbedtls_pk_init(&self->own_key);
    #if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_init(&self->cookie);
    #endif

    check_ret(self, mbedtls_ctr_drbg_seed(&self->ctr_drbg, mbedtls_entropy_func, &self->entropy,
        (const unsigned char *)mpssl_personalisation, sizeof(mpssl_personalisation) - 1));
    check_ret(self, mbedtls_ssl_config_defaults(&self->conf,
        server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
        dtls ? MBEDTLS_SSL_TRANSPORT_DATAGRAM : MBEDTLS_SSL_TRANSPORT_STREAM,
        MBEDTLS_SSL_PRESET_DEFAULT));
    mbedtls_ssl_conf_rng(&self->conf, mbedtls_ctr_drbg_random, &self->ctr_drbg);
    mbedtls_ssl_conf_authmode(&self->conf, self->verify_mode);

    #if defined(MBEDTLS_SSL_COOKIE_C)
    if (dtls && server) {
        check_ret(self, mbedtls_ssl_cookie_setup(&self->cookie, mbedtls_ctr_drbg_random, &self->ctr_drbg));
        mbedtls_ssl_conf_dtls_cookies(&self->conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check,
            &self->cookie);
    }
    #endif
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t context_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    (void)type;
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_int_t protocol = mp_obj_get_int(args[0]);
    bool valid = protocol == MPSSL_PROTOCOL_TLS_CLIENT || protocol == MPSSL_PROTOCOL_TLS_SERVER;
    #if defined(MBEDTLS_SSL_PROTO_DTLS)
    valid = valid || protocol == MPSSL_PROTOCOL_DTLS_CLIENT || protocol == MPSSL_PROTOCOL_DTLS_SERVER;
    #endif
    if (!valid) {
        mp_raise_ValueError(MP_ERROR_TEXT("protocol must be one of the ssl.PROTOCOL_* constants"));
    }
    return mpssl_context_new((uint8_t)protocol);
}

static mpssl_context_t *get_context(mp_obj_t self_in) {
    mpssl_context_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->freed) {
        mp_raise_ValueError(MP_ERROR_TEXT("SSLContext was released"));
    }
    return self;
}

void mpssl_context_set_verify_mode(mpssl_context_t *self, mp_int_t mode) {
    if (mode != MBEDTLS_SSL_VERIFY_NONE && mode != MBEDTLS_SSL_VERIFY_OPTIONAL
        && mode != MBEDTLS_SSL_VERIFY_REQUIRED) {
        mp_raise_ValueError(MP_ERROR_TEXT("verify_mode must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED"));
    }
    self->verify_mode = (uint8_t)mode;
    mbedtls_ssl_conf_authmode(&self->conf, (int)mode);
}

mp_obj_t mpssl_context_load_cert_chain(mp_obj_t self_in, mp_obj_t certfile, mp_obj_t keyfile) {
    mpssl_context_t *self = get_context(self_in);
    size_t cert_len, key_len;
    mp_obj_t cert_keep, key_keep;
    const unsigned char *cert = mpssl_certs_data(certfile, &cert_len, &cert_keep);
    const unsigned char *key = mpssl_certs_data(keyfile, &key_len, &key_keep);

    // Parse into fresh objects, so a failed call leaves the previous chain and key in place.
    mbedtls_x509_crt chain;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&chain);
    mbedtls_pk_init(&pk);
    size_t count;
    int ret = mpssl_certs_parse_chain(&chain, cert, cert_len, &count);
    if (ret != 0) {
        mbedtls_x509_crt_free(&chain);
        mp_raise_ValueError(MP_ERROR_TEXT("invalid cert"));
    }
    // PEM keys need the terminating NUL counted, as for certificates.
    size_t pk_len = key_len + (mpssl_certs_is_pem(key, key_len) ? 1 : 0);
    ret = mbedtls_pk_parse_key(&pk, key, pk_len, NULL, 0, mbedtls_ctr_drbg_random, &self->ctr_drbg);
    if (ret != 0) {
        mbedtls_x509_crt_free(&chain);
        mbedtls_pk_free(&pk);
        mp_raise_ValueError(MP_ERROR_TEXT("invalid key"));
    }
    ret = mbedtls_pk_check_pair(&chain.pk, &pk, mbedtls_ctr_drbg_random, &self->ctr_drbg);
    if (ret != 0) {
        mbedtls_x509_crt_free(&chain);
        mbedtls_pk_free(&pk);
        mp_raise_ValueError(MP_ERROR_TEXT("key does not match the certificate"));
    }
    // Replace, not append: mbedTLS keeps a list of (cert, key) pairs and NULL empties it.
    int cleared = mbedtls_ssl_conf_own_cert(&self->conf, NULL, NULL);
    if (cleared != 0) {
        mbedtls_x509_crt_free(&chain);
        mbedtls_pk_free(&pk);
        mpssl_raise_mbedtls(cleared);
    }
    mbedtls_x509_crt_free(&self->own_cert);
    mbedtls_pk_free(&self->own_key);
    self->own_cert = chain; // mbedTLS objects hold no pointers to themselves: moving is safe
    self->own_key = pk;
    ret = mbedtls_ssl_conf_own_cert(&self->conf, &self->own_cert, &self->own_key);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    return mp_const_none;
}

static mp_obj_t context_load_cert_chain(mp_obj_t self_in, mp_obj_t certfile, mp_obj_t keyfile) {
    return mpssl_context_load_cert_chain(self_in, certfile, keyfile);
}
static MP_DEFINE_CONST_FUN_OBJ_3(context_load_cert_chain_obj, context_load_cert_chain);

mp_obj_t mpssl_context_load_verify_locations(mp_obj_t self_in, mp_obj_t cafile, mp_obj_t cadata) {
    mpssl_context_t *self = get_context(self_in);
    if ((cafile == mp_const_none) == (cadata == mp_const_none)) {
        mp_raise_TypeError(MP_ERROR_TEXT("give exactly one of cafile and cadata"));
    }
    if (cafile != mp_const_none && !mp_obj_is_str(cafile)) {
        mp_raise_TypeError(MP_ERROR_TEXT("cafile must be a path (str)"));
    }
    if (cadata != mp_const_none && mp_obj_is_str(cadata)) {
        // CPython takes PEM text as str; so do we.
        size_t len;
        const char *s = mp_obj_str_get_data(cadata, &len);
        cadata = mp_obj_new_bytes((const byte *)s, len);
    }
    size_t len;
    mp_obj_t keep;
    const unsigned char *data = mpssl_certs_data(cafile != mp_const_none ? cafile : cadata, &len, &keep);
    mbedtls_x509_crt chain;
    mbedtls_x509_crt_init(&chain);
    size_t count;
    int ret = mpssl_certs_parse_chain(&chain, data, len, &count);
    mbedtls_x509_crt_free(&chain);
    if (ret != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("invalid cert"));
    }
    // All of it parses: add it to the trust anchors (CPython's load_verify_locations adds too).
    ret = mpssl_certs_parse_chain(&self->cacert, data, len, &count);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    mbedtls_ssl_conf_ca_chain(&self->conf, &self->cacert, NULL);
    return mp_const_none;
}

static mp_obj_t context_load_verify_locations(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_cafile, ARG_cadata };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_cafile, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_cadata, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    return mpssl_context_load_verify_locations(pos_args[0], args[ARG_cafile].u_obj, args[ARG_cadata].u_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(context_load_verify_locations_obj, 1, context_load_verify_locations);

static mp_obj_t context_get_ciphers(mp_obj_t self_in) {
    mpssl_context_t *self = get_context(self_in);
    const int *ids = self->ciphersuites != NULL ? self->ciphersuites : mbedtls_ssl_list_ciphersuites();
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (; *ids != 0; ++ids) {
        const mbedtls_ssl_ciphersuite_t *info = mbedtls_ssl_ciphersuite_from_id(*ids);
        if (info == NULL) {
            continue;
        }
        mp_obj_list_append(list, mp_obj_new_str_from_cstr(mbedtls_ssl_ciphersuite_get_name(info)));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_1(context_get_ciphers_obj, context_get_ciphers);

// IANA names (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) and mbedTLS names
// (TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256) differ only in '_' against '-'.
static int cipher_id(mp_obj_t name_obj) {
    if (!mp_obj_is_str(name_obj)) {
        mp_raise_TypeError(MP_ERROR_TEXT("cipher names must be str"));
    }
    size_t len;
    const char *name = mp_obj_str_get_data(name_obj, &len);
    char buf[96];
    if (len == 0 || len >= sizeof(buf)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("unknown cipher suite: '%s'"), name);
    }
    for (size_t i = 0; i < len; ++i) {
        buf[i] = name[i] == '_' ? '-' : name[i];
    }
    buf[len] = '\0';
    int id = mbedtls_ssl_get_ciphersuite_id(buf);
    if (id == 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("unknown cipher suite: '%s'"), name);
    }
    return id;
}

static mp_obj_t context_set_ciphers(mp_obj_t self_in, mp_obj_t ciphers) {
    mpssl_context_t *self = get_context(self_in);
    if (!mp_obj_is_type(ciphers, &mp_type_list) && !mp_obj_is_type(ciphers, &mp_type_tuple)) {
        mp_raise_TypeError(MP_ERROR_TEXT("ciphers must be a list of str"));
    }
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(ciphers, &n, &items);
    if (n == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("no cipher suites given"));
    }
    int *ids = m_new(int, n + 1);
    for (size_t i = 0; i < n; ++i) {
        ids[i] = cipher_id(items[i]);
    }
    ids[n] = 0;
    self->ciphersuites = ids; // owned by the context object, so the GC keeps it while conf uses it
    mbedtls_ssl_conf_ciphersuites(&self->conf, ids);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(context_set_ciphers_obj, context_set_ciphers);

static mp_obj_t context_wrap_socket(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_server_side, ARG_do_handshake_on_connect, ARG_server_hostname, ARG_client_id };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_server_side, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_do_handshake_on_connect, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_server_hostname, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_client_id, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 2, pos_args + 2, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    mpssl_context_t *self = get_context(pos_args[0]);
    return mpssl_socket_new(self, pos_args[1], args[ARG_server_side].u_bool,
        args[ARG_do_handshake_on_connect].u_bool, args[ARG_server_hostname].u_obj, args[ARG_client_id].u_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(context_wrap_socket_obj, 2, context_wrap_socket);

static mp_obj_t context_del(mp_obj_t self_in) {
    context_free(MP_OBJ_TO_PTR(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(context_del_obj, context_del);

static void context_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    mpssl_context_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL) {
        if (attr == MP_QSTR_verify_mode) {
            dest[0] = MP_OBJ_NEW_SMALL_INT(self->verify_mode);
        } else if (attr == MP_QSTR_check_hostname) {
            dest[0] = mp_obj_new_bool(self->check_hostname);
        } else if (attr == MP_QSTR_protocol) {
            dest[0] = MP_OBJ_NEW_SMALL_INT(self->protocol);
        } else {
            dest[1] = MP_OBJ_SENTINEL; // continue in locals_dict
        }
    } else if (dest[1] != MP_OBJ_NULL) {
        if (attr == MP_QSTR_verify_mode) {
            mpssl_context_set_verify_mode(get_context(self_in), mp_obj_get_int(dest[1]));
            dest[0] = MP_OBJ_NULL;
        } else if (attr == MP_QSTR_check_hostname) {
            self->check_hostname = mp_obj_is_true(dest[1]);
            dest[0] = MP_OBJ_NULL;
        }
    }
}

static const mp_rom_map_elem_t context_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&context_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_load_cert_chain), MP_ROM_PTR(&context_load_cert_chain_obj) },
    { MP_ROM_QSTR(MP_QSTR_load_verify_locations), MP_ROM_PTR(&context_load_verify_locations_obj) },
    { MP_ROM_QSTR(MP_QSTR_get_ciphers), MP_ROM_PTR(&context_get_ciphers_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_ciphers), MP_ROM_PTR(&context_set_ciphers_obj) },
    { MP_ROM_QSTR(MP_QSTR_wrap_socket), MP_ROM_PTR(&context_wrap_socket_obj) },
};
static MP_DEFINE_CONST_DICT(context_locals_dict, context_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    mpssl_context_type,
    MP_QSTR_SSLContext,
    MP_TYPE_FLAG_NONE,
    make_new, context_make_new,
    attr, context_attr,
    locals_dict, &context_locals_dict
    );
