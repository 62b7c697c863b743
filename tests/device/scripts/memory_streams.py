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
