# DTLS between two in-memory datagram endpoints, HelloVerify included: the server's first
# handshake attempt raises "Hello Verify Required" and a new wrap on the same link succeeds.
import json
import ssl

from memory_streams import dtls_connected
from test_args import ARGS

server_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
client_ctx.load_verify_locations(cafile=ARGS["cafile"])

client, server, hello_verify, done = dtls_connected(client_ctx, server_ctx)

client.write(b"ping over dtls")
got = server.recv(1500)
server.write(got.upper())
reply = client.recv(1500)
out = {"handshake": done, "hello_verify": hello_verify, "got": got.decode(),
       "reply": reply.decode(), "version": client.version(), "cipher": client.cipher()}
client.close()
server.close()
print("RESULT " + json.dumps(out))
