# Certificate verification without a network: for each case a TLS server with the given chain and
# a verifying client talk over in-memory streams; the client reports what it concluded.
import json
import ssl

from memory_streams import drive, pipe_pair
from test_args import ARGS

for case in ARGS["cases"]:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(ARGS[case["identity"] + "_chain"], ARGS[case["identity"] + "_key"])
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cafile=ARGS["cafile"])
    client_ctx.verify_mode = getattr(ssl, case.get("verify_mode", "CERT_REQUIRED"))
    a, b = pipe_pair()
    client = client_ctx.wrap_socket(a, server_hostname=case["hostname"], do_handshake_on_connect=False)
    server = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    client.setblocking(False)
    server.setblocking(False)
    out = {"case": case["identity"] + "@" + case["hostname"]}
    try:
        drive(client, server)
    except ssl.SSLCertVerificationError as e:
        out.update(ok=False, verify_message=e.verify_message, verify_code=e.verify_code,
                   is_valueerror=isinstance(e, ValueError))
    else:
        result = client.verify_result()
        out.update(ok=True, verify_message=None if result is None else result.verify_message)
    print("RESULT " + json.dumps(out))
