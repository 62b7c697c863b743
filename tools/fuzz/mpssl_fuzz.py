# The Python half of mpssl's libFuzzer harnesses, frozen into the fuzz binaries (tools/fuzz/harness.c
# calls one driver per input) and run by MicroPython, not CPython.
#
# Drivers (one binary each, build/fuzz/fuzz-<driver>):
#   certs(data)      certificate and key loading: PEM and DER, bundles; a chain or key that loads
#                    serves a handshake in memory, and the client calls getpeercert() on it
#   ciphers(data)    set_ciphers with names and values decoded from the input, those values as the
#                    other arguments of the API, and a handshake with the cipher list that loaded
#   handshake(data)  an mpssl server or client whose peer is the input: TLS or DTLS, blocking or
#                    not, then reads, writes and polls after whatever happened
# seeds(driver, dir) writes a driver's seed corpus; for handshake it records real handshakes
# between two mpssl sockets (the fuzz build's randomness and clock are fixed, so they replay).
#
# Whatever a driver raises is ignored by the harness: only crashes and sanitizer reports count.
import io
import os
import select
import ssl

MP_STREAM_POLL = 3
MP_STREAM_CLOSE = 4
ETIMEDOUT = 110
HELLO_VERIFY_REQUIRED = -0x6A80
CLIENT_ID = b"fuzz-peer:4433"
HOSTNAME = "localhost"
MESSAGE = b"mpssl fuzz: application data\n"
BIG = b"0123456789abcdef" * 1300  # more than one record (16 KiB) and than one datagram

# Cipher lists of the handshake configurations with the ALT_CIPHERS bit (the defaults choose
# ChaCha20-Poly1305): AES-GCM with SHA-384 for the EC server, RSA key exchange with CBC for RSA.
ALT_CIPHERS_EC = "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"
ALT_CIPHERS_RSA = "TLS-RSA-WITH-AES-128-CBC-SHA256"

PKI = {}
PKI_FILES = (
    "root_ca.crt.pem",
    "server_ec.chain.pem",
    "server_ec.key.pem",
    "server_rsa.chain.pem",
    "server_rsa.key.pem",
    "client_ec.chain.pem",
    "client_ec.key.pem",
    "fuzz_leaf.key.pem",
)
# Keys the certs driver tries with a certificate from the input: the self-signed seeds' own
# key first (those can verify against themselves, so getpeercert() builds its dict).
CERT_KEYS = ("fuzz_leaf.key.pem", "server_ec.key.pem", "server_rsa.key.pem")
DATA_DIR = ""
EPOCH = 0
VERBOSE = False  # MPSSL_FUZZ_VERBOSE=1: the harness sets it, and each step says what it came to


def external(data):
    """The harness replaces this with a copy in an exact-size C buffer (ASan sees overreads)."""
    return data


def setup(data_dir, epoch):
    """Called once by the harness (which has mounted the host file system): the PKI, the clock."""
    global DATA_DIR, EPOCH
    DATA_DIR = data_dir
    EPOCH = epoch
    for name in PKI_FILES:
        with open(data_dir + "/pki/" + name, "rb") as f:
            PKI[name] = f.read()


def attempt(call, *args, **kwargs):
    """call(*args, **kwargs), or None when it raises (what the drivers expect of bad input)."""
    try:
        result = call(*args, **kwargs)
    except Exception as e:
        if VERBOSE:
            print("  ", call, "raised", repr(e))
        look_at(e)
        return None
    if VERBOSE:
        print("  ", call, "->", repr(result)[:100])
    return result


def look_at(exc):
    """What an application reads of an exception: the text, and the attributes mpssl's exceptions
    compute from their args (reason, mbedtls_code, verify_code, verify_message)."""
    try:
        str(exc)
        for name in ("reason", "mbedtls_code", "verify_code", "verify_message", "errno"):
            getattr(exc, name, None)
    except Exception:
        pass


# ---- in-memory streams ----


class Injected(OSError):
    """An error the input makes the stream raise (the socket must survive it)."""


# Flags in a chunk's header, acted on when a read reaches the chunk.
GAP = 1  # that read answers "would block" first
READ_FAILS = 2  # that read raises Injected first
WRITE_BLOCKS = 4  # the next write answers "would block"
WRITE_SHORT = 8  # the next write takes half of what it is given

MAX_CHUNK = 0x0FFF


def chunks(data, start=0):
    """The peer's part of a handshake input: chunks of a 2-byte header (flags in the high 4 bits,
    the length in the low 12) and that many bytes; a short last chunk is what is left."""
    out = []
    i = start
    n = len(data)
    while i + 2 <= n:
        head = (data[i] << 8) | data[i + 1]
        length = head & MAX_CHUNK
        out.append((head >> 12, data[i + 2 : i + 2 + length]))
        i += 2 + length
    return out


def frame(payloads, flags=0):
    """The inverse of chunks(): one chunk per payload (split when longer than a chunk holds)."""
    out = bytearray()
    for payload in payloads:
        for i in range(0, max(len(payload), 1), MAX_CHUNK):
            part = payload[i : i + MAX_CHUNK]
            head = (flags << 12) | len(part)
            out.append(head >> 8)
            out.append(head & 0xFF)
            out.extend(part)
    return bytes(out)


class PeerStream(io.IOBase):
    """The peer as mpssl's wrapped stream sees it: reads replay the input's chunks (one datagram
    each for DTLS), writes are taken and counted. The end of the input is the end of the stream
    (TLS), or no datagram (DTLS: a timeout when blocking, "would block" when not)."""

    def __init__(self, parts, datagram, blocking):
        self.parts = parts
        self.index = 0
        self.offset = 0
        self.armed = -1  # the chunk whose flags have been acted on
        self.datagram = datagram
        self.blocking = blocking
        self.write_flags = 0
        self.sent = 0
        self.exhausted = 0
        self.closed = False

    def setblocking(self, flag):
        self.blocking = bool(flag)

    def readinto(self, buf):
        while self.index < len(self.parts):
            flags, payload = self.parts[self.index]
            if self.armed != self.index:
                self.armed = self.index
                self.write_flags |= flags & (WRITE_BLOCKS | WRITE_SHORT)
                if flags & READ_FAILS:
                    raise Injected(104)
                if flags & GAP:
                    return None
            if self.datagram:
                n = min(len(buf), len(payload))
                buf[:n] = payload[:n]
                self.index += 1
                return n
            if self.offset < len(payload):
                n = min(len(buf), len(payload) - self.offset)
                buf[:n] = payload[self.offset : self.offset + n]
                self.offset += n
                return n
            self.index += 1
            self.offset = 0
        self.exhausted += 1
        if not self.datagram:
            return 0
        if self.blocking:
            raise OSError(ETIMEDOUT)
        return None

    def write(self, buf):
        if self.write_flags & WRITE_BLOCKS:
            self.write_flags &= ~WRITE_BLOCKS
            return None
        n = len(buf)
        if self.write_flags & WRITE_SHORT and n > 1:
            self.write_flags &= ~WRITE_SHORT
            n //= 2
        self.sent += n
        return n

    def ioctl(self, req, arg):
        if req == MP_STREAM_POLL:
            return arg  # always ready: a blocking call never waits on the input
        if req == MP_STREAM_CLOSE:
            self.closed = True
        return 0


class MemoryEnd(io.IOBase):
    """One end of an in-memory link between two mpssl sockets; every write is also kept in `log`
    (the recording a seed is made of). Non-blocking by default; made blocking (setblocking(True)
    through the SSL socket), a read with nothing queued raises ETIMEDOUT, as a socket whose
    timeout expired does, instead of waiting for ever."""

    def __init__(self, inbox, outbox, datagram):
        self.inbox = inbox
        self.outbox = outbox
        self.datagram = datagram
        self.blocking = False
        self.log = []

    def setblocking(self, flag):
        self.blocking = bool(flag)

    def readinto(self, buf):
        if not self.inbox:
            if self.blocking:
                raise OSError(ETIMEDOUT)
            return None
        if self.datagram:
            datagram = self.inbox.pop(0)
            n = min(len(buf), len(datagram))
            buf[:n] = datagram[:n]
            return n
        data = self.inbox[0]
        n = min(len(buf), len(data))
        buf[:n] = data[:n]
        if n == len(data):
            self.inbox.pop(0)
        else:
            self.inbox[0] = data[n:]
        return n

    def write(self, buf):
        data = bytes(buf)
        self.outbox.append(data)
        self.log.append(data)
        return len(data)

    def ioctl(self, req, arg):
        if req == MP_STREAM_POLL:
            # Readable when something is queued, or when a read would raise (blocking).
            ready = arg & select.POLLOUT
            if self.inbox or self.blocking:
                ready |= arg & select.POLLIN
            return ready
        return 0


def memory_link(datagram):
    a_to_b = []
    b_to_a = []
    return MemoryEnd(b_to_a, a_to_b, datagram), MemoryEnd(a_to_b, b_to_a, datagram)


def hello_verify(exc):
    return isinstance(exc, OSError) and exc.args and exc.args[0] == HELLO_VERIFY_REQUIRED


def wrap(ctx, stream, server, dtls, on_connect=False, hostname=HOSTNAME):
    if server:
        if dtls:
            return ctx.wrap_socket(stream, server_side=True, do_handshake_on_connect=on_connect, client_id=CLIENT_ID)
        return ctx.wrap_socket(stream, server_side=True, do_handshake_on_connect=on_connect)
    return ctx.wrap_socket(stream, server_hostname=hostname, do_handshake_on_connect=on_connect)


def connect(client_ctx, server_ctx, dtls=False, hostname=HOSTNAME, limit=100):
    """Two mpssl sockets over a memory link, non-blocking, handshaken in turn (a DTLS server is
    wrapped again after HelloVerify, as the documented DTLS server does). Returns
    (client, server, client_end, server_end, done); the handshake may have failed."""
    client_end, server_end = memory_link(dtls)
    client = wrap(client_ctx, client_end, False, dtls, hostname=hostname)
    server = wrap(server_ctx, server_end, True, dtls)
    client.setblocking(False)
    server.setblocking(False)
    client_done = server_done = False
    for _ in range(limit):
        if not client_done:
            client_done = client.do_handshake()
        if not server_done:
            try:
                server_done = server.do_handshake()
            except OSError as e:
                if not (dtls and hello_verify(e)):
                    raise
                server = wrap(server_ctx, server_end, True, dtls)
                server.setblocking(False)
        if client_done and server_done:
            break
    return client, server, client_end, server_end, client_done and server_done


def talk(client, server):
    """Application data both ways, then close_notify from both."""
    for sock in (client, server):
        attempt(sock.write, MESSAGE)
    for sock in (server, client):
        for _ in range(4):
            if not attempt(sock.recv, 2048):
                break
    for sock in (client, server):
        attempt(sock.close)


def inspect(sock):
    for call in (sock.getpeercert, sock.cipher, sock.version, sock.verify_result):
        attempt(call)
    attempt(sock.getpeercert, True)


def poll_once(sock):
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLOUT)
    poller.poll(0)
    poller.modify(sock, select.POLLIN)
    poller.poll(0)
    poller.unregister(sock)


def drain(sock):
    for _ in range(32):
        data = sock.recv(2048)
        if data == b"":
            return


def exercise(sock):
    """What an application does next, whatever the handshake came to: look at the peer, write,
    read, poll, write more than a record, close, and then try it all again on the closed socket."""
    inspect(sock)
    for _ in range(2):
        attempt(poll_once, sock)
        attempt(sock.ioctl, MP_STREAM_POLL, select.POLLIN | select.POLLOUT)
        attempt(sock.write, MESSAGE)
        attempt(drain, sock)
        attempt(sock.readinto, bytearray(64))
        attempt(sock.read, 16)
        attempt(sock.write, BIG)
        attempt(sock.write, MESSAGE)
        attempt(sock.do_handshake)
        inspect(sock)
        attempt(sock.close)
    attempt(sock.setblocking, True)


# ---- driver: the handshake and record layer from the peer's side ----

# The first byte of a handshake input.
ROLE_CLIENT = 0x01  # mpssl is the client (else the server)
DTLS = 0x02
NONBLOCKING = 0x04
RSA = 0x08  # the server's certificate is RSA (else EC)
CLIENT_AUTH = 0x10  # the server requires a client certificate; the client has one
VERIFY = 0x20  # the client verifies the server (else CERT_NONE)
ON_CONNECT = 0x40  # blocking only: wrap_socket does the handshake
ALT_CIPHERS = 0x80  # both sides allow one cipher suite, not the defaults


def context(cfg, server):
    dtls = cfg & DTLS
    if server:
        ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER if dtls else ssl.PROTOCOL_TLS_SERVER)
        name = "server_rsa" if cfg & RSA else "server_ec"
        ctx.load_cert_chain(PKI[name + ".chain.pem"], PKI[name + ".key.pem"])
        if cfg & CLIENT_AUTH:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=PKI["root_ca.crt.pem"])
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT if dtls else ssl.PROTOCOL_TLS_CLIENT)
        if cfg & VERIFY:
            ctx.load_verify_locations(cadata=PKI["root_ca.crt.pem"])
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if cfg & CLIENT_AUTH:
            ctx.load_cert_chain(PKI["client_ec.chain.pem"], PKI["client_ec.key.pem"])
    if cfg & ALT_CIPHERS:
        ctx.set_ciphers([ALT_CIPHERS_RSA if cfg & RSA else ALT_CIPHERS_EC])
    return ctx


def finish(sock, stream):
    """do_handshake until done; an injected stream error is retried, as an application would."""
    for _ in range(200):
        try:
            if sock.do_handshake():
                return
        except Injected:
            continue
        if stream.exhausted > 4:
            return


def handshake(data):
    """The peer's bytes from the input, framed by chunks(), after a configuration byte."""
    if not data:
        return
    cfg = data[0]
    server = not cfg & ROLE_CLIENT
    dtls = bool(cfg & DTLS)
    blocking = not cfg & NONBLOCKING
    on_connect = blocking and bool(cfg & ON_CONNECT)
    stream = PeerStream(chunks(data, 1), dtls, blocking)
    ctx = context(cfg, server)
    sock = None
    for _ in range(3):
        try:
            sock = wrap(ctx, stream, server, dtls, on_connect)
            if not on_connect:
                sock.setblocking(blocking)
                finish(sock, stream)
            if VERBOSE:
                print(f"handshake config 0x{cfg:02x}:", sock.cipher())
            break
        except Exception as e:
            if VERBOSE:
                print(f"handshake config 0x{cfg:02x} raised", repr(e))
            look_at(e)
            if not (server and dtls and hello_verify(e)):
                break
    if sock is not None:
        exercise(sock)


def record(cfg):
    """A real handshake between two mpssl sockets with configuration cfg (its ROLE_CLIENT,
    NONBLOCKING and ON_CONNECT bits do not matter), application data and close_notify both ways.
    Returns (what the client wrote, what the server wrote, whether the handshake finished)."""
    dtls = bool(cfg & DTLS)
    client_ctx = context(cfg, False)
    server_ctx = context(cfg, True)
    client, server, client_end, server_end, done = connect(client_ctx, server_ctx, dtls)
    if done:
        talk(client, server)
    return client_end.log, server_end.log, done


def handshake_seeds():
    """Seeds of the handshake driver: each recorded conversation, replayed by either side, in
    every mode; non-blocking ones also with a pause before every chunk or blocked writes."""
    out = []
    failed = []
    for base in range(256):
        if base & (ROLE_CLIENT | NONBLOCKING | ON_CONNECT):
            continue
        client_log, server_log, done = record(base)
        if not done:
            failed.append(base)
        for role, peer_log in ((0, client_log), (ROLE_CLIENT, server_log)):
            for mode in (0, ON_CONNECT, NONBLOCKING):
                cfg = bytes([base | role | mode])
                out.append(cfg + frame(peer_log))
                if mode == NONBLOCKING:
                    out.append(cfg + frame(peer_log, GAP))
                    out.append(cfg + frame(peer_log, GAP | WRITE_BLOCKS))
    if failed:
        print("handshake seeds: these configurations did not finish their handshake:", failed)
    return out


# ---- driver: certificates and keys ----


def serve_and_inspect(server_ctx, trust, check_hostname):
    """A handshake with server_ctx's credentials; the client trusts `trust` (and the test root)
    and, when verification passes, getpeercert() builds its dict from the served certificate."""
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.verify_mode = ssl.CERT_OPTIONAL
    client_ctx.check_hostname = check_hostname
    client_ctx.load_verify_locations(cadata=PKI["root_ca.crt.pem"])
    if trust is not None:
        attempt(client_ctx.load_verify_locations, trust)
    client, server, _, _, done = connect(client_ctx, server_ctx)
    inspect(client)
    if done:
        talk(client, server)


def verify_server(client_ctx):
    server_ctx = load_chain(PKI["server_ec.chain.pem"], PKI["server_ec.key.pem"])
    client, server, _, _, done = connect(client_ctx, server_ctx)
    inspect(client)
    if done:
        talk(client, server)


def load_chain(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def certs(data):
    """Everything that reads certificate or key data, with the input as that data."""
    check_hostname = len(data) % 2 == 0
    # A PEM bundle of chain and key, as load_cert_chain(data, data).
    ctx = attempt(load_chain, data, data)
    if ctx is not None:
        attempt(serve_and_inspect, ctx, data, check_hostname)
    # A chain: with a known key it may be served, and then getpeercert() reads it.
    for key in CERT_KEYS:
        try:
            ctx = load_chain(data, PKI[key])
        except ValueError as e:
            if "match" not in str(e):
                break  # the chain did not parse: another key will not help
            continue
        except Exception:
            break
        attempt(serve_and_inspect, ctx, data, check_hostname)
        break
    # A key: with a known chain it may sign a handshake.
    for name in ("server_ec", "server_rsa"):
        ctx = attempt(load_chain, PKI[name + ".chain.pem"], data)
        if ctx is not None:
            attempt(serve_and_inspect, ctx, None, check_hostname)
            break
    # Trust anchors, in each of the ways the API takes them, into a context whose configuration a
    # socket shares (so the context copies it first); a store that loads verifies a server.
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.verify_mode = ssl.CERT_NONE
    stream, _ = memory_link(False)
    sharing = probe.wrap_socket(stream, do_handshake_on_connect=False)
    attempt(probe.load_verify_locations, data)  # bytes in the first place are the data
    attempt(probe.load_verify_locations, None, data)
    attempt(probe.load_cert_chain, data, data)
    attempt(sharing.close)
    try:
        trusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        trusting.load_verify_locations(cadata=data)
    except Exception:
        trusting = None
    if trusting is not None:
        attempt(verify_server, trusting)
    text = attempt(str, data, "utf-8")
    if text is not None:
        attempt(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations, None, external(text))
    # The module-level wrap_socket parses key, cert and cadata itself.
    stream, _ = memory_link(False)
    sock = attempt(ssl.wrap_socket, stream, key=data, cert=data, cadata=data, do_handshake=False)
    if sock is not None:
        attempt(sock.close)


def certs_seeds():
    """Every file of the PKI (PEM and DER certificates, chains, bundles, keys in each encoding),
    and chains with their key in one PEM file."""
    out = []
    names = sorted(os.listdir(DATA_DIR + "/pki"))
    for name in names:
        with open(DATA_DIR + "/pki/" + name, "rb") as f:
            out.append(f.read())
    for name in names:
        if name.endswith(".chain.pem") or (name.startswith("fuzz_") and name.endswith(".crt.pem")):
            stem = name.split(".")[0]
            key = "fuzz_leaf.key.pem" if stem.startswith("fuzz_") else stem + ".key.pem"
            if key in names:
                with open(DATA_DIR + "/pki/" + name, "rb") as f:
                    chain = f.read()
                with open(DATA_DIR + "/pki/" + key, "rb") as f:
                    out.append(chain + f.read())
    return out


# ---- driver: set_ciphers and the API's arguments ----

PROTOCOLS = (
    ssl.PROTOCOL_TLS_CLIENT,
    ssl.PROTOCOL_TLS_SERVER,
    ssl.PROTOCOL_DTLS_CLIENT,
    ssl.PROTOCOL_DTLS_SERVER,
)
SERVERS = (ssl.PROTOCOL_TLS_SERVER, ssl.PROTOCOL_DTLS_SERVER)
DTLS_PROTOCOLS = (ssl.PROTOCOL_DTLS_CLIENT, ssl.PROTOCOL_DTLS_SERVER)
# The first byte of a ciphers input.
SHAPE = 0x0C  # 0: list, 1: tuple, 2: the first value alone, 3: a dict of the values
ARGUMENTS = 0x10  # also pass the values as other arguments
PAIR = 0x20  # a handshake with the cipher list, if it loads
PAIR_RSA = 0x40  # that handshake's server has the RSA certificate (else EC)
SHARED = 0x80  # a socket shares the context's configuration when the list is set (it is copied)


def value(piece):
    """One value of a ciphers input, by its first character; anything else is a name (str, or
    bytes when it is not UTF-8)."""
    tag = piece[:1]
    body = piece[1:]
    if tag == b"#":
        return attempt(int, body) or int.from_bytes(body, "big")
    if tag == b"-":
        return -int.from_bytes(body, "big")
    if tag == b"$":
        return external(body)
    if tag == b"~":
        return None
    if tag == b"?":
        return len(body) % 2 == 1
    if tag == b"[":
        return [value(body)]
    if tag == b"(":
        return (value(body),)
    if tag == b"%":
        return bytearray(body)
    if tag == b"^":
        return memoryview(body)
    if tag == b"!":
        return len(body) / 3
    text = attempt(str, piece, "utf-8")
    return external(text if text is not None else piece)


def values(data):
    return [value(piece) for piece in data[1:].split(b",")]


def is_path(v):
    return isinstance(v, str)


def arguments(ctx, items):
    """The decoded values in every other place the API takes an argument (never as a path)."""
    stream, _ = memory_link(False)
    attempt(ssl.create_default_context)
    for v in items[:6]:
        attempt(ssl.SSLContext, v)
        for attr in ("verify_mode", "check_hostname", "verify_callback"):
            attempt(setattr, ctx, attr, v)
        hostname = v if is_path(v) else None
        sock = attempt(ctx.wrap_socket, stream, server_side=v, do_handshake_on_connect=False,
                       server_hostname=hostname, client_id=v)
        if sock is not None:
            for call in (sock.setblocking, sock.getpeercert, sock.read, sock.recv, sock.write):
                attempt(call, v)
            attempt(sock.close)
        attempt(ssl.wrap_socket, stream, server_side=bool(v), cert_reqs=v, server_hostname=hostname,
                do_handshake=False)
        if not is_path(v):
            attempt(ctx.load_verify_locations, v)
            attempt(ctx.load_cert_chain, v, v)
            attempt(ssl.wrap_socket, stream, key=v, cert=v, cadata=v, do_handshake=False)


def ciphers(data):
    if not data:
        return
    head = data[0]
    items = values(data)
    protocol = PROTOCOLS[head & 3]
    ctx = ssl.SSLContext(protocol)
    sharing = None
    if head & SHARED:
        stream, _ = memory_link(False)
        sharing = attempt(wrap, ctx, stream, protocol in SERVERS, protocol in DTLS_PROTOCOLS)
    shape = (head & SHAPE) >> 2
    if shape == 0:
        arg = items
    elif shape == 1:
        arg = tuple(items)
    elif shape == 2:
        arg = items[0]
    else:
        arg = {i: v for i, v in enumerate(items)}
    try:
        ctx.set_ciphers(arg)
        loaded = True
    except Exception:
        loaded = False
    attempt(ctx.get_ciphers)
    if sharing is not None:
        attempt(sharing.close)
    if loaded and head & PAIR:
        attempt(cipher_pair, ctx, protocol, head)
    if head & ARGUMENTS:
        arguments(ctx, items)


def cipher_pair(ctx, protocol, head):
    dtls = protocol in DTLS_PROTOCOLS
    server = protocol in SERVERS
    name = "server_rsa" if head & PAIR_RSA else "server_ec"
    if server:
        ctx.load_cert_chain(PKI[name + ".chain.pem"], PKI[name + ".key.pem"])
        peer = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT if dtls else ssl.PROTOCOL_TLS_CLIENT)
        peer.verify_mode = ssl.CERT_NONE
        client_ctx, server_ctx = peer, ctx
    else:
        ctx.verify_mode = ssl.CERT_NONE
        peer = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER if dtls else ssl.PROTOCOL_TLS_SERVER)
        peer.load_cert_chain(PKI[name + ".chain.pem"], PKI[name + ".key.pem"])
        client_ctx, server_ctx = ctx, peer
    client, server, _, _, done = connect(client_ctx, server_ctx, dtls)
    inspect(client)
    if done:
        talk(client, server)


def ciphers_seeds():
    """Names the build knows, in mbedTLS and IANA spelling, alone and in lists, with each kind of
    value the decoder makes, for every protocol and shape."""
    names = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).get_ciphers()
    iana = [n.replace("-", "_") for n in names]
    lists = [[n] for n in names[:: max(1, len(names) // 6)]]
    lists += [[iana[0]], names[:3], iana[-3:], names, [names[0], "TLS-NOT-A-SUITE"], [""]]
    lists += [[names[0], "#49199", "$" + names[1], "~", "?x", "[" + names[2], "(" + iana[3], "%" + names[4]]]
    lists += [["#-1", "-\x01", "^" + names[5], "!abc", "#" + "9" * 30, "x" * 120]]
    out = []
    for i, items in enumerate(lists):
        body = ",".join(items).encode()
        for head in (i % 4 | PAIR, (i + 1) % 4 | PAIR | PAIR_RSA, 4 | ARGUMENTS, 8 | (i % 4) | SHARED, 12 | ARGUMENTS):
            out.append(bytes([head]) + body)
    return out


# ---- seeds ----


def seeds(driver, directory):
    """Writes the driver's seed corpus into directory (which exists) as seed-NNNN; returns the count."""
    made = {"certs": certs_seeds, "ciphers": ciphers_seeds, "handshake": handshake_seeds}[driver]()
    for i, data in enumerate(made):
        with open(f"{directory}/seed-{i:04d}", "wb") as f:
            f.write(data)
    return len(made)
