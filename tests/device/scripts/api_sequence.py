# Runs one sequence of operations (ARGS["ops"], made by Hypothesis on the host) on a client and a
# server over in-memory streams and on their contexts, and checks as it goes that every byte a
# write() reported as sent arrives once and in order.  Errors the module raises are expected
# (a verify mode changed between wraps may fail a handshake); a crash, a hang, or a byte lost,
# repeated or reordered is a failure.  Prints one RESULT line.
import gc
import json
import ssl

from memory_streams import faulty_pair
from test_args import ARGS

EXPECTED_ERRORS = (OSError, ValueError)  # SSLError is an OSError


def load(name):
    with open(ARGS[name], "rb") as f:
        return f.read()


CREDS = {"ec": (load("certfile"), load("keyfile")), "rsa": (load("rsa_certfile"), load("rsa_keyfile"))}
CA = load("cafile")
SUITES = {
    "ec-gcm": ["TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"],
    "chacha": ["TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256"],
    "rsa-gcm": ["TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"],
}
# ALPN lists that agree ("h2" both ways), offer nothing, or share nothing ("mqtt" against "h2").
ALPN = {"none": [], "h2": ["h2"], "h2+http": ["h2", "http/1.1"], "mqtt": ["mqtt"]}
MODES = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def new_context(side):
    if side == "s":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*CREDS["ec"])
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(CA)
    return ctx


def pattern(start, n):
    return bytes((i * 7 + (i >> 8)) & 255 for i in range(start, start + n))


class Direction:
    """One direction of the connection: what the writer was told went out, what the reader got."""

    def __init__(self):
        self.sent = 0           # bytes write() reported as written
        self.unsent = b""       # what the last write() did not take: resent first, as asyncio does
        self.received = bytearray()

    def check(self):
        n = len(self.received)
        if n > self.sent or bytes(self.received) != pattern(0, n):
            raise AssertionError("received " + str(n) + " bytes, " + str(self.sent) + " reported sent, content "
                                 + ("ok" if bytes(self.received) == pattern(0, min(n, self.sent)) else "wrong"))


class Connection:
    def __init__(self, ctx):
        c, s = faulty_pair()
        self.pipes = {"c": c, "s": s}
        self.sock = {
            "c": ctx["c"].wrap_socket(self.pipes["c"], server_hostname="localhost", do_handshake_on_connect=False),
            "s": ctx["s"].wrap_socket(self.pipes["s"], server_side=True, do_handshake_on_connect=False),
        }
        for sock in self.sock.values():
            sock.setblocking(False)
        self.dir = {"c": Direction(), "s": Direction()}  # keyed by writer
        self.failed = {"c": False, "s": False}
        self.closed = {"c": False, "s": False}

    def usable(self, side):
        return not self.failed[side] and not self.closed[side]

    def call(self, side, fn, *args):
        try:
            return fn(*args)
        except EXPECTED_ERRORS as e:
            if not isinstance(e, ValueError) or "released" not in str(e):
                self.failed[side] = True
            return e

    def write(self, side, n):
        d = self.dir[side]
        data = d.unsent + pattern(d.sent + len(d.unsent), n)
        r = self.call(side, self.sock[side].write, data)
        if isinstance(r, int):
            d.sent += r
            d.unsent = data[r:]
        elif r is None:
            d.unsent = data

    def pump(self, rounds):
        """Both sides in turn: a handshake step, then whatever has arrived."""
        for _ in range(rounds):
            for s in "cs":
                if self.usable(s) and self.call(s, self.sock[s].do_handshake) is True:
                    self.read(s, 4096)

    def read(self, side, n):
        other = "s" if side == "c" else "c"
        r = self.call(side, self.sock[side].recv, n)
        if isinstance(r, (bytes, bytearray)):
            self.dir[other].received.extend(r)
            self.dir[other].check()


def run(ops):
    ctx = {"c": new_context("c"), "s": new_context("s")}
    conn = Connection(ctx)
    counts = {}
    for op in ops:
        name, args = op[0], op[1:]
        counts[name] = counts.get(name, 0) + 1
        side = args[0] if args else None
        if name == "wrap":
            for s in "cs":
                conn.sock[s].close()
            conn = Connection(ctx)
        elif name == "handshake" and conn.usable(side):
            conn.call(side, conn.sock[side].do_handshake)
        elif name == "pump":
            conn.pump(args[0])
        elif name == "write" and conn.usable(side):
            conn.write(side, args[1])
        elif name == "read" and conn.usable(side):
            conn.read(side, args[1])
        elif name == "poll" and conn.usable(side):
            conn.call(side, conn.sock[side].ioctl, 3, args[1])
        elif name == "budget":
            conn.pipes[side].write_budget = args[1]
        elif name == "block_reads":
            conn.pipes[side].block_reads = args[1]
        elif name == "cipher":
            conn.call(side, conn.sock[side].cipher)
        elif name == "getpeercert":
            conn.call(side, conn.sock[side].getpeercert, args[1])
        elif name == "load_cert_chain":
            ctx["s"].load_cert_chain(*CREDS[args[0]])
        elif name == "load_verify_locations":
            ctx["c"].load_verify_locations(CA)
        elif name == "set_ciphers":
            ctx[side].set_ciphers(SUITES[args[1]])
        elif name == "set_alpn_protocols":
            ctx[side].set_alpn_protocols(ALPN[args[1]])
        elif name == "selected_alpn_protocol":
            conn.call(side, conn.sock[side].selected_alpn_protocol)
        elif name == "verify_mode":
            ctx[side].verify_mode = MODES[args[1]]
        elif name == "check_hostname":
            ctx["c"].check_hostname = args[0]
        elif name == "release_context":
            ctx[side].__del__()
            ctx[side] = new_context(side)
        elif name == "close":
            conn.closed[side] = True
            conn.sock[side].close()
        elif name == "gc":
            gc.collect()
    # The end: unthrottle, finish what can finish, and read everything there is.
    for s in "cs":
        conn.pipes[s].write_budget = None
        conn.pipes[s].block_reads = False
    for s in "cs":
        if conn.usable(s):
            conn.write(s, 1000)  # every sequence ends with data in both directions
    for _ in range(50):
        for s in "cs":
            if conn.usable(s) and conn.dir[s].unsent:
                conn.write(s, 0)
            if conn.usable(s):
                conn.read(s, 4096)
    complete = {}
    for s in "cs":
        other = "s" if s == "c" else "c"
        d = conn.dir[s]
        d.check()
        both = conn.usable(s) and conn.usable(other)
        if both and len(d.received) != d.sent:
            raise AssertionError(s + " reported " + str(d.sent) + " bytes sent, " + str(len(d.received)) + " arrived")
        complete[s] = both
    return {"counts": counts, "sent": [conn.dir[s].sent for s in "cs"], "complete": complete}


print("RESULT " + json.dumps(run(ARGS["ops"])))
