# Soak: many handshakes in one process, of every kind a long-running device meets, and then the
# heap and the file descriptors must be where they started.  TLS runs over real loopback sockets
# (the unix build) or in-memory streams (boards without a second endpoint), DTLS over in-memory
# datagrams with HelloVerify; both roles are mpssl.  Kinds, in turn:
#   good             handshake, 100 bytes each way, close_notify both ways
#   verify fails     the client does not trust the server's root
#   peer aborts      the server's transport closes after the ClientHello
#   no close_notify  the server's transport closes after the data; the client sees EOF
#   new credentials  the server context's chain and key are replaced before the connection
#   dtls             DTLS handshake through HelloVerify, one datagram each way
import gc
import json
import os
import select
import socket
import ssl

from memory_streams import dtls_handshake, pipe_pair, polling_datagram_pair
from test_args import ARGS

KINDS = ["good", "verify fails", "peer aborts", "no close_notify", "new credentials", "dtls"]


def load(name):
    with open(ARGS[name], "rb") as f:
        return f.read()


CREDS = [(load("certfile"), load("keyfile")), (load("rsa_certfile"), load("rsa_keyfile"))]
CA = load("cafile")
OTHER_CA = load("other_cafile")

server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(*CREDS[0])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_ctx.load_verify_locations(CA)
distrusting_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
distrusting_ctx.load_verify_locations(OTHER_CA)
dtls_server_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
dtls_server_ctx.load_cert_chain(*CREDS[0])
dtls_client_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
dtls_client_ctx.load_verify_locations(CA)

listener = None
port = ARGS["port"]  # a free loopback port the host picked, or None: in-memory streams
if port is not None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    listener.listen(4)


def transports():
    """A connected pair of non-blocking streams."""
    if listener is None:
        return pipe_pair()
    c = socket.socket()
    c.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s, _ = listener.accept()
    c.setblocking(False)
    s.setblocking(False)
    return c, s


def abort(server_end, client_end):
    """The server's transport goes away: a closed socket, or end of stream on a pipe."""
    if listener is None:
        client_end.closed_by_peer = True
    else:
        server_end.close()


def wait(*socks):
    """Until one of `socks` has something to read (sockets over loopback take their time)."""
    if listener is not None:
        poller = select.poll()
        for sock in socks:
            poller.register(sock, select.POLLIN)
        poller.poll(20)


def drive(c, s, limit=500):
    done_c = done_s = False
    for _ in range(limit):
        if not done_c:
            done_c = c.do_handshake()
        if not done_s:
            done_s = s.do_handshake()
        if done_c and done_s:
            return
        wait(c, s)
    raise OSError("handshake did not finish")


def read_exactly(sock, n, limit=500):
    got = b""
    for _ in range(limit):
        data = sock.recv(n - len(got))
        if data:
            got += data
        elif data == b"":
            return got  # end of stream
        if len(got) == n:
            return got
        wait(sock)
    return got


def tls(kind, i):
    if kind == "new credentials":
        server_ctx.load_cert_chain(*CREDS[i % 2])
    a, b = transports()
    c = (distrusting_ctx if kind == "verify fails" else client_ctx).wrap_socket(
        a, server_hostname="localhost", do_handshake_on_connect=False)
    s = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    c.setblocking(False)
    s.setblocking(False)
    outcome = "ok"
    try:
        if kind == "peer aborts":
            c.do_handshake()
            abort(b, a)
        drive(c, s)
        c.write(b"c" * 100)
        s.write(read_exactly(s, 100).upper())
        if read_exactly(c, 100) != b"C" * 100:
            outcome = "wrong echo"
        if kind == "no close_notify":
            abort(b, a)
            outcome = "eof" if read_exactly(c, 1) == b"" else "no eof"
    except OSError as e:
        outcome = "error " + str(e.args[0])
    c.close()
    s.close()
    return outcome


def dtls(i):
    ca, sb = polling_datagram_pair()
    c = dtls_client_ctx.wrap_socket(ca, server_hostname="localhost", do_handshake_on_connect=False)
    c.setblocking(False)
    server = []
    outcome = "ok" if dtls_handshake(c, dtls_server_ctx, sb, keep=server) else "no handshake"
    if server:
        c.write(b"ping")
        server[0].recv(100)
        server[0].close()
    c.close()
    return outcome


def one(i):
    kind = KINDS[i % len(KINDS)]
    return kind, dtls(i) if kind == "dtls" else tls(kind, i)


def open_fds():
    try:
        return len(os.listdir("/proc/self/fd"))
    except (OSError, AttributeError):
        return None


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


outcomes = {}
for i in range(len(KINDS)):  # warm up: first-use allocations (qstrs, caches) are not leaks
    one(i)
before, fds_before = heap(), open_fds()
for i in range(ARGS["handshakes"]):
    kind, outcome = one(i)
    key = kind + ": " + outcome
    outcomes[key] = outcomes.get(key, 0) + 1
after, fds_after = heap(), open_fds()
print("RESULT " + json.dumps({"before": before, "after": after, "fds_before": fds_before, "fds_after": fds_after,
                              "outcomes": outcomes}))
