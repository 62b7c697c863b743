# The cipher suites a client context offers, in its order of preference.
import ssl

from bench_common import get_ciphers, report

report(ciphers=list(get_ciphers(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))))
