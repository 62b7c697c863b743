// SSLContext: the Python object over a shared configuration (conf.c): verify mode, hostname
// check, verify callback, own certificate chain and key, trust anchors, cipher suites.
//
// Every change goes to a configuration no socket uses (mpssl_conf_writable copies a shared
// one), so a socket keeps exactly what it was wrapped with.
#include <string.h>

#include "py/runtime.h"
#include "py/objstr.h"

#include "mpssl.h"

mp_obj_t mpssl_context_new(uint8_t protocol) {
    bool server = protocol & MPSSL_PROTOCOL_SERVER;
    mpssl_context_t *self = mp_obj_malloc_with_finaliser(mpssl_context_t, &mpssl_context_type);
    self->conf = NULL;
    self->protocol = protocol;
    // Clients verify by default, with the hostname, as CPython's PROTOCOL_TLS_CLIENT does.
    self->verify_mode = server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED;
    self->check_hostname = !server;
    self->verify_callback = mp_const_none;
    int ret = mpssl_conf_new(&self->conf, protocol, self->verify_mode);
    if (ret != 0) {
        self->conf = NULL;
        mpssl_raise_mbedtls(ret);
    }
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
    if (self->conf == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("SSLContext was released"));
    }
    return self;
}

// The context's configuration, made safe to change; nothing to free on failure.
static mpssl_conf_t *writable_conf(mpssl_context_t *self) {
    int ret = mpssl_conf_writable(&self->conf);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    return self->conf;
}

void mpssl_context_set_verify_mode(mpssl_context_t *self, mp_int_t mode) {
    if (mode != MBEDTLS_SSL_VERIFY_NONE && mode != MBEDTLS_SSL_VERIFY_OPTIONAL
        && mode != MBEDTLS_SSL_VERIFY_REQUIRED) {
        mp_raise_ValueError(MP_ERROR_TEXT("verify_mode must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED"));
    }
    if (self->conf->verify_mode != mode) {
        mpssl_conf_set_verify_mode(writable_conf(self), (uint8_t)mode);
    }
    self->verify_mode = (uint8_t)mode;
}

// Parses key and chain into new credentials; raises what the built-in raises.
static mpssl_creds_t *parse_creds(const unsigned char *cert, size_t cert_len,
    const unsigned char *key, size_t key_len, mpssl_rng_t *rng) {
    mpssl_creds_t *creds;
    int ret = mpssl_creds_new(&creds);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    // The key first, as the built-in does: wrap_socket(key=b"!") says 'invalid key'.
    // PEM keys need the terminating NUL counted, as certificates do.
    size_t pk_len = key_len + (mpssl_certs_is_pem(key, key_len) ? 1 : 0);
    if (mbedtls_pk_parse_key(&creds->key, key, pk_len, NULL, 0, mpssl_rng_random, rng) != 0) {
        mpssl_creds_discard(creds);
        mp_raise_ValueError(MP_ERROR_TEXT("invalid key"));
    }
    if (cert == NULL) {
        // A key without a certificate: the built-in's TypeError, from the same runtime call.
        mpssl_creds_discard(creds);
        (void)mp_obj_str_get_str(mp_const_none);
    }
    size_t count;
    if (mpssl_certs_parse_chain(&creds->chain, cert, cert_len, &count) != 0) {
        mpssl_creds_discard(creds);
        mp_raise_ValueError(MP_ERROR_TEXT("invalid cert"));
    }
    if (mbedtls_pk_check_pair(&creds->chain.pk, &creds->key, mpssl_rng_random, rng) != 0) {
        mpssl_creds_discard(creds);
        mp_raise_ValueError(MP_ERROR_TEXT("key does not match the certificate"));
    }
    return creds;
}

mp_obj_t mpssl_context_load_cert_chain(mp_obj_t self_in, mp_obj_t certfile, mp_obj_t keyfile) {
    mpssl_context_t *self = get_context(self_in);
    // Read everything that can raise before anything is allocated outside the GC heap.
    size_t cert_len = 0, key_len;
    mp_obj_t cert_keep, key_keep;
    const unsigned char *key = mpssl_certs_data(keyfile, &key_len, &key_keep);
    const unsigned char *cert = certfile == mp_const_none ? NULL
        : mpssl_certs_data(certfile, &cert_len, &cert_keep);
    mpssl_creds_t *creds = parse_creds(cert, cert_len, key, key_len, self->conf->rng);
    int ret = mpssl_conf_writable(&self->conf);
    if (ret != 0) {
        mpssl_creds_discard(creds);
        mpssl_raise_mbedtls(ret);
    }
    ret = mpssl_conf_set_creds(self->conf, creds);
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
    // The built-in takes the data positionally: bytes-like data in the first place are data.
    mp_buffer_info_t probe;
    if (cafile != mp_const_none && !mp_obj_is_str(cafile) && mp_get_buffer(cafile, &probe, MP_BUFFER_READ)) {
        if (cadata != mp_const_none) {
            mp_raise_TypeError(MP_ERROR_TEXT("give exactly one of cafile and cadata"));
        }
        cadata = cafile;
        cafile = mp_const_none;
    }
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
    // The anchors so far plus the new ones (CPython's load_verify_locations adds), in a new
    // store: a socket may use the old one, and a failed call leaves the context unchanged.
    mpssl_trust_t *trust;
    int ret = mpssl_trust_new(&trust, self->conf->trust);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    size_t count;
    if (mpssl_certs_parse_chain(&trust->chain, data, len, &count) != 0) {
        mpssl_trust_discard(trust);
        mp_raise_ValueError(MP_ERROR_TEXT("invalid cert"));
    }
    ret = mpssl_conf_writable(&self->conf);
    if (ret != 0) {
        mpssl_trust_discard(trust);
        mpssl_raise_mbedtls(ret);
    }
    mpssl_conf_set_trust(self->conf, trust);
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
    const int *ids = self->conf->ciphersuites != NULL ? self->conf->ciphersuites : mbedtls_ssl_list_ciphersuites();
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
// (TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256) differ only in '_' against '-'.  0 if unknown.
static int cipher_id(mp_obj_t name_obj) {
    size_t len;
    const char *name = mp_obj_str_get_data(name_obj, &len); // TypeError for a non-str, as the built-in
    char buf[96];
    if (len == 0 || len >= sizeof(buf) || memchr(name, '\0', len) != NULL) {
        return 0;
    }
    for (size_t i = 0; i < len; ++i) {
        buf[i] = name[i] == '_' ? '-' : name[i];
    }
    buf[len] = '\0';
    return mbedtls_ssl_get_ciphersuite_id(buf);
}

static mp_obj_t context_set_ciphers(mp_obj_t self_in, mp_obj_t ciphers) {
    mpssl_context_t *self = get_context(self_in);
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(ciphers, &n, &items); // TypeError for a str, as the built-in
    // An empty list or an unknown name: the built-in's OSError(-24192, 'MBEDTLS_ERR_SSL_BAD_CONFIG').
    if (n == 0 || n > 1024) {
        mpssl_raise_mbedtls(MBEDTLS_ERR_SSL_BAD_CONFIG);
    }
    int *ids = m_new(int, n);
    for (size_t i = 0; i < n; ++i) {
        ids[i] = cipher_id(items[i]);
        if (ids[i] == 0) {
            m_del(int, ids, n);
            mpssl_raise_mbedtls(MBEDTLS_ERR_SSL_BAD_CONFIG);
        }
    }
    int ret = mpssl_conf_writable(&self->conf);
    if (ret == 0) {
        ret = mpssl_conf_set_ciphersuites(self->conf, ids, n);
    }
    m_del(int, ids, n);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(context_set_ciphers_obj, context_set_ciphers);

#if defined(MBEDTLS_SSL_ALPN)
// set_alpn_protocols(protocols): the protocol names (str) this side offers, in order of preference,
// as CPython's; [] offers none.  A client sends them in its hello; a server picks the first of its
// own that the client offered.
static mp_obj_t context_set_alpn_protocols(mp_obj_t self_in, mp_obj_t protocols) {
    mpssl_context_t *self = get_context(self_in);
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(protocols, &n, &items);
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!mp_obj_is_str(items[i])) {
            mp_raise_TypeError(MP_ERROR_TEXT("ALPN protocols must be str"));
        }
        size_t len;
        const char *name = mp_obj_str_get_data(items[i], &len);
        if (len == 0 || len > 255) {
            mp_raise_msg(&mpssl_type_SSLError, MP_ERROR_TEXT("ALPN protocols must be 1 to 255 in length"));
        }
        if (memchr(name, '\0', len) != NULL) {
            mp_raise_ValueError(MP_ERROR_TEXT("ALPN protocol contains a NUL"));
        }
        total += len + 1;
    }
    // The extension carries them in at most 65535 bytes, each with a length byte (RFC 7301 3.1):
    // refused before anything is allocated.
    if (total > 0xffff) {
        mp_raise_msg(&mpssl_type_SSLError, MP_ERROR_TEXT("ALPN protocols must be at most 65535 bytes in all"));
    }
    // The names back to back, each with its NUL, as the configuration keeps them.
    char *names = m_new(char, total > 0 ? total : 1);
    char *at = names;
    for (size_t i = 0; i < n; ++i) {
        size_t len;
        const char *name = mp_obj_str_get_data(items[i], &len);
        memcpy(at, name, len);
        at[len] = '\0';
        at += len + 1;
    }
    int ret = mpssl_conf_set_alpn(&self->conf, names, total, n);
    m_del(char, names, total > 0 ? total : 1);
    if (ret != 0) {
        mpssl_raise_mbedtls(ret);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(context_set_alpn_protocols_obj, context_set_alpn_protocols);
#endif

static mp_obj_t context_wrap_socket(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_server_side, ARG_do_handshake_on_connect, ARG_server_hostname, ARG_client_id };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_server_side, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_do_handshake_on_connect, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_server_hostname, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_client_id, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 2, pos_args + 2, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    mpssl_context_t *self = get_context(pos_args[0]);
    // As the built-in, the role comes from the context; server_side=True on a client context is
    // refused rather than ignored.
    bool server_ctx = self->protocol & MPSSL_PROTOCOL_SERVER;
    mp_obj_t server_side = args[ARG_server_side].u_obj;
    if (server_side != mp_const_none && mp_obj_is_true(server_side) && !server_ctx) {
        mp_raise_ValueError(MP_ERROR_TEXT("server_side=True needs a PROTOCOL_TLS_SERVER or PROTOCOL_DTLS_SERVER context"));
    }
    return mpssl_socket_new(self, pos_args[1], server_ctx,
        args[ARG_do_handshake_on_connect].u_bool, args[ARG_server_hostname].u_obj, args[ARG_client_id].u_obj);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(context_wrap_socket_obj, 2, context_wrap_socket);

static mp_obj_t context_del(mp_obj_t self_in) {
    // Sockets hold their own reference to the configuration they use.
    mpssl_context_t *self = MP_OBJ_TO_PTR(self_in);
    mpssl_conf_t *conf = self->conf;
    self->conf = NULL;
    mpssl_conf_release(conf);
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
        } else if (attr == MP_QSTR_verify_callback) {
            dest[0] = self->verify_callback;
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
        } else if (attr == MP_QSTR_verify_callback) {
            if (dest[1] != mp_const_none && !mp_obj_is_callable(dest[1])) {
                mp_raise_TypeError(MP_ERROR_TEXT("verify_callback must be callable or None"));
            }
            self->verify_callback = dest[1];
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
    #if defined(MBEDTLS_SSL_ALPN)
    { MP_ROM_QSTR(MP_QSTR_set_alpn_protocols), MP_ROM_PTR(&context_set_alpn_protocols_obj) },
    #endif
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
