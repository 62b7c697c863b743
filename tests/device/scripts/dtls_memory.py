# DTLS between two in-memory datagram endpoints, HelloVerify included: the server's first
# handshake attempt raises "Hello Verify Required" and a new wrap on the same link succeeds.
import json
import ssl

from memory_streams import datagram_pair
from test_args import ARGS

HELLO_VERIFY_REQUIRED = -0x6A80

server_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
client_ctx.load_verify_locations(cafile=ARGS["cafile"])

a, b = datagram_pair()
client = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
client.setblocking(False)


def wrap_server():
    s = server_ctx.wrap_socket(b, server_side=True, client_id=b"client-1", do_handshake_on_connect=False)
    s.setblocking(False)
    return s


server = wrap_server()
hello_verify = 0
done_c = done_s = False
for _ in range(100):
    if not done_c:
        done_c = client.do_handshake()
    if not done_s:
        try:
            done_s = server.do_handshake()
        except OSError as e:
            if e.args[0] != HELLO_VERIFY_REQUIRED:
                raise
            hello_verify += 1
            server = wrap_server()
    if done_c and done_s:
        break

client.write(b"ping over dtls")
got = server.recv(1500)
server.write(got.upper())
reply = client.recv(1500)
out = {"handshake": done_c and done_s, "hello_verify": hello_verify, "got": got.decode(),
       "reply": reply.decode(), "version": client.version(), "cipher": client.cipher()}
client.close()
server.close()
print("RESULT " + json.dumps(out))
