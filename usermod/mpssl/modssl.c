// The `ssl` module table (constants, wrap_socket, create_default_context, exception types),
// registered as `ssl` and, for code written for MicroPython's built-in, as `tls`.
#include "py/runtime.h"
#include "py/objstr.h"

#include "mbedtls/version.h"

#include "mpssl.h"

// ssl.wrap_socket(sock, server_side=False, key=None, cert=None, cert_reqs=CERT_NONE,
//                 cadata=None, server_hostname=None, do_handshake=True)
static mp_obj_t mod_wrap_socket(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_server_side, ARG_key, ARG_cert, ARG_cert_reqs, ARG_cadata, ARG_server_hostname, ARG_do_handshake };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_server_side, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_key, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_cert, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_cert_reqs, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = MBEDTLS_SSL_VERIFY_NONE} },
        { MP_QSTR_cadata, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_server_hostname, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_do_handshake, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    bool server_side = args[ARG_server_side].u_bool;
    mp_obj_t ctx_obj = mpssl_context_new(server_side ? MPSSL_PROTOCOL_TLS_SERVER : MPSSL_PROTOCOL_TLS_CLIENT);
    mpssl_context_t *ctx = MP_OBJ_TO_PTR(ctx_obj);
    mpssl_context_set_verify_mode(ctx, args[ARG_cert_reqs].u_int);
    // As the built-in: the key is parsed first, so wrap_socket(key=b"!") is ValueError('invalid key').
    if (args[ARG_key].u_obj != mp_const_none || args[ARG_cert].u_obj != mp_const_none) {
        mpssl_context_load_cert_chain(ctx_obj, args[ARG_cert].u_obj, args[ARG_key].u_obj);
    }
    if (args[ARG_cadata].u_obj != mp_const_none) {
        mpssl_context_load_verify_locations(ctx_obj, mp_const_none, args[ARG_cadata].u_obj);
    }
    return mpssl_socket_new(ctx, pos_args[0], server_side, args[ARG_do_handshake].u_bool,
        args[ARG_server_hostname].u_obj, mp_const_none);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(mod_wrap_socket_obj, 1, mod_wrap_socket);

// ssl.create_default_context(): a client context that verifies the server and its hostname.
static mp_obj_t mod_create_default_context(size_t n_args, const mp_obj_t *args) {
    (void)args;
    (void)n_args;
    return mpssl_context_new(MPSSL_PROTOCOL_TLS_CLIENT);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_create_default_context_obj, 0, 1, mod_create_default_context);

static const MP_DEFINE_STR_OBJ(mod_mbedtls_version_obj, MBEDTLS_VERSION_STRING_FULL);
static const MP_DEFINE_STR_OBJ(mod_version_obj, MPSSL_VERSION);

static const mp_rom_map_elem_t mp_module_ssl_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_ssl) },
    { MP_ROM_QSTR(MP_QSTR___version__), MP_ROM_PTR(&mod_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_MBEDTLS_VERSION), MP_ROM_PTR(&mod_mbedtls_version_obj) },

    { MP_ROM_QSTR(MP_QSTR_wrap_socket), MP_ROM_PTR(&mod_wrap_socket_obj) },
    { MP_ROM_QSTR(MP_QSTR_create_default_context), MP_ROM_PTR(&mod_create_default_context_obj) },
    { MP_ROM_QSTR(MP_QSTR_SSLContext), MP_ROM_PTR(&mpssl_context_type) },
    { MP_ROM_QSTR(MP_QSTR_SSLSocket), MP_ROM_PTR(&mpssl_socket_type) },
    { MP_ROM_QSTR(MP_QSTR_SSLError), MP_ROM_PTR(&mpssl_type_SSLError) },
    { MP_ROM_QSTR(MP_QSTR_SSLCertVerificationError), MP_ROM_PTR(&mpssl_type_SSLCertVerificationError) },

    { MP_ROM_QSTR(MP_QSTR_PROTOCOL_TLS_CLIENT), MP_ROM_INT(MPSSL_PROTOCOL_TLS_CLIENT) },
    { MP_ROM_QSTR(MP_QSTR_PROTOCOL_TLS_SERVER), MP_ROM_INT(MPSSL_PROTOCOL_TLS_SERVER) },
    #if defined(MBEDTLS_SSL_PROTO_DTLS)
    { MP_ROM_QSTR(MP_QSTR_PROTOCOL_DTLS_CLIENT), MP_ROM_INT(MPSSL_PROTOCOL_DTLS_CLIENT) },
    { MP_ROM_QSTR(MP_QSTR_PROTOCOL_DTLS_SERVER), MP_ROM_INT(MPSSL_PROTOCOL_DTLS_SERVER) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_CERT_NONE), MP_ROM_INT(MBEDTLS_SSL_VERIFY_NONE) },
    { MP_ROM_QSTR(MP_QSTR_CERT_OPTIONAL), MP_ROM_INT(MBEDTLS_SSL_VERIFY_OPTIONAL) },
    { MP_ROM_QSTR(MP_QSTR_CERT_REQUIRED), MP_ROM_INT(MBEDTLS_SSL_VERIFY_REQUIRED) },
    #if defined(MBEDTLS_SSL_ALPN)
    { MP_ROM_QSTR(MP_QSTR_HAS_ALPN), MP_ROM_TRUE },
    #else
    { MP_ROM_QSTR(MP_QSTR_HAS_ALPN), MP_ROM_FALSE },
    #endif
};
static MP_DEFINE_CONST_DICT(mp_module_ssl_globals, mp_module_ssl_globals_table);

const mp_obj_module_t mp_module_ssl = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mp_module_ssl_globals,
};

MP_REGISTER_MODULE(MP_QSTR_ssl, mp_module_ssl);
// The same module object under the built-in's name: `import tls` keeps working.
MP_REGISTER_MODULE(MP_QSTR_tls, mp_module_ssl);
