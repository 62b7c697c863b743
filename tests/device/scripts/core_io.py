# The I/O state machine over in-memory streams, case by case: what a write reports after "would
# block", which direction poll asks for, what a stream that raises or answers "would block" does,
# errors that stay, the DTLS datagram size, cipher() and hostname checks.  Each case prints one
# RESULT line with what it saw; the test checks them.
import gc
import json
import select
import ssl
import time

from memory_streams import drive, dtls_handshake, faulty_pair, pipe_pair, polling_datagram_pair
from test_args import ARGS

POLL = 3  # MP_STREAM_POLL
RD = select.POLLIN
WR = select.POLLOUT


class Boom(Exception):
    pass


def report(case, **seen):
    seen["case"] = case
    print("RESULT " + json.dumps(seen))


def contexts(dtls=False, cert="certfile", key="keyfile"):
    server = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER if dtls else ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(ARGS[cert], ARGS[key])
    client = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT if dtls else ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=ARGS["cafile"])
    return client, server


def wrapped(blocking=False):
    """A client and a server over a FaultyPipe pair, not yet handshaken."""
    a, b = faulty_pair()
    client_ctx, server_ctx = contexts()
    c = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    s = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    if blocking is not None:
        c.setblocking(blocking)
        s.setblocking(blocking)
    return c, s, a, b


def connected():
    c, s, a, b = wrapped()
    drive(c, s)
    return c, s, a, b


def drain(sock, limit=100000):
    got = bytearray()
    for _ in range(limit):
        data = sock.recv(4096)
        if not data:
            break
        got.extend(data)
    return bytes(got)


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is to see what comes out
        return [type(e).__name__] + [str(a) for a in e.args]
    return None


def write_retried_with_more():
    # asyncio's StreamWriter resends its whole unsent buffer, grown by what was written since.
    c, s, a, b = connected()
    a.block_writes = True
    first = bytes(i & 255 for i in range(100))
    r1 = c.write(first)
    a.block_writes = False
    more = first + bytes((7 * i) & 255 for i in range(1000))
    r2 = c.write(more)
    got = drain(s)
    report("write retried with more", first=r1, second=r2, received=len(got), intact=got == more)


def write_retried_in_pieces():
    # A transport that takes a few hundred bytes at a time and then would block, as a socket whose
    # send buffer fills: every record goes out whole, once, in order.
    c, s, a, b = connected()
    data = bytes((i * 31) & 255 for i in range(20000))
    view = memoryview(data)
    sent = 0
    would_block = 0
    got = bytearray()
    for _ in range(10000):
        if sent < len(data):
            a.write_budget = 700
            n = c.write(view[sent:])  # no copy: a small board's heap would fragment
            if n is None:
                would_block += 1
            sent += n or 0
        got.extend(drain(s))
        if sent == len(data) and len(got) == len(data):
            break
    report("write retried in pieces", sent=sent, received=len(got), intact=bytes(got) == data,
           would_block=would_block)


def write_retried_with_other_bytes():
    c, s, a, b = connected()
    a.block_writes = True
    r1 = c.write(b"A" * 50)
    a.block_writes = False
    err = error_of(lambda: c.write(b"B" * 50))
    r3 = c.write(b"A" * 50)
    report("write retried with other bytes", first=r1, error=err, retry=r3, received=drain(s).decode())


def poll_after_read_would_block():
    c, s, a, b = connected()
    r = c.read(10)
    ready = c.ioctl(POLL, WR)
    asked = a.last_poll
    report("poll after read would block", read=r, ready=ready, asked=asked)


def poll_with_write_pending():
    c, s, a, b = connected()
    s.write(b"hello")
    a.block_writes = True
    r = c.write(b"x" * 100)
    ready = c.ioctl(POLL, RD | WR)
    p = select.poll()
    p.register(c, RD | WR)
    events = [ev for _, ev in p.poll(0)]
    report("poll with write pending", write=r, ready=ready, select_poll=events, read=c.recv(10).decode())


def poll_on_failed_socket():
    c, s, a, b = wrapped()
    c.do_handshake()
    b.write(b"\x15\x03\x03\x00\x02\x02\x28")  # a fatal alert record instead of a ServerHello
    err = error_of(c.do_handshake)
    a.last_poll = None
    ready = c.ioctl(POLL, RD | WR)
    report("poll on failed socket", error=err, ready=ready, asked=a.last_poll)


def poll_raises():
    c, s, a, b = connected()
    a.raise_on_poll = Boom("poll")
    report("poll raises", error=error_of(lambda: c.ioctl(POLL, RD)))


def stream_raises_mid_handshake(side):
    c, s, a, b = wrapped()
    c.do_handshake()
    s.do_handshake()
    if side == "read":
        a.raise_on_read = Boom("read")
    else:
        a.block_writes = True
        c.do_handshake()  # the client's flight waits inside mbedTLS
        a.block_writes = False
        a.raise_on_write = Boom("write")
    err = error_of(c.do_handshake)
    drive(c, s)  # the same sockets go on where they were
    c.write(b"ping")
    report("stream raises mid-handshake (" + side + ")", error=err, echoed=s.recv(10).decode(),
           version=c.version())


def dtls_poll_raises():
    client_ctx, server_ctx = contexts(dtls=True)
    ca, sb = polling_datagram_pair()
    client = client_ctx.wrap_socket(ca, server_hostname="localhost", do_handshake_on_connect=False)
    client.setblocking(False)
    client.do_handshake()  # the ClientHello goes out
    client.setblocking(True)
    ca.raise_on_poll = Boom("poll")
    err = error_of(client.do_handshake)
    client.setblocking(False)
    report("DTLS poll raises", error=err, finished=dtls_handshake(client, server_ctx, sb))


def nonblocking_stream_not_told():
    # No setblocking(): a stream that answers "would block" makes the socket non-blocking.
    c, s, a, b = wrapped(blocking=None)
    first = c.do_handshake()
    drive(c, s)
    report("TLS stream not told", first=first, version=c.version())


def nonblocking_datagram_not_told():
    client_ctx, server_ctx = contexts(dtls=True)
    ca, sb = polling_datagram_pair()
    client = client_ctx.wrap_socket(ca, server_hostname="localhost", do_handshake_on_connect=False)
    t0 = time.ticks_ms()
    read = client.read(100)
    first = client.do_handshake()
    waited = time.ticks_diff(time.ticks_ms(), t0)
    report("DTLS stream not told", read=read, first=first, waited_ms=waited,
           finished=dtls_handshake(client, server_ctx, sb))


def write_returns_zero():
    c, s, a, b = wrapped()
    a.write_returns_zero = True
    report("stream write returns 0", error=error_of(c.do_handshake))


def errors_stay():
    c, s, a, b = wrapped()
    c.do_handshake()
    b.write(b"\x15\x03\x03\x00\x02\x02\x28")
    first = error_of(c.do_handshake)
    reads_before = a.reads
    again = [error_of(c.do_handshake), error_of(lambda: c.read(1)), error_of(lambda: c.write(b"x"))]
    c.close()
    report("errors stay", first=first, again=again, stream_reads_after=a.reads - reads_before,
           after_close=error_of(lambda: c.read(1)), closed=True)


def dtls_datagram_size():
    client_ctx, server_ctx = contexts(dtls=True, cert="rsa_certfile", key="rsa_keyfile")
    ca, sb = polling_datagram_pair()
    client = client_ctx.wrap_socket(ca, server_hostname="localhost", do_handshake_on_connect=False)
    client.setblocking(False)
    finished = dtls_handshake(client, server_ctx, sb)
    report("DTLS datagram size", finished=finished, largest_server=max(sb.sizes), largest_client=max(ca.sizes),
           server_datagrams=len(sb.sizes))


def cipher_before_and_after():
    c, s, a, b = wrapped()
    before = c.cipher()
    drive(c, s)
    report("cipher", before=before, after=list(c.cipher()), server=list(s.cipher()))


def hostname_checks():
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    nul = error_of(lambda: client_ctx.wrap_socket(pipe_pair()[0], server_hostname="localhost\x00.evil.example",
                                                  do_handshake_on_connect=False))
    client_ctx.verify_mode = ssl.CERT_OPTIONAL
    optional = error_of(lambda: client_ctx.wrap_socket(pipe_pair()[0], do_handshake_on_connect=False))
    client_ctx.check_hostname = False
    unchecked = error_of(lambda: client_ctx.wrap_socket(pipe_pair()[0], do_handshake_on_connect=False))
    report("hostname checks", nul=nul, optional_without_name=optional, unchecked_without_name=unchecked)


# Each case starts from a collected heap (the emulated RP2040 has about 170 KB of it).
for case in (
    write_retried_with_more,
    write_retried_in_pieces,
    write_retried_with_other_bytes,
    poll_after_read_would_block,
    poll_with_write_pending,
    poll_on_failed_socket,
    poll_raises,
    lambda: stream_raises_mid_handshake("read"),
    lambda: stream_raises_mid_handshake("write"),
    dtls_poll_raises,
    nonblocking_stream_not_told,
    nonblocking_datagram_not_told,
    write_returns_zero,
    errors_stay,
    dtls_datagram_size,
    cipher_before_and_after,
    hostname_checks,
):
    gc.collect()
    case()
print("DONE")
