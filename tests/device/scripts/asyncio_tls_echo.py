# asyncio TLS under back-pressure: `connections` TLS streams at once through MicroPython's asyncio
# (open_connection(ssl=) as client, start_server(ssl=) as server), each sending `size` bytes to a
# slow host echo peer and reading the echo back; sha256 and byte counts of both directions per
# connection are reported.
#
# The writes are what the test is about. StreamWriter.write() tries the socket at once and keeps
# what the socket did not take in its buffer; a later write() appends to that buffer, and drain()
# retries the whole buffer. So after a write() that hit MBEDTLS_ERR_SSL_WANT_WRITE (the record is
# encrypted and half sent inside mbedTLS), the retry passes a LONGER buffer than the call that
# failed. Here each batch is 1 to 3 write()s of 1..max_chunk bytes, then one drain(), with sizes
# from a seeded generator, so that retry happens many times per connection.
#
# ARGS: role ("client": connect to host:port; "server": listen on host:port and print LISTENING),
# connections, size, seed, max_chunk, cafile (client) or certfile/keyfile (server),
# server_hostname, stall_s (give up after this long without a byte moving), deadline_s (overall),
# send_buffer/send_buffer_option or full_every/full_ms (see install_socket_shim), and "asyncio/<name>.py"
# files: the asyncio package, installed beside the script when the firmware has no asyncio.
#
# Each connection starts with a 4-digit header (its number), which the host peer does not echo.
# RESULT: {"connections": [{"index", "sent", "sent_sha256", "received", "received_sha256",
# "stalled_writes", "appending_writes", "phase", "error", "ms"}, ...], "stalled": reason or None, ...}
import gc
import hashlib
import io
import json
import os
import select
import ssl
import sys
import time

from test_args import ARGS


def install_asyncio():
    """The qemu board freezes no asyncio (and has no _asyncio): put the package the test sent
    (MicroPython's extmod/asyncio, pure Python) in ./asyncio, rewriting only files that differ."""
    files = [(k[len("asyncio/"):], v) for k, v in ARGS.items() if k.startswith("asyncio/")]
    if not files:
        raise ImportError("no asyncio in this firmware and the test sent no asyncio sources")
    try:
        os.mkdir("asyncio")
    except OSError:
        pass
    for name, path in files:
        with open(path, "rb") as f:
            data = f.read()
        try:
            with open("asyncio/" + name, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same:
            with open("asyncio/" + name, "wb") as f:
                f.write(data)


try:
    import asyncio
except ImportError:
    install_asyncio()
    import asyncio


# Small-int generator (fits 30-bit small ints on 32-bit boards: no long-int allocation):
# x -> (75x + 74) mod 65537 has period 65536 from any x in 0..65535.
M = 65537


def step(x):
    return (x * 75 + 74) % M


# asyncio's stream module does `import socket` inside open_connection/start_server, and import looks
# in sys.modules first: a stand-in there decides what socket.socket() returns. Two ways to make the
# board's socket send buffer fill up, chosen by the test per target:
#
# - send_buffer (unix port): on Linux loopback a socket's send buffer grows to megabytes, so 1 MiB
#   would never see EAGAIN and mbedTLS never WANT_WRITE. A board's lwIP has a few KiB. The stand-in
#   sets SO_SNDBUF (send_buffer_option: [level, option] as the host spells them); a listening
#   socket passes it on to the sockets it accepts.
# - full_every (qemu board): QEMU's user network acknowledges every segment at once and buffers
#   megabytes in host sockets, so no slow host reader can back up the emulated board's lwIP. The
#   socket is wrapped in FillingSocket, which does what a full send buffer does to mbedTLS: now and
#   then it takes only part of a record and then refuses writes (EAGAIN, not writable to poll) for
#   full_ms, so mbedTLS is left holding a half-sent record (WANT_WRITE).


def install_socket_shim(wrap):
    import socket as real

    class Shim:
        pass

    for name in dir(real):
        if not name.startswith("__"):
            setattr(Shim, name, getattr(real, name))

    def make_socket(*args):
        return wrap(real.socket(*args))

    Shim.socket = make_socket
    sys.modules["socket"] = Shim


FULL_EVERY = ARGS.get("full_every")
FULL_MS = ARGS.get("full_ms", 2)
injected = [0]  # send-buffer-full episodes FillingSocket made up


class FillingSocket(io.IOBase):
    """A socket whose send buffer looks full now and then; everything else goes to the socket."""

    def __init__(self, sock, x):
        self.sock = sock
        self.x = x % 65536
        self.full_until = None
        self.poller = select.poll()
        self.poller.register(sock, 0)

    def is_full(self):
        if self.full_until is not None and time.ticks_diff(self.full_until, time.ticks_ms()) > 0:
            return True
        self.full_until = None
        return False

    def write(self, buf):
        if self.is_full():
            return None
        self.x = step(self.x)
        if len(buf) > 1 and self.x % FULL_EVERY == 0:
            n = self.sock.write(memoryview(buf)[:1 + self.x % (len(buf) - 1)])
            self.full_until = time.ticks_add(time.ticks_ms(), FULL_MS)
            injected[0] += 1
            return n
        return self.sock.write(buf)

    def readinto(self, buf):
        return self.sock.readinto(buf)

    def ioctl(self, request, arg):
        if request == 3:  # MP_STREAM_POLL
            self.poller.modify(self.sock, arg & (select.POLLIN | select.POLLOUT))
            ready = 0
            for _, ev in self.poller.ipoll(0):
                ready = ev
            if ready & select.POLLOUT and self.is_full():
                ready &= ~select.POLLOUT
            return ready
        if request == 4:  # MP_STREAM_CLOSE
            self.close()
            return 0
        return -22  # EINVAL

    def close(self):
        try:
            self.poller.unregister(self.sock)
        except (OSError, KeyError):
            pass
        self.sock.close()

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    def setsockopt(self, *args):
        self.sock.setsockopt(*args)

    def connect(self, addr):
        self.sock.connect(addr)

    def bind(self, addr):
        self.sock.bind(addr)

    def listen(self, backlog):
        self.sock.listen(backlog)

    def accept(self):
        conn, addr = self.sock.accept()
        self.x = step(self.x)  # each accepted socket fills up at other moments
        return FillingSocket(conn, self.x), addr


if ARGS.get("send_buffer"):
    level, option = ARGS["send_buffer_option"]

    def small_send_buffer(s):
        s.setsockopt(level, option, ARGS["send_buffer"])
        return s

    install_socket_shim(small_send_buffer)
elif FULL_EVERY:
    sockets_made = [0]

    def filling(s):
        sockets_made[0] += 1
        return FillingSocket(s, ARGS["seed"] + 31 * sockets_made[0])

    install_socket_shim(filling)

ROLE = ARGS["role"]
COUNT = ARGS["connections"]
SIZE = ARGS["size"]
MAX_CHUNK = ARGS.get("max_chunk", 8000)
STALL_MS = int(ARGS.get("stall_s", 20) * 1000)
DEADLINE_MS = int(ARGS.get("deadline_s", 600) * 1000)
READ_CHUNK = 4096
HEADER = 4  # the connection's number, 4 ASCII digits

# What the connections send: windows into one fixed pseudo-random block, at a position that
# depends on the connection and on the offset, so a lost or repeated byte changes the hash. The
# block is immutable: StreamWriter may keep a memoryview of it in its buffer.
PERIOD = 4093  # prime, so the windows do not line up with the chunk sizes
x = ARGS["seed"] % 65536
block = bytearray(PERIOD + MAX_CHUNK)
for i in range(PERIOD):
    x = step(x)
    block[i] = x & 0xFF
block[PERIOD:] = block[:MAX_CHUNK]
BLOCK = memoryview(bytes(block))
del block
gc.collect()


class Conn:
    def __init__(self, index):
        self.index = index
        self.phase = "handshake"
        self.sent = 0
        self.received = 0
        self.sent_hash = hashlib.sha256()
        self.received_hash = hashlib.sha256()
        self.stalled_writes = 0  # write()s the socket did not take whole (WANT_WRITE or a partial write)
        self.appending_writes = 0  # write()s appended to unsent bytes: the next retry is longer
        self.unsent = None  # bytes left in StreamWriter's buffer when the run gave up
        self.error = None
        self.done = False
        self.started = time.ticks_ms()
        self.ms = None
        self.writer = None
        self.task = asyncio.current_task()

    def report(self):
        buf = getattr(self.writer, "out_buf", None)
        return {"index": self.index, "phase": self.phase, "sent": self.sent,
                "sent_sha256": self.sent_hash.digest().hex(), "received": self.received,
                "received_sha256": self.received_hash.digest().hex(),
                "stalled_writes": self.stalled_writes, "appending_writes": self.appending_writes,
                "unsent": self.unsent if self.unsent is not None else (len(buf) if buf is not None else None),
                "error": self.error, "ms": self.ms}


conns = []


def unsent(writer):
    """Bytes StreamWriter holds back (its buffer in MicroPython's stream.py); None if unknown."""
    buf = getattr(writer, "out_buf", None)
    return None if buf is None else len(buf)


async def send(conn, writer):
    x = (ARGS["seed"] + 7919 * (conn.index + 1)) % 65536
    start = (conn.index * 1009) % PERIOD
    while conn.sent < SIZE:
        x = step(x)
        for _ in range(1 + x % 3):
            x = step(x)
            n = min(1 + x * MAX_CHUNK // M, SIZE - conn.sent)
            if n <= 0:
                break
            p = (start + conn.sent) % PERIOD
            chunk = BLOCK[p:p + n]
            before = unsent(writer)
            writer.write(chunk)
            conn.sent_hash.update(chunk)
            conn.sent += n
            after = unsent(writer)
            if before:
                conn.appending_writes += 1
            elif after:
                conn.stalled_writes += 1
        await writer.drain()


async def receive(conn, reader):
    buf = bytearray(READ_CHUNK)
    mv = memoryview(buf)
    while conn.received < SIZE:
        n = await reader.readinto(buf)
        if n is None:  # woken, but no whole record yet
            continue
        if n == 0:
            conn.error = conn.error or f"end of stream after {conn.received} bytes of echo"
            return
        conn.received_hash.update(mv[:n])
        conn.received += n


async def session(conn, reader, writer):
    conn.writer = writer
    receiving = None
    try:
        writer.write(b"%04d" % conn.index)  # drives the handshake, too
        await writer.drain()
        conn.phase = "sending"
        receiving = asyncio.create_task(receive(conn, reader))
        await send(conn, writer)
        conn.phase = "receiving"
        await receiving
        conn.phase = "closing"
    except asyncio.CancelledError:
        conn.unsent = unsent(writer)
        if receiving is not None:
            receiving.cancel()
        raise
    except Exception as e:
        conn.error = f"{type(e).__name__}: {e}"
        conn.unsent = unsent(writer)
        if receiving is not None:
            receiving.cancel()
    finally:
        conn.ms = time.ticks_diff(time.ticks_ms(), conn.started)
        try:
            writer.close()
            await writer.wait_closed()  # close_notify, best effort
        except Exception as e:
            conn.error = conn.error or f"close: {type(e).__name__}: {e}"
        if conn.phase == "closing":
            conn.phase = "closed"
        conn.done = True


async def client(index, ctx):
    conn = Conn(index)
    conns.append(conn)
    try:
        reader, writer = await asyncio.open_connection(ARGS["host"], ARGS["port"], ssl=ctx,
                                                       server_hostname=ARGS.get("server_hostname", "localhost"))
    except Exception as e:
        conn.error = f"connect: {type(e).__name__}: {e}"
        conn.done = True
        return
    await session(conn, reader, writer)


async def serve(reader, writer):
    conn = Conn(len(conns))
    conns.append(conn)
    await session(conn, reader, writer)


def moved():
    return sum(c.sent + c.received for c in conns) + len(conns)


async def watch(finished):
    """Wait until `finished()`; give up when no byte moved for stall_s or after deadline_s.
    Returns why it gave up, or None."""
    start = last_change = last_print = time.ticks_ms()
    last = moved()
    while not finished():
        await asyncio.sleep_ms(100)
        now = time.ticks_ms()
        total = moved()
        if total != last:
            last, last_change = total, now
        if time.ticks_diff(now, last_print) >= 10000:  # a sign of life for boards with a silence deadline
            last_print = now
            print("PROGRESS", [(c.sent, c.received) for c in conns])
        if time.ticks_diff(now, last_change) > STALL_MS:
            return f"no byte moved on any connection for {STALL_MS // 1000} s"
        if time.ticks_diff(now, start) > DEADLINE_MS:
            return f"not finished within {DEADLINE_MS // 1000} s"
    return None


async def main():
    start = time.ticks_ms()
    server = None
    if ROLE == "client":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=ARGS["cafile"])
        for i in range(COUNT):
            asyncio.create_task(client(i, ctx))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
        server = await asyncio.start_server(serve, ARGS["host"], ARGS["port"], backlog=COUNT, ssl=ctx)
        print("LISTENING", ARGS["port"])
    stalled = await watch(lambda: len(conns) == COUNT and all(c.done for c in conns))
    if stalled:
        # Cancel what is still running; its finally blocks close the connections (the host peers
        # then see the end of their streams).
        for c in conns:
            if not c.done:
                c.task.cancel()
        await asyncio.sleep_ms(500)
    if server is not None:
        server.close()
        await server.wait_closed()
    gc.collect()
    print("RESULT " + json.dumps({
        "role": ROLE, "stalled": stalled, "ms": time.ticks_diff(time.ticks_ms(), start),
        "mem_free": gc.mem_free(), "injected_full": injected[0], "connections": [c.report() for c in conns]}))


asyncio.run(main())
