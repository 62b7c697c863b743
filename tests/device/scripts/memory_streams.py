# In-memory stream endpoints for TLS without a network: two io.IOBase pipes joined back to back.
# A read with nothing queued answers None, which the stream layer turns into EAGAIN, so the
# endpoints behave like non-blocking sockets and one script can drive both sides.
import io
import ssl


class Pipe(io.IOBase):
    def __init__(self, inbox, outbox):
        self.inbox = inbox
        self.outbox = outbox
        self.closed_by_peer = False
        self.closed = False

    def readinto(self, buf):
        if not self.inbox:
            return 0 if self.closed_by_peer else None
        n = min(len(buf), len(self.inbox))
        buf[:n] = self.inbox[:n]
        self.inbox[:] = self.inbox[n:]
        return n

    def write(self, buf):
        self.outbox.extend(buf)
        return len(buf)

    def setblocking(self, flag):
        pass

    def ioctl(self, req, arg):
        if req == 4:  # MP_STREAM_CLOSE
            self.closed = True
        return 0


def pipe_pair():
    a_to_b = bytearray()
    b_to_a = bytearray()
    return Pipe(b_to_a, a_to_b), Pipe(a_to_b, b_to_a)


def drive(client, server, limit=200):
    """Alternate the two handshakes until both finish."""
    done_c = done_s = False
    for _ in range(limit):
        if not done_c:
            done_c = client.do_handshake()
        if not done_s:
            done_s = server.do_handshake()
        if done_c and done_s:
            return
    raise OSError("handshake did not finish")


def contexts(args):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(args["certfile"], args["keyfile"])
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cafile=args["cafile"])
    return client_ctx, server_ctx


def connected_pair(client_ctx, server_ctx, hostname):
    a, b = pipe_pair()
    client = client_ctx.wrap_socket(a, server_hostname=hostname, do_handshake_on_connect=False)
    server = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    client.setblocking(False)
    server.setblocking(False)
    drive(client, server)
    return client, server


class DatagramPipe(io.IOBase):
    """One end of an in-memory datagram link: each write is one datagram, each read returns one."""

    def __init__(self, inbox, outbox):
        self.inbox = inbox
        self.outbox = outbox

    def readinto(self, buf):
        if not self.inbox:
            return None
        datagram = self.inbox.pop(0)
        n = min(len(buf), len(datagram))
        buf[:n] = datagram[:n]
        return n

    def write(self, buf):
        self.outbox.append(bytes(buf))
        return len(buf)

    def setblocking(self, flag):
        pass

    def ioctl(self, req, arg):
        return 0


def datagram_pair():
    a_to_b = []
    b_to_a = []
    return DatagramPipe(b_to_a, a_to_b), DatagramPipe(a_to_b, b_to_a)


class FaultyPipe(io.IOBase):
    """One end of an in-memory byte link that answers poll truthfully, like a non-blocking socket,
    and that a test can throttle or make fail:
      block_reads / block_writes: the direction answers "would block" (None) and polls not ready;
      write_budget: bytes taken before writes answer "would block" (None: no limit);
      raise_on_read / raise_on_write / raise_on_poll: an exception raised once, then cleared;
      write_returns_zero: write takes nothing and says 0."""

    def __init__(self, inbox, outbox):
        self.inbox = inbox
        self.outbox = outbox
        self.block_reads = False
        self.block_writes = False
        self.write_budget = None
        self.raise_on_read = None
        self.raise_on_write = None
        self.raise_on_poll = None
        self.write_returns_zero = False
        self.last_poll = None
        self.reads = 0

    def setblocking(self, flag):
        pass

    def readinto(self, buf):
        self.reads += 1
        if self.raise_on_read is not None:
            exc, self.raise_on_read = self.raise_on_read, None
            raise exc
        if self.block_reads or not self.inbox:
            return None
        n = min(len(buf), len(self.inbox))
        buf[:n] = self.inbox[:n]
        self.inbox[:] = self.inbox[n:]
        return n

    def write(self, buf):
        if self.raise_on_write is not None:
            exc, self.raise_on_write = self.raise_on_write, None
            raise exc
        if self.write_returns_zero:
            return 0
        if self.block_writes or self.write_budget == 0:
            return None
        n = len(buf)
        if self.write_budget is not None:
            n = min(n, self.write_budget)
            self.write_budget -= n
        self.outbox.extend(bytes(buf[:n]))
        return n

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL
            self.last_poll = arg
            if self.raise_on_poll is not None:
                exc, self.raise_on_poll = self.raise_on_poll, None
                raise exc
            ready = 0
            if arg & 1 and not self.block_reads and self.inbox:
                ready |= 1
            if arg & 4 and not self.block_writes and self.write_budget != 0:
                ready |= 4
            return ready
        return 0


def faulty_pair():
    a_to_b = bytearray()
    b_to_a = bytearray()
    return FaultyPipe(b_to_a, a_to_b), FaultyPipe(a_to_b, b_to_a)


class PollingDatagramPipe(DatagramPipe):
    """A datagram end that answers poll truthfully and can raise from poll once; it records the size
    of every datagram it sends."""

    def __init__(self, inbox, outbox):
        super().__init__(inbox, outbox)
        self.raise_on_poll = None
        self.sizes = []

    def write(self, buf):
        self.sizes.append(len(buf))
        return super().write(buf)

    def ioctl(self, req, arg):
        if req == 3:
            if self.raise_on_poll is not None:
                exc, self.raise_on_poll = self.raise_on_poll, None
                raise exc
            return (arg & 1 if self.inbox else 0) | (arg & 4)
        return 0


def polling_datagram_pair():
    a_to_b = []
    b_to_a = []
    return PollingDatagramPipe(b_to_a, a_to_b), PollingDatagramPipe(a_to_b, b_to_a)


def dtls_handshake(client, server_ctx, sb, limit=400, keep=None):
    """Drive a DTLS client against a new server socket on `sb`, through HelloVerify; the server
    socket is appended to `keep` when given."""
    server = None
    for _ in range(limit):
        if client.do_handshake() and server is not None and server.do_handshake():
            if keep is not None:
                keep.append(server)
            return True
        if sb.inbox:
            if server is None:
                server = server_ctx.wrap_socket(sb, server_side=True, client_id=b"client-1",
                                                do_handshake_on_connect=False)
                server.setblocking(False)
            try:
                server.do_handshake()
            except OSError as e:
                if e.args[0] != -0x6A80:  # MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED: wrap again
                    raise
                server = None
    return False


HELLO_VERIFY_REQUIRED = -0x6A80


def dtls_connected(client_ctx, server_ctx, client_id=b"client-1", limit=100):
    """A DTLS client and server over in-memory datagrams, both handshakes driven to the end with
    HelloVerify: the server's first attempt raises HELLO_VERIFY_REQUIRED and a new wrap on the same
    link goes on.  Returns (client, server, HelloVerify rounds, whether both finished)."""
    a, b = datagram_pair()
    client = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    client.setblocking(False)

    def wrap_server():
        s = server_ctx.wrap_socket(b, server_side=True, client_id=client_id, do_handshake_on_connect=False)
        s.setblocking(False)
        return s

    server = wrap_server()
    hello_verify = 0
    done_c = done_s = False
    for _ in range(limit):
        if not done_c:
            done_c = client.do_handshake()
        if not done_s:
            try:
                done_s = server.do_handshake()
            except OSError as e:
                if e.args[0] != HELLO_VERIFY_REQUIRED:
                    raise
                hello_verify += 1
                server = wrap_server()
        if done_c and done_s:
            break
    return client, server, hello_verify, done_c and done_s
