# ALPN between two in-memory endpoints: which protocol the two sides agree on, what each side sees
# when one offers none or they share none, that a socket keeps the protocols it was wrapped with when
# its context changes, DTLS, and what set_alpn_protocols refuses.  One RESULT line per case, then DONE.
import gc
import json
import ssl

from memory_streams import contexts, drive, dtls_connected, pipe_pair
from test_args import ARGS


def report(case, **seen):
    seen["case"] = case
    print("RESULT " + json.dumps(seen))


def error(e):
    return [type(e).__name__] + [a if isinstance(a, (int, str)) else repr(a) for a in e.args]


def tls_contexts(client_protocols, server_protocols):
    client_ctx, server_ctx = contexts(ARGS)
    if client_protocols is not None:
        client_ctx.set_alpn_protocols(client_protocols)
    if server_protocols is not None:
        server_ctx.set_alpn_protocols(server_protocols)
    return client_ctx, server_ctx


def wrap(client_ctx, server_ctx):
    a, b = pipe_pair()
    client = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    server = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    client.setblocking(False)
    server.setblocking(False)
    return client, server


def handshake(case, client_ctx, server_ctx, before=None):
    client, server = wrap(client_ctx, server_ctx)
    if before is not None:
        before(client_ctx, server_ctx)
    seen = {"before": [client.selected_alpn_protocol(), server.selected_alpn_protocol()]}
    try:
        drive(client, server)
    except OSError as e:
        seen["error"] = error(e)
        # What each side says after a failed handshake (the failed socket raises again).
        for side, sock in (("client", client), ("server", server)):
            try:
                seen[side] = sock.selected_alpn_protocol()
            except OSError as e2:
                seen[side] = error(e2)
    else:
        seen["client"] = client.selected_alpn_protocol()
        seen["server"] = server.selected_alpn_protocol()
        client.write(b"ping")
        seen["echo"] = server.read(4).decode()
    client.close()
    server.close()
    report(case, **seen)


# Both offer: the server takes the first of its own list that the client offered.
handshake("both offer", *tls_contexts(["spdy/1", "http/1.1", "h2"], ["h2", "http/1.1"]))
handshake("client only", *tls_contexts(["h2", "http/1.1"], None))
handshake("server only", *tls_contexts(None, ["h2"]))
handshake("neither", *tls_contexts(None, None))
# RFC 7301 3.2: a server that supports none of the client's protocols ends the handshake with a
# no_application_protocol alert (mbedTLS does; OpenSSL's servers go on without ALPN by default).
handshake("no common protocol", *tls_contexts(["h2"], ["mqtt"]))


# A socket keeps the protocols its context had when it was wrapped.
def change_both(client_ctx, server_ctx):
    client_ctx.set_alpn_protocols(["mqtt"])
    server_ctx.set_alpn_protocols(["mqtt", "x-other"])


handshake("contexts changed after wrap", *tls_contexts(["x-other"], ["x-other"]), before=change_both)


def clear_both(client_ctx, server_ctx):
    client_ctx.set_alpn_protocols([])
    server_ctx.set_alpn_protocols([])


handshake("contexts cleared after wrap", *tls_contexts(["h2"], ["h2"]), before=clear_both)
# [] takes a context's protocols away: new sockets offer none.
client_ctx, server_ctx = tls_contexts(["h2"], ["h2"])
client_ctx.set_alpn_protocols([])
handshake("cleared before wrap", client_ctx, server_ctx)
client_ctx = server_ctx = None
gc.collect()

# DTLS, with HelloVerify.
server_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
server_ctx.set_alpn_protocols(["coap", "x-other"])
client_ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
client_ctx.load_verify_locations(cafile=ARGS["cafile"])
client_ctx.set_alpn_protocols(["x-none", "coap"])
client, server, _, done = dtls_connected(client_ctx, server_ctx)
report("dtls", client=client.selected_alpn_protocol(), server=server.selected_alpn_protocol(), done=done)
client.close()
server.close()

# What set_alpn_protocols refuses, and with what.
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
refused = {}
for name, value in (("empty name", [""]), ("256 bytes", ["x" * 256]), ("bytes", [b"h2"]),
                    ("NUL", ["h\x002"]), ("not a list", 42), ("None", None)):
    try:
        ctx.set_alpn_protocols(value)
        refused[name] = None
    except Exception as e:
        refused[name] = type(e).__name__
ctx.set_alpn_protocols(["x" * 255])  # the longest a name may be
report("refused", refused=refused, has_alpn=ssl.HAS_ALPN)
print("DONE")
