# The board as TLS client against hostile servers (tools/mpssl_hil/hostile_peers.py), one case per port:
# connect, wrap (with the case's own cipher list, if it has one), and if the handshake survives, send 100 bytes
# (after options["size"] bytes more, if given) and read the echo. Whatever goes wrong must be an exception from
# the board's call, and the next case must run.
# With ARGS["nonblocking"] the same runs on a non-blocking SSLSocket driven by select.poll (bounded waits).
# The first case (an honest server) warms up; the heap after it and after the last case (honest again) is
# measured after gc.collect().
import gc
import json
import select
import socket
import ssl

from test_args import ARGS


def report(**kw):
    print("RESULT " + json.dumps(kw))


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
PAYLOAD = b"hostile peers " * 7 + b"xx"  # 100 bytes


def context(options):
    if not options.get("ciphers"):
        return ctx
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(cafile=ARGS["cafile"])
    c.set_ciphers(options["ciphers"])
    return c


NONBLOCKING = ARGS.get("nonblocking", False)
WAITS = 300  # polls of 200 ms: a minute at most for each step of a non-blocking case


class Stuck(Exception):
    pass


def wait(s, poller, what, event=select.POLLIN):
    """Until poll reports the SSLSocket ready for `event` (or failed: POLLNVAL, and the next call raises);
    bounded."""
    poller.modify(s, event)
    for _ in range(WAITS):
        if poller.poll(200):
            return
    raise Stuck(what)


def handshake(s, poller):
    if not NONBLOCKING:
        return
    for _ in range(WAITS):
        if s.do_handshake():
            return
        wait(s, poller, "handshake")
    raise Stuck("handshake")


def write(s, poller, data):
    for _ in range(WAITS):
        n = s.write(data)  # a write that returned None is repeated with the same bytes
        if n is not None:
            return n
        wait(s, poller, "write", select.POLLOUT)
    raise Stuck("write")


def read(s, poller, n):
    for _ in range(WAITS):
        chunk = s.recv(n) if NONBLOCKING else s.read(n)
        if chunk is not None:
            return chunk
        wait(s, poller, "read")
    raise Stuck("read")


def one(name, port, options):
    sock = socket.socket()
    sock.connect(socket.getaddrinfo(ARGS["host"], port)[0][-1])
    stage = "handshake"
    s = None
    try:
        s = context(options).wrap_socket(sock, server_hostname="localhost", do_handshake_on_connect=not NONBLOCKING)
        poller = select.poll()
        if NONBLOCKING:
            s.setblocking(False)
            poller.register(s, select.POLLIN)
        handshake(s, poller)
        stage = "write"
        if options.get("size"):  # first this many bytes more, in 4 KiB writes (the server need not read them)
            chunk = PAYLOAD * 40 + PAYLOAD[:96]
            total = 0
            while total < options["size"]:
                total += write(s, poller, chunk)
        sent = 0
        while sent < len(PAYLOAD):
            sent += write(s, poller, PAYLOAD[sent:])
        stage = "read"
        got = b""
        for _ in range(100):
            chunk = read(s, poller, len(PAYLOAD) - len(got))
            if not chunk:
                break
            got += chunk
            if len(got) == len(PAYLOAD):
                break
        stage = "close"
        s.close()
        return {"case": name, "outcome": "ok" if got == PAYLOAD else "eof" if not got else "short echo",
                "echoed": len(got)}
    except Exception as e:  # every kind is reported; the test decides which are allowed
        return {"case": name, "outcome": "error", "stage": stage, "type": type(e).__name__,
                "is_oserror": isinstance(e, OSError),
                "args": [a if isinstance(a, (int, str)) else repr(a) for a in e.args]}
    finally:
        if s is not None:
            s.close()
        sock.close()


before = None
for i, (name, port, options) in enumerate(ARGS["cases"]):
    report(**one(name, port, options))
    if i == 0:
        before = heap()
report(heap_before=before, heap_after=heap())
print("DONE")
