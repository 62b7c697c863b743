# A DTLS client: handshake with the host's DTLS server, send a line, read the answer.
import json
import socket
import ssl

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
if ARGS.get("alpn") is not None:
    ctx.set_alpn_protocols(ARGS["alpn"])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
try:
    s = ctx.wrap_socket(sock, server_hostname=ARGS["server_hostname"])
except Exception as e:
    s = None
    print("RESULT " + json.dumps({"ok": False, "type": type(e).__name__, "args": [str(a) for a in e.args]}))
if s is not None:
    s.write(ARGS["message"])
    reply = s.recv(1500)  # one datagram
    seen = {"ok": True, "cipher": s.cipher(), "version": s.version(), "reply": reply.decode()}
    if "alpn" in ARGS:
        seen["alpn"] = s.selected_alpn_protocol()
    print("RESULT " + json.dumps(seen))
    s.close()
