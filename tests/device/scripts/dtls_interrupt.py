# Ctrl-C during a blocking DTLS handshake: the wait for the server happens between mbedTLS calls,
# so KeyboardInterrupt leaves mbedTLS intact and the same socket finishes the handshake later.
# The test sends SIGINT once the script printed WAITING.
import json
import ssl

from memory_streams import dtls_handshake, polling_datagram_pair
from test_args import ARGS

server_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
client_ctx.load_verify_locations(cafile=ARGS["cafile"])
ca, sb = polling_datagram_pair()
client = client_ctx.wrap_socket(ca, server_hostname="localhost", do_handshake_on_connect=False)
client.setblocking(True)  # nobody answers: it waits, resending its ClientHello on the DTLS timer
print("WAITING")
interrupted = False
try:
    client.do_handshake()
except KeyboardInterrupt:
    interrupted = True
hellos = len(ca.sizes)
client.setblocking(False)
finished = dtls_handshake(client, server_ctx, sb)
client.write(b"after ctrl-c")
print("RESULT " + json.dumps({"interrupted": interrupted, "hellos_sent": hellos, "finished": finished,
                              "version": client.version()}))
