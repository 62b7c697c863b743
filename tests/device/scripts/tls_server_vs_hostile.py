# The board as TLS server against hostile clients (tools/mpssl_hil/hostile_peers.py): one connection per case,
# named in ARGS["cases"] in the order the host plays them; wrap server-side and echo until the client closes.
# Whatever goes wrong must be an exception from the board's call, and the next connection must be served. The
# first case (an honest client) warms up; the heap after it and after the last case (honest again) is measured
# after gc.collect().
import gc
import json
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


def one(name, conn):
    stage = "handshake"
    s = None
    try:
        s = ctx.wrap_socket(conn, server_side=True)
        total = 0
        for _ in range(1000):
            stage = "read"
            data = s.recv(4096)  # what has arrived
            if not data:
                break
            stage = "write"
            s.write(data)
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
