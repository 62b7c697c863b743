# A TLS echo server on the board: accept, wrap server-side, echo until the client closes.
import json
import socket
import ssl

from test_args import ARGS


def report(**kw):
    print("RESULT " + json.dumps(kw))


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
if ARGS.get("cafile"):
    ctx.load_verify_locations(cafile=ARGS["cafile"])
    ctx.verify_mode = ssl.CERT_REQUIRED
if ARGS.get("alpn") is not None:
    ctx.set_alpn_protocols(ARGS["alpn"])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
listener.listen(2)
print("LISTENING", ARGS["port"])
for _ in range(ARGS.get("connections", 1)):
    conn, _addr = listener.accept()
    try:
        s = ctx.wrap_socket(conn, server_side=True)
    except Exception as e:
        conn.close()
        report(ok=False, type=type(e).__name__, args=[str(a) for a in e.args])
        continue
    total = 0
    while True:
        data = s.recv(4096)  # what has arrived; read(4096) would wait for all 4096 bytes
        if not data:
            break
        s.write(data)
        total += len(data)
    peer = s.getpeercert()
    seen = dict(ok=True, cipher=s.cipher(), echoed=total, peer_subject=peer.get("subject") if peer else None)
    if "alpn" in ARGS:
        seen["alpn"] = s.selected_alpn_protocol()
    report(**seen)
    s.close()
listener.close()
