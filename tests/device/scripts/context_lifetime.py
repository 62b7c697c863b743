# Changing or deleting a context never touches a socket it wrapped: mid-handshake, the context gets
# another certificate and key, other trust anchors, other cipher suites, another verify mode and
# hostname check, or is released; the socket finishes with what it was wrapped with.  Each case
# prints one RESULT line; the test also runs this under valgrind.
import gc
import json
import ssl

from memory_streams import faulty_pair
from test_args import ARGS


def load(name):
    with open(ARGS[name], "rb") as f:
        return f.read()


EC_DER = load("ec_cert_der")
RSA_DER = load("rsa_cert_der")
RSA_ONLY = ["TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"]


def report(case, **seen):
    seen["case"] = case
    print("RESULT " + json.dumps(seen))


def server_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
    return ctx


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ARGS["cafile"])
    return ctx


def pair(client_ctx, server_ctx):
    a, b = faulty_pair()
    c = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    s = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    c.setblocking(False)
    s.setblocking(False)
    return c, s


def step_until_done(c, s, between, limit=100):
    """Alternate the two handshakes, calling `between(i)` before each step."""
    for i in range(limit):
        between(i)
        done_c = c.do_handshake()
        done_s = s.do_handshake()
        if done_c and done_s:
            return True
    return False


def exchange(c, s):
    c.write(b"ping")
    s.write(s.recv(10) + b"/pong")
    return c.recv(20).decode()


def server_context_changes_mid_handshake():
    server_ctx = server_context()
    c, s = pair(client_context(), server_ctx)

    def change(i):
        server_ctx.load_cert_chain(ARGS["rsa_certfile"], ARGS["rsa_keyfile"])
        server_ctx.set_ciphers(RSA_ONLY)
        server_ctx.verify_mode = ssl.CERT_REQUIRED  # would demand a client certificate
        server_ctx.load_verify_locations(cafile=ARGS["cafile"])
        gc.collect()

    done = step_until_done(c, s, change)
    # A socket wrapped now gets the new settings.
    c2, s2 = pair(client_context(), server_ctx)
    c2_ctx_cert = None
    try:
        step_until_done(c2, s2, lambda i: None)
    except OSError as e:
        c2_ctx_cert = "refused: " + str(e.args[0])  # the server now wants a client certificate
    report("server context changes mid-handshake", done=done, peer_is_original=c.getpeercert(True) == EC_DER,
           cipher=c.cipher()[0], echo=exchange(c, s), new_socket=c2_ctx_cert)


def client_context_changes_mid_handshake():
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.verify_mode = ssl.CERT_NONE  # this socket verifies nothing, whatever comes next
    c, s = pair(client_ctx, server_context())

    def change(i):
        client_ctx.verify_mode = ssl.CERT_REQUIRED  # no trust anchors: would refuse every server
        client_ctx.check_hostname = True
        client_ctx.set_ciphers(RSA_ONLY)
        client_ctx.load_verify_locations(cafile=ARGS["rsa_certfile"])  # the wrong anchor
        gc.collect()

    done = step_until_done(c, s, change)
    report("client context changes mid-handshake", done=done, peer_is_original=c.getpeercert(True) == EC_DER,
           echo=exchange(c, s))


def contexts_released_mid_handshake():
    client_ctx = client_context()
    server_ctx = server_context()
    c, s = pair(client_ctx, server_ctx)
    c.do_handshake()
    s.do_handshake()
    client_ctx.__del__()
    server_ctx.__del__()
    released = []
    for call in (lambda: server_ctx.wrap_socket(faulty_pair()[0], server_side=True),
                 lambda: server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])):
        try:
            call()
        except ValueError as e:
            released.append(str(e))
    client_ctx = server_ctx = None
    gc.collect()
    done = step_until_done(c, s, lambda i: gc.collect())
    report("contexts released mid-handshake", done=done, echo=exchange(c, s), released=released)


def everything_dropped_mid_handshake():
    # Contexts and sockets become garbage together: the collector finalises them in any order.
    for i in range(40):
        c, s = pair(client_context(), server_context())
        c.do_handshake()
        if i % 2:
            s.do_handshake()
        c = s = None
        gc.collect()
    report("everything dropped mid-handshake", survived=True)


# What one wrapped pair holds on an MCU: two sockets with 16 KiB record buffers each way, plus the
# handshake's working memory.  A board runs as many pairs at once as its heap takes (at most all six).
PAIR_HEAP = 96 * 1024


def one_context_many_changes():
    # The same context wraps, changes, wraps again: each socket keeps its own settings.  The sockets
    # handshake only after the context changed again, the last ones after it was released.
    gc.collect()
    at_once = max(1, min(6, gc.mem_free() // PAIR_HEAP))
    server_ctx = server_context()
    pending, peers = [], []
    for i in range(6):
        if i % 2:
            server_ctx.load_cert_chain(ARGS["rsa_certfile"], ARGS["rsa_keyfile"])
        else:
            server_ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
        pending.append(pair(client_context(), server_ctx))
        if len(pending) < at_once and i < 5:
            continue
        if i < 5:  # the other chain than the one the last socket was wrapped with
            cert, key = ("certfile", "keyfile") if i % 2 else ("rsa_certfile", "rsa_keyfile")
            server_ctx.load_cert_chain(ARGS[cert], ARGS[key])
        else:
            server_ctx.__del__()
        gc.collect()
        for c, s in pending:
            step_until_done(c, s, lambda i: None)
            der = c.getpeercert(True)
            peers.append("rsa" if der == RSA_DER else "ec" if der == EC_DER else "?")
            c.close()
            s.close()
        pending = []
        gc.collect()
    report("one context, many changes", peers=peers)


server_context_changes_mid_handshake()
client_context_changes_mid_handshake()
contexts_released_mid_handshake()
everything_dropped_mid_handshake()
one_context_many_changes()
print("DONE")
