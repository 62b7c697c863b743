# The module as code written for the built-in `tls` or for CPython's `ssl` sees it.
import json
import ssl

import tls

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
dtls_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
modes = []
for mode in (ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED):
    ctx.verify_mode = mode
    modes.append(ctx.verify_mode == mode)
ctx.set_ciphers(["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"])
print("RESULT " + json.dumps({
    "tls_is_ssl": tls is ssl,
    "name": ssl.__name__,
    "has_file": hasattr(ssl, "__file__"),
    "constants": [hasattr(ssl, n) for n in ("PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER", "PROTOCOL_DTLS_CLIENT",
                                           "PROTOCOL_DTLS_SERVER", "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED")],
    "client_default_verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).verify_mode == ssl.CERT_REQUIRED,
    "server_default_verify": server_ctx.verify_mode == ssl.CERT_NONE,
    "dtls_client_default_verify": dtls_ctx.verify_mode == ssl.CERT_REQUIRED,
    "default_context_verifies": ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED,
    "verify_mode_roundtrip": modes,
    "ciphers_after_set": ctx.get_ciphers(),
    "default_ciphers": server_ctx.get_ciphers(),
    "error_hierarchy": [issubclass(ssl.SSLError, OSError),
                        issubclass(ssl.SSLCertVerificationError, ssl.SSLError),
                        issubclass(ssl.SSLCertVerificationError, ValueError)],
    "mbedtls_version": ssl.MBEDTLS_VERSION,
}))
