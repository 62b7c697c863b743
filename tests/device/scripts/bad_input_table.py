# Every public function, method and attribute of the module, given what it should not get: a wrong
# type, None, something empty, huge or negative, a closed socket, a socket after a fatal error.
# Each case prints what was raised (or "-" and the type of what came back); the test compares the
# table with what it expects and writes docs/bad-input.md from it.
import gc
import json
import ssl

from memory_streams import drive, faulty_pair, pipe_pair
from test_args import ARGS


def load(name):
    with open(ARGS[name], "rb") as f:
        return f.read()


CERT = load("certfile")
KEY = load("keyfile")
# "Huge" is far beyond any certificate or name, yet leaves a small board's heap room to work: 64 KiB
# where there is room, an eighth of the free heap on a board without it (e.g. 20 KiB on a Pico W).
gc.collect()
BIG = min(1 << 16, gc.mem_free() // 8)
HUGE = b"\x30\x82" + bytes(BIG)  # starts like DER
HUGE_PEM = b"-----BEGIN CERTIFICATE-----\n" + b"A" * BIG + b"\n-----END CERTIFICATE-----\n"


def client_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.verify_mode = ssl.CERT_NONE
    return c


def server_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(CERT, KEY)
    return c


def write_more_than_a_record():
    s = connected()
    gc.collect()
    return s.write(bytes(16 * 1024 + 1))  # a TLS record holds at most 16 KiB


def connected():
    a, b = pipe_pair()
    c = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    s = server_ctx().wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    c.setblocking(False)
    s.setblocking(False)
    drive(c, s)
    return c


def closed():
    c = connected()
    c.close()
    return c


def failed():
    a, b = faulty_pair()
    c = client_ctx().wrap_socket(a, do_handshake_on_connect=False)
    c.setblocking(False)
    c.do_handshake()
    b.write(b"\x15\x03\x03\x00\x02\x02\x28")  # a fatal alert instead of a ServerHello
    try:
        c.do_handshake()
    except OSError:
        pass
    return c


def attr(obj, name, value):
    setattr(obj, name, value)


def case(api, given, fn):
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - the point is to see what comes out
        out = {"raised": type(e).__name__, "args": [str(a) for a in e.args][:2]}
    else:
        out = {"raised": "-", "returned": type(value).__name__}
    out.update(api=api, given=given)
    print("RESULT " + json.dumps(out))


SOCKET_METHODS = [
    ("read", lambda s: s.read(1)), ("readinto", lambda s: s.readinto(bytearray(1))),
    ("readline", lambda s: s.readline()), ("write", lambda s: s.write(b"x")), ("recv", lambda s: s.recv(1)),
    ("recv_into", lambda s: s.recv_into(bytearray(1))), ("send", lambda s: s.send(b"x")),
    ("sendall", lambda s: s.sendall(b"x")), ("do_handshake", lambda s: s.do_handshake()),
    ("getpeercert", lambda s: s.getpeercert()), ("cipher", lambda s: s.cipher()),
    ("selected_alpn_protocol", lambda s: s.selected_alpn_protocol()),
    ("version", lambda s: s.version()), ("verify_result", lambda s: s.verify_result()),
    ("setblocking", lambda s: s.setblocking(False)), ("close", lambda s: s.close()),
]

CASES = [
    ("SSLContext(protocol)", "no argument", lambda: ssl.SSLContext()),
    ("SSLContext(protocol)", "None", lambda: ssl.SSLContext(None)),
    ("SSLContext(protocol)", "str", lambda: ssl.SSLContext("tls")),
    ("SSLContext(protocol)", "negative", lambda: ssl.SSLContext(-1)),
    ("SSLContext(protocol)", "huge", lambda: ssl.SSLContext(1 << 30)),
    ("load_cert_chain(certfile, keyfile)", "None, None", lambda: server_ctx().load_cert_chain(None, None)),
    ("load_cert_chain(certfile, keyfile)", "int cert", lambda: server_ctx().load_cert_chain(1, KEY)),
    ("load_cert_chain(certfile, keyfile)", "list key", lambda: server_ctx().load_cert_chain(CERT, [KEY])),
    ("load_cert_chain(certfile, keyfile)", "empty", lambda: server_ctx().load_cert_chain(b"", b"")),
    ("load_cert_chain(certfile, keyfile)", "empty path", lambda: server_ctx().load_cert_chain("", "")),
    ("load_cert_chain(certfile, keyfile)", "huge DER cert", lambda: server_ctx().load_cert_chain(HUGE, KEY)),
    ("load_cert_chain(certfile, keyfile)", "huge PEM cert", lambda: server_ctx().load_cert_chain(HUGE_PEM, KEY)),
    ("load_cert_chain(certfile, keyfile)", "huge key", lambda: server_ctx().load_cert_chain(CERT, HUGE)),
    ("load_cert_chain(certfile, keyfile)", "path with NUL", lambda: server_ctx().load_cert_chain("a\x00b", KEY)),
    ("load_verify_locations(cafile, cadata)", "int", lambda: client_ctx().load_verify_locations(1)),
    ("load_verify_locations(cafile, cadata)", "None, None", lambda: client_ctx().load_verify_locations(None)),
    ("load_verify_locations(cafile, cadata)", "empty bytes", lambda: client_ctx().load_verify_locations(b"")),
    ("load_verify_locations(cafile, cadata)", "empty str cadata",
     lambda: client_ctx().load_verify_locations(cadata="")),
    ("load_verify_locations(cafile, cadata)", "huge", lambda: client_ctx().load_verify_locations(HUGE)),
    ("load_verify_locations(cafile, cadata)", "missing file",
     lambda: client_ctx().load_verify_locations("/nonexistent.pem")),
    ("set_ciphers(ciphers)", "None", lambda: client_ctx().set_ciphers(None)),
    ("set_ciphers(ciphers)", "str", lambda: client_ctx().set_ciphers("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256")),
    ("set_ciphers(ciphers)", "empty list", lambda: client_ctx().set_ciphers([])),
    ("set_ciphers(ciphers)", "list of int", lambda: client_ctx().set_ciphers([1])),
    ("set_ciphers(ciphers)", "empty name", lambda: client_ctx().set_ciphers([""])),
    ("set_ciphers(ciphers)", "name with NUL",
     lambda: client_ctx().set_ciphers(["TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256\x00x"])),
    ("set_ciphers(ciphers)", "huge list", lambda: client_ctx().set_ciphers(["X"] * 5000)),
    ("set_ciphers(ciphers)", "huge name", lambda: client_ctx().set_ciphers(["X" * BIG])),
    ("set_alpn_protocols(protocols)", "None", lambda: client_ctx().set_alpn_protocols(None)),
    ("set_alpn_protocols(protocols)", "str", lambda: client_ctx().set_alpn_protocols("h2")),
    ("set_alpn_protocols(protocols)", "list of bytes", lambda: client_ctx().set_alpn_protocols([b"h2"])),
    ("set_alpn_protocols(protocols)", "empty name", lambda: client_ctx().set_alpn_protocols([""])),
    ("set_alpn_protocols(protocols)", "name with NUL", lambda: client_ctx().set_alpn_protocols(["h2\x00x"])),
    ("set_alpn_protocols(protocols)", "huge name", lambda: client_ctx().set_alpn_protocols(["X" * BIG])),
    ("set_alpn_protocols(protocols)", "huge list", lambda: client_ctx().set_alpn_protocols(["x" * 255] * 300)),
    ("verify_mode = ", "None", lambda: attr(client_ctx(), "verify_mode", None)),
    ("verify_mode = ", "negative", lambda: attr(client_ctx(), "verify_mode", -1)),
    ("verify_mode = ", "huge", lambda: attr(client_ctx(), "verify_mode", 1 << 30)),
    ("check_hostname = ", "None", lambda: attr(client_ctx(), "check_hostname", None)),
    ("verify_callback = ", "not callable", lambda: attr(client_ctx(), "verify_callback", 5)),
    ("wrap_socket(sock, ...)", "None", lambda: client_ctx().wrap_socket(None)),
    ("wrap_socket(sock, ...)", "bytes", lambda: client_ctx().wrap_socket(b"")),
    ("wrap_socket(sock, ...)", "server_hostname int",
     lambda: client_ctx().wrap_socket(pipe_pair()[0], server_hostname=1)),
    ("wrap_socket(sock, ...)", "server_hostname empty",
     lambda: client_ctx().wrap_socket(pipe_pair()[0], server_hostname="", do_handshake_on_connect=False)),
    ("wrap_socket(sock, ...)", "server_hostname huge",
     lambda: client_ctx().wrap_socket(pipe_pair()[0], server_hostname="a" * BIG, do_handshake_on_connect=False)),
    ("wrap_socket(sock, ...)", "server_hostname with NUL",
     lambda: client_ctx().wrap_socket(pipe_pair()[0], server_hostname="a\x00b")),
    ("wrap_socket(sock, ...)", "client_id int (DTLS server)",
     lambda: ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER).wrap_socket(pipe_pair()[0], client_id=4,
                                                                 do_handshake_on_connect=False)),
    # Half of BIG: a small board's heap must hold the DTLS server's buffers beside it.
    ("wrap_socket(sock, ...)", "client_id huge (DTLS server)",
     lambda: ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER).wrap_socket(pipe_pair()[0], client_id=bytes(BIG // 2),
                                                                 do_handshake_on_connect=False)),
    ("wrap_socket(sock, ...)", "released context",
     lambda: (lambda c: (c.__del__(), c.wrap_socket(pipe_pair()[0])))(client_ctx())),
    ("ssl.wrap_socket(sock, ...)", "None", lambda: ssl.wrap_socket(None)),
    ("ssl.wrap_socket(sock, ...)", "cert_reqs negative", lambda: ssl.wrap_socket(pipe_pair()[0], cert_reqs=-1)),
    ("ssl.wrap_socket(sock, ...)", "cadata int", lambda: ssl.wrap_socket(pipe_pair()[0], cadata=1)),
    ("ssl.create_default_context()", "str purpose", lambda: ssl.create_default_context("x")),
    ("SSLSocket.read(n)", "negative", lambda: connected().read(-1)),
    ("SSLSocket.read(n)", "str", lambda: connected().read("1")),
    ("SSLSocket.write(b)", "None", lambda: connected().write(None)),
    ("SSLSocket.write(b)", "int", lambda: connected().write(1)),
    ("SSLSocket.write(b)", "empty", lambda: connected().write(b"")),
    ("SSLSocket.write(b)", "huge", write_more_than_a_record),
    ("SSLSocket.recv_into(buf)", "bytes (read-only)", lambda: connected().recv_into(b"xx")),
    ("SSLSocket.getpeercert(binary_form)", "str", lambda: connected().getpeercert("yes")),
    ("SSLSocket.ioctl(request, arg)", "unknown request", lambda: connected().ioctl(99, 0)),
]

for api, given, fn in CASES:
    case(api, given, fn)
for name, fn in SOCKET_METHODS:
    case("SSLSocket." + name + "()", "closed socket", lambda fn=fn: fn(closed()))
    case("SSLSocket." + name + "()", "after a fatal error", lambda fn=fn: fn(failed()))
print("DONE")
