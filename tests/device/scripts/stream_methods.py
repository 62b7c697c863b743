# Every stream method of SSLSocket over an in-memory TLS connection: write/send/sendall on one
# side, read/readinto/readline/recv/recv_into on the other, then close_notify and EOF.
import json

from memory_streams import connected_pair, contexts
from test_args import ARGS

client_ctx, server_ctx = contexts(ARGS)
# load_cert_chain replaces what was loaded before: after RSA then EC again, only EC is served
# (the server's own order prefers ECDHE-RSA suites, so a leftover RSA chain would be chosen).
server_ctx.load_cert_chain(ARGS["rsa_certfile"], ARGS["rsa_keyfile"])
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
client, server = connected_pair(client_ctx, server_ctx, "localhost")
out = {}
out["write"] = client.write(b"line one\n")
out["send"] = client.send(b"line two\n")
client.sendall(b"0123456789")
client.write(b"abcdef")
out["readline"] = [server.readline().decode(), server.readline().decode()]
buf = bytearray(4)
out["readinto"] = server.readinto(buf)
out["readinto_data"] = bytes(buf).decode()
buf = bytearray(6)
out["recv_into"] = server.recv_into(buf)
out["recv_into_data"] = bytes(buf).decode()
out["recv"] = server.recv(100).decode()
out["read_nothing_yet"] = server.read(10)  # non-blocking: None, nothing queued
server.write(b"reply")
out["client_read"] = client.read(5).decode()
out["cipher"] = client.cipher()
out["version"] = client.version()
out["peer_subject"] = client.getpeercert()["subject"]
with client:
    pass  # the context manager closes: close_notify reaches the server
out["eof_after_close_notify"] = server.read(10)
server.close()
print("RESULT " + json.dumps(out))
