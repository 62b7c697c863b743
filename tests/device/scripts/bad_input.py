# Bad input of every kind must end in a clear exception, never a crash.  Each case reports
# what it raised; the test checks the types.
import json
import ssl

from memory_streams import drive, pipe_pair
from test_args import ARGS


def load(path):
    with open(path, "rb") as f:
        return f.read()


CERT = load(ARGS["certfile"])
KEY = load(ARGS["keyfile"])
CERT_DER = load(ARGS["cert_der"])
OTHER_KEY = load(ARGS["other_keyfile"])
GARBAGE_PEM = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


def case(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is to see what comes out
        out = {"case": name, "raised": type(e).__name__, "args": [str(a) for a in e.args],
               "oserror": isinstance(e, OSError), "valueerror": isinstance(e, ValueError),
               "typeerror": isinstance(e, TypeError)}
    else:
        out = {"case": name, "raised": None}
    print("RESULT " + json.dumps(out))


def server_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(CERT, KEY)
    return c


def client_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.verify_mode = ssl.CERT_NONE
    return c


def client_after_hello():
    """A non-blocking client that has sent its ClientHello; returns it and both pipe ends."""
    a, b = pipe_pair()
    s = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    s.setblocking(False)
    s.do_handshake()
    return s, a, b


def keep_handshaking(s):
    for _ in range(10):
        s.do_handshake()


def garbage_peer():
    # The "server" answers the ClientHello with bytes that are not TLS.
    s, _, b = client_after_hello()
    b.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)
    keep_handshaking(s)


def peer_closes_mid_handshake():
    s, a, _ = client_after_hello()
    a.closed_by_peer = True
    keep_handshaking(s)


def truncated_server_hello():
    c, a, b = client_after_hello()
    srv = server_ctx().wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    srv.setblocking(False)
    srv.do_handshake()
    a.inbox[:] = a.inbox[: len(a.inbox) // 2]  # half of the server's flight arrives, then EOF
    a.closed_by_peer = True
    keep_handshaking(c)


def use_after_close():
    a, b = pipe_pair()
    s = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    s.close()
    s.close()
    s.write(b"x")


def read_after_close():
    a, b = pipe_pair()
    s = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    s.close()
    s.read(10)


def handshake_fails_then_read():
    s, _, b = client_after_hello()
    b.write(b"\x15\x03\x03\x00\x02\x02\x28")  # a fatal alert record
    try:
        s.do_handshake()
    except OSError:
        pass
    s.read(10)


def no_cert_server():
    a, b = pipe_pair()
    c = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    c.setblocking(False)
    srv.setblocking(False)
    drive(c, srv)


CASES = [
    ("garbage PEM cert", lambda: server_ctx().load_cert_chain(GARBAGE_PEM, KEY)),
    ("truncated PEM cert", lambda: server_ctx().load_cert_chain(CERT[: len(CERT) // 2], KEY)),
    ("garbage DER cert", lambda: server_ctx().load_cert_chain(b"\x30\x82\x01\x00" + b"\x00" * 20, KEY)),
    ("truncated DER cert", lambda: server_ctx().load_cert_chain(CERT_DER[:-10], KEY)),
    ("empty cert", lambda: server_ctx().load_cert_chain(b"", KEY)),
    ("garbage key", lambda: server_ctx().load_cert_chain(CERT, b"not a key")),
    ("truncated PEM key", lambda: server_ctx().load_cert_chain(CERT, KEY[: len(KEY) // 2])),
    ("wrong key for cert", lambda: server_ctx().load_cert_chain(CERT, OTHER_KEY)),
    ("missing cert file", lambda: server_ctx().load_cert_chain("/nonexistent/cert.pem", KEY)),
    ("garbage cadata", lambda: client_ctx().load_verify_locations(cadata=b"\x00\x01garbage")),
    ("truncated DER cadata", lambda: client_ctx().load_verify_locations(cadata=CERT_DER[:100])),
    ("cafile and cadata", lambda: client_ctx().load_verify_locations(cafile=ARGS["certfile"], cadata=CERT)),
    ("neither cafile nor cadata", lambda: client_ctx().load_verify_locations()),
    ("cert is an int", lambda: server_ctx().load_cert_chain(123, KEY)),
    ("cadata is a list", lambda: client_ctx().load_verify_locations(cadata=[1, 2])),
    ("protocol out of range", lambda: ssl.SSLContext(7)),
    ("protocol is a str", lambda: ssl.SSLContext("tls")),
    ("verify_mode out of range", lambda: setattr(client_ctx(), "verify_mode", 9)),
    ("set_ciphers unknown", lambda: client_ctx().set_ciphers(["TLS_NOT_A_CIPHER"])),
    ("set_ciphers not a list", lambda: client_ctx().set_ciphers("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")),
    ("set_ciphers empty", lambda: client_ctx().set_ciphers([])),
    ("wrap a non-stream", lambda: client_ctx().wrap_socket(42)),
    ("server_hostname not str", lambda: client_ctx().wrap_socket(pipe_pair()[0], server_hostname=5)),
    ("required without hostname", lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_socket(pipe_pair()[0])),
    ("server_side on client ctx", lambda: client_ctx().wrap_socket(pipe_pair()[0], server_side=True)),
    ("dtls server without client_id",
     lambda: ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER).wrap_socket(pipe_pair()[0], server_side=True)),
    ("peer sends garbage", garbage_peer),
    ("peer closes mid-handshake", peer_closes_mid_handshake),
    ("truncated server flight", truncated_server_hello),
    ("server without certificate", no_cert_server),
    ("write after close", use_after_close),
    ("read after close", read_after_close),
    ("read after failed handshake", handshake_fails_then_read),
]

for name, fn in CASES:
    case(name, fn)
print("DONE")
