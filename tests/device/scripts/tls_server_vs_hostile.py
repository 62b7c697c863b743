# The board as TLS server against hostile clients (tools/mpssl_hil/hostile_peers.py): one connection per case,
# named in ARGS["cases"] in the order the host plays them; wrap server-side and echo until the client closes.
# Whatever goes wrong must be an exception from the board's call, and the next connection must be served. The
# first case (an honest client) warms up; the heap after it and after the last case (honest again) is measured
# after gc.collect(). With ARGS["nonblocking"] the same runs on non-blocking SSLSockets driven by select.poll.
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


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])


NONBLOCKING = ARGS.get("nonblocking", False)
WAITS = 300  # polls of 200 ms: a minute at most for each step of a non-blocking case


class Stuck(Exception):
    pass


def wait(s, poller, what, event=select.POLLIN):
    """Until poll reports the SSLSocket ready for `event` (or failed: POLLNVAL, and the next call raises)."""
    poller.modify(s, event)
    for _ in range(WAITS):
        if poller.poll(200):
            return
    raise Stuck(what)


def handshake(s, poller):
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


def recv(s, poller):
    for _ in range(WAITS):
        data = s.recv(4096)  # what has arrived; None: nothing yet (non-blocking)
        if data is not None:
            return data
        wait(s, poller, "read")
    raise Stuck("read")


def one(name, conn):
    stage = "handshake"
    s = None
    try:
        s = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=not NONBLOCKING)
        poller = select.poll()
        if NONBLOCKING:
            s.setblocking(False)
            poller.register(s, select.POLLIN)
            handshake(s, poller)
        total = 0
        for _ in range(1000):
            stage = "read"
            data = recv(s, poller)
            if not data:
                break
            stage = "write"
            sent = 0
            while sent < len(data):
                sent += write(s, poller, data[sent:])
            total += len(data)
        stage = "close"
        s.close()
        return {"case": name, "outcome": "ok", "echoed": total}
    except Exception as e:  # every kind is reported; the test decides which are allowed
        return {"case": name, "outcome": "error", "stage": stage, "type": type(e).__name__,
                "is_oserror": isinstance(e, OSError),
                "args": [a if isinstance(a, (int, str)) else repr(a) for a in e.args]}
    finally:
        if s is not None:
            s.close()
        conn.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
listener.listen(2)
print("LISTENING", ARGS["port"])
before = None
for i, name in enumerate(ARGS["cases"]):
    conn, _addr = listener.accept()
    report(**one(name, conn))
    if i == 0:
        before = heap()
listener.close()
report(heap_before=before, heap_after=heap())
print("DONE")
