# getpeercert() on a certificate whose subject uses every ASN.1 string type (BMPString,
# UniversalString, T61String, UTF8String): decoded text, never an exception.
import json
import ssl

from memory_streams import connected_pair
from test_args import ARGS

server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_ctx.load_verify_locations(cafile=ARGS["cafile"])
client, server = connected_pair(client_ctx, server_ctx, "localhost")
cert = client.getpeercert()
print("RESULT " + json.dumps({"subject": cert["subject"], "issuer": cert["issuer"]}))
