# Shared by the bench scripts (make bench, tools/mpssl_hil/suites/bench.py and bench_mcu.py). Only
# MicroPython's documented `ssl` API, so that every script runs unchanged on mpssl and on the built-in tls
# with micropython-lib's ssl.py. Arguments come as a JSON file named by sys.argv[1] (unix) or as the
# test_args module the runner writes beside the script (a board); each script prints one JSON line.
import io
import json
import ssl
import sys
import time

import micropython

HOSTNAME = "localhost"


def args():
    try:
        from test_args import ARGS
    except ImportError:
        with open(sys.argv[1]) as f:
            return json.load(f)
    return ARGS


# time.ticks_us() at each mark: under QEMU's -icount shift=0 one instruction takes 1 ns of virtual time.
marks_us = []


def report(**values):
    values["phase_us"] = [time.ticks_diff(b, a) for a, b in zip(marks_us, marks_us[1:])]
    print(json.dumps(values))


def mark():
    """A phase boundary: the driver runs callgrind with --dump-before=mp_micropython_stack_use, so the
    instructions of each phase are dumped apart; on the emulated MCU the microseconds between marks count
    its instructions. Natively it does nothing worth counting."""
    micropython.stack_use()
    marks_us.append(time.ticks_us())


class Queue:
    """Bytes in flight in one direction; the read position moves, the buffer is dropped once drained."""

    def __init__(self):
        self.data = bytearray()
        self.pos = 0

    def put(self, buf):
        self.data.extend(buf)

    def take(self, buf):
        avail = len(self.data) - self.pos
        if not avail:
            return None
        n = min(len(buf), avail)
        buf[:n] = memoryview(self.data)[self.pos:self.pos + n]
        self.pos += n
        if self.pos == len(self.data):
            self.data = bytearray()
            self.pos = 0
        return n


class Pipe(io.IOBase):
    """One end of an in-memory byte stream; a read with nothing queued answers None (would block)."""

    def __init__(self, inbox, outbox):
        self.inbox = inbox
        self.outbox = outbox

    def readinto(self, buf):
        return self.inbox.take(buf)

    def write(self, buf):
        self.outbox.put(buf)
        return len(buf)

    def setblocking(self, flag):
        pass

    def ioctl(self, req, arg):
        return 0


def pipe_pair(cls=Pipe):
    a_to_b = Queue()
    b_to_a = Queue()
    return cls(b_to_a, a_to_b), cls(a_to_b, b_to_a)


def set_ciphers(ctx, names):
    # SSLContext.set_ciphers is documented, but micropython-lib's ssl.SSLContext wraps tls.SSLContext
    # without passing it on: call it on the wrapped context there.
    getattr(ctx, "_context", ctx).set_ciphers(names)


def get_ciphers(ctx):
    return getattr(ctx, "_context", ctx).get_ciphers()


def contexts(a, ciphers=None):
    """Server context with a["certfile"]/a["keyfile"]; client context verifying it against a["cafile"]."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(a["certfile"], a["keyfile"])
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.verify_mode = ssl.CERT_REQUIRED  # micropython-lib's ssl.py defaults to CERT_NONE
    client_ctx.load_verify_locations(cafile=a["cafile"])
    if ciphers:
        set_ciphers(client_ctx, ciphers)
        set_ciphers(server_ctx, ciphers)
    return client_ctx, server_ctx


def wrap(client_ctx, server_ctx, cls=Pipe):
    a, b = pipe_pair(cls)
    client = client_ctx.wrap_socket(a, server_hostname=HOSTNAME, do_handshake_on_connect=False)
    server = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    client.setblocking(False)
    server.setblocking(False)
    return client, server


def handshake(client, server, limit=100):
    """Both handshakes, driven by documented calls only: the client's first write completes once the
    server has finished, and the server's first read returns that byte."""
    sent = got = None
    for _ in range(limit):
        if not sent:
            sent = client.write(b"?")
        if not got:
            got = server.read(1)
        if sent and got:
            return
    raise OSError("handshake did not finish")


def connected_pair(client_ctx, server_ctx, cls=Pipe):
    client, server = wrap(client_ctx, server_ctx, cls)
    handshake(client, server)
    return client, server


def cipher_name(sock):
    c = sock.cipher()
    return c[0] if isinstance(c, tuple) else c
