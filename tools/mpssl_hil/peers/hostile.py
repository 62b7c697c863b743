"""Hostile host peers: a TLS server, a TLS client and a DTLS ClientHello flood that misbehave on purpose, so
tests can show that the board fails cleanly (an exception from its call, or an alert) and lives on.

The hostile server listens on one port per case. A case either sends hand-made bytes (`RawPlan`: no TLS engine,
records built here from the 5-byte header), or runs an honest TLS 1.2 handshake with tlslite-ng (`TlsPlan`)
through an interceptor that sits between tlslite-ng and the socket. The interceptor parses the server's output
into handshake messages (one record each, which is allowed: before ChangeCipherSpec the record layer's framing
carries no meaning) and, at a chosen message, sends an alert instead, cuts the message after n bytes, injects
bytes before it or replaces it. After the handshake a plan may do more (`after`), e.g. send a HelloRequest under
the session's keys.

The hostile client (`hostile_client_case`) talks to a board-side TLS server with raw bytes, or after an honest
tlslite-ng handshake; the DTLS flood (`dtls_client_hello_flood`) sends cookie-less ClientHellos from many UDP
source ports. Peers bind to loopback (or where a test's --host-ip says the boards are); every loop is bounded
in count and time, and every thread is joined with a timeout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tlslite.constants import (
    CertificateType,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    HashAlgorithm,
    SignatureAlgorithm,
)
from tlslite.extensions import (
    ECPointFormatsExtension,
    SignatureAlgorithmsExtension,
    SNIExtension,
    SupportedGroupsExtension,
    TLSExtension,
)
from tlslite.handshakesettings import HandshakeSettings
from tlslite.messages import Certificate, ClientHello, HelloRequest, Message, ServerHello
from tlslite.tlsconnection import TLSConnection
from tlslite.utils.codec import Parser
from tlslite.utils.keyfactory import parsePEMKey
from tlslite.x509 import X509
from tlslite.x509certchain import X509CertChain

from mpssl_hil.common.ports import connect_when_listening
from mpssl_hil.common.waiting import Deadline
from mpssl_hil.peers.log import PeerLog

# Record content types and the TLS 1.2 version bytes.
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
TLS12 = b"\x03\x03"
MAX_FRAGMENT = 2**14  # the largest plaintext a record may carry (RFC 5246 6.2.1)
MAX_CIPHERTEXT = 2**14 + 2048  # the largest TLSCiphertext.length (RFC 5246 6.2.3)

# Alert levels and the descriptions the cases use (RFC 5246 7.2).
WARNING = 1
FATAL = 2
CLOSE_NOTIFY = 0
UNEXPECTED_MESSAGE = 10
HANDSHAKE_FAILURE = 40
BAD_CERTIFICATE = 42
ILLEGAL_PARAMETER = 47
DECRYPT_ERROR = 51
INTERNAL_ERROR = 80
USER_CANCELED = 90
NO_RENEGOTIATION = 100

# The server's messages, in the order of a TLS 1.2 ECDHE handshake; "Finished" is the encrypted handshake record
# after ChangeCipherSpec.
SERVER_HELLO = "ServerHello"
CERTIFICATE = "Certificate"
SERVER_KEY_EXCHANGE = "ServerKeyExchange"
SERVER_HELLO_DONE = "ServerHelloDone"
CHANGE_CIPHER_SPEC_MSG = "ChangeCipherSpec"
FINISHED = "Finished"
SERVER_FLIGHT = (SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE, CHANGE_CIPHER_SPEC_MSG,
                 FINISHED)
_HANDSHAKE_NAMES = {
    HandshakeType.server_hello: SERVER_HELLO,
    HandshakeType.certificate: CERTIFICATE,
    HandshakeType.server_key_exchange: SERVER_KEY_EXCHANGE,
    HandshakeType.certificate_request: "CertificateRequest",
    HandshakeType.server_hello_done: SERVER_HELLO_DONE,
}


def record(content_type: int, payload: bytes, version: bytes = TLS12) -> bytes:
    """One TLS record: type, version, 16-bit length, payload (not checked against any limit)."""
    return bytes([content_type]) + version + struct.pack("!H", len(payload)) + payload


def records(content_type: int, payload: bytes, max_fragment: int = MAX_FRAGMENT) -> bytes:
    """`payload` in as many records of at most `max_fragment` bytes as it needs."""
    chunks = [payload[i:i + max_fragment] for i in range(0, len(payload), max_fragment)] or [b""]
    return b"".join(record(content_type, chunk) for chunk in chunks)


def alert_record(level: int, description: int) -> bytes:
    return record(ALERT, bytes([level, description]))


def handshake_message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def parse_records(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete records at the start of `data` as (type, payload), and the bytes left over."""
    found = []
    while len(data) >= 5:
        length = struct.unpack("!H", data[3:5])[0]
        if len(data) < 5 + length:
            break
        found.append((data[0], bytes(data[5:5 + length])))
        data = data[5 + length:]
    return found, bytes(data)


def alerts_in(data: bytes) -> list[tuple[int, int]]:
    """(level, description) of the plaintext alerts among the records in `data` (encrypted ones are skipped)."""
    return [(p[0], p[1]) for t, p in parse_records(data)[0] if t == ALERT and len(p) == 2]


# ---------------------------------------------------------------------------------------------------------------
# What a hostile server does


@dataclass(frozen=True)
class SendAlert:
    """Instead of the message: an alert record, then close."""

    level: int
    description: int


@dataclass(frozen=True)
class Cut:
    """The message's first `n` bytes (of its own record, header included; negative: all but the last -n), or
    the given `fraction` of them, then close."""

    n: int = 0
    fraction: float | None = None

    def length(self, total: int) -> int:
        return int(total * self.fraction) if self.fraction is not None else len(range(total)[:self.n])


@dataclass(frozen=True)
class Inject:
    """`data` (raw bytes, usually records) before the message; then the handshake goes on."""

    data: bytes


@dataclass(frozen=True)
class Replace:
    """The handshake message (type, length, body) replaced by what `change` makes of it; then the handshake
    goes on (the server's own transcript keeps the original, so a later Finished would not verify)."""

    change: Callable[[bytes], bytes]


Action = SendAlert | Cut | Inject | Replace
After = Callable[[TLSConnection, "ServedCase", socket.socket], None]


@dataclass(frozen=True)
class TlsPlan:
    """An honest tlslite-ng handshake with `actions` applied at the server's messages (names: SERVER_FLIGHT).
    `after(connection, case, socket)` runs once the handshake is done; the default echoes until the client
    closes."""

    actions: dict[str, Action] = field(default_factory=dict)
    after: After | None = None


@dataclass(frozen=True)
class RawPlan:
    """No TLS engine: read the client's first handshake message (unless not `read_first`), send `data`, then
    close."""

    data: bytes
    read_first: bool = True


Plan = TlsPlan | RawPlan


@dataclass
class ServedCase:
    """What the hostile server saw of one case's connection."""

    name: str
    port: int
    connected: bool = False
    client_hello: bytes = b""  # the handshake message (header included), when one was read
    actions_done: list[str] = field(default_factory=list)
    handshake_ok: bool = False
    server_error: str | None = None  # tlslite-ng's or the socket's exception, after the plan stopped
    from_client: bytes = b""  # raw bytes the client sent after the plan ended (e.g. its alert)
    notes: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def client_alerts(self) -> list[tuple[int, int]]:
        return alerts_in(self.from_client)


class _PlanEnded(Exception):
    """The plan closed the connection on purpose (an alert or a cut was sent)."""


class _PlanReset(_PlanEnded):
    """The plan ends the connection with a reset (SO_LINGER 0), without reading what the client still sends."""


class _Interceptor:
    """The socket tlslite-ng writes to: parses its output into handshake messages and applies the plan."""

    def __init__(self, sock: socket.socket, actions: dict[str, Action], case: ServedCase, log: PeerLog) -> None:
        self.sock = sock
        self.actions = dict(actions)
        self.case = case
        self.log = log
        self._out = b""  # tlslite-ng's output not yet parsed into records
        self._handshake = b""  # plaintext handshake bytes not yet split into messages
        self._encrypted = False  # after the server's ChangeCipherSpec

    # --- the socket interface tlslite-ng (through its BufferedSocket) uses
    def send(self, data: bytes) -> int:
        self._out += bytes(data)
        parsed, self._out = parse_records(self._out)
        for content_type, payload in parsed:
            self._record(content_type, payload)
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.send(data)

    def recv(self, bufsize: int) -> bytes:
        return self.sock.recv(bufsize)

    def settimeout(self, value: float | None) -> None:
        self.sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self.sock.gettimeout()

    def getsockname(self) -> tuple[str, int]:
        return self.sock.getsockname()  # type: ignore[no-any-return]

    def getpeername(self) -> tuple[str, int]:
        return self.sock.getpeername()  # type: ignore[no-any-return]

    def setsockopt(self, level: int, optname: int, value: int) -> None:
        self.sock.setsockopt(level, optname, value)

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        pass  # the case's handler closes the real socket after it has read what the client sends

    # --- the plan
    def _record(self, content_type: int, payload: bytes) -> None:
        if content_type == HANDSHAKE and not self._encrypted:
            self._handshake += payload
            while len(self._handshake) >= 4:
                length = int.from_bytes(self._handshake[1:4], "big")
                if len(self._handshake) < 4 + length:
                    break
                message, self._handshake = self._handshake[:4 + length], self._handshake[4 + length:]
                name = _HANDSHAKE_NAMES.get(message[0], f"handshake type {message[0]}")
                self._unit(name, message, records(HANDSHAKE, message))
            return
        if content_type == CHANGE_CIPHER_SPEC:
            self._encrypted = True
            name = CHANGE_CIPHER_SPEC_MSG
        elif content_type == HANDSHAKE:
            name = FINISHED
        elif content_type == ALERT:
            name = "Alert"
        else:
            name = "ApplicationData"
        self._unit(name, payload, record(content_type, payload))

    def _unit(self, name: str, message: bytes, wire: bytes) -> None:
        action = self.actions.pop(name, None)
        if action is None:
            self.sock.sendall(wire)
            return
        self.case.actions_done.append(f"{type(action).__name__} at {name}")
        self.log.add(f"{self.case.name}: {type(action).__name__} at {name} ({len(wire)} bytes on the wire)")
        if isinstance(action, SendAlert):
            self.sock.sendall(alert_record(action.level, action.description))
            raise _PlanEnded(f"alert {action.level}/{action.description} instead of {name}")
        if isinstance(action, Cut):
            n = action.length(len(wire))
            self.sock.sendall(wire[:n])
            raise _PlanEnded(f"{name} cut after {n} of {len(wire)} bytes")
        if isinstance(action, Inject):
            self.sock.sendall(action.data)
            self.sock.sendall(wire)
            return
        changed = action.change(message)
        self.sock.sendall(records(HANDSHAKE, changed) if name in _HANDSHAKE_NAMES.values() else changed)


def echo_until_closed(connection: TLSConnection, case: ServedCase, sock: socket.socket) -> None:
    """The default end of a plan: echo what the client sends until it closes."""
    for _ in range(10_000):
        data = connection.recv(4096)
        if not data:
            case.notes.append("client closed")
            return
        connection.sendall(data)


PostHandshake = Callable[[TLSConnection, socket.socket], str]


def encrypted(content_type: int, payload: bytes, count: int = 1) -> PostHandshake:
    """Send `count` records of `payload` under the session's keys, as they are (no fragmenting, no size check:
    tlslite-ng's record layer encrypts what it is given)."""

    def send(connection: TLSConnection, sock: socket.socket) -> str:
        for _ in range(count):
            for _step in connection._recordLayer.sendRecord(Message(content_type, bytearray(payload))):
                pass
        return f"sent {count} encrypted record(s) of type {content_type}, {len(payload)} bytes"

    return send


def raw(data: bytes) -> PostHandshake:
    """Send `data` on the socket as it is, past the session's record layer."""

    def send(connection: TLSConnection, sock: socket.socket) -> str:
        sock.sendall(data)
        return f"sent {len(data)} raw bytes"

    return send


def after_first_data(*actions: PostHandshake, echo: bool = False) -> After:
    """After the handshake: wait for the client's first data, run `actions`; then echo it and go on echoing
    (`echo`), or end the plan (the client is left to find out)."""

    def after(connection: TLSConnection, case: ServedCase, sock: socket.socket) -> None:
        data = connection.recv(4096)
        case.notes.append(f"client sent {len(data)} bytes")
        for action in actions:
            case.notes.append(action(connection, sock))
        if not echo:
            raise _PlanEnded("plan done after the handshake")
        connection.sendall(data)
        echo_until_closed(connection, case, sock)

    return after


def stall(seconds: float, *actions: PostHandshake, reset: bool = False) -> After:
    """After the handshake: read nothing for `seconds` (the client's writes fill the socket buffers), run
    `actions`, then end the plan: with a reset (`reset`), or by half-closing and reading what the client sends."""

    def after(connection: TLSConnection, case: ServedCase, sock: socket.socket) -> None:
        time.sleep(seconds)
        for action in actions:
            case.notes.append(action(connection, sock))
        if reset:
            raise _PlanReset(f"reset after {seconds}s without reading")
        raise _PlanEnded(f"plan done after {seconds}s without reading")

    return after


def hello_request_then_echo(count: int = 1) -> After:
    """After the client's first data: `count` HelloRequests under the session's keys (a renegotiation request),
    then the echo."""
    return after_first_data(encrypted(HANDSHAKE, bytes(HelloRequest().create().write()), count), echo=True)


@dataclass(frozen=True)
class HostileCase:
    name: str
    plan: Plan
    board: dict[str, object] = field(default_factory=dict)  # options for the board's side (e.g. "ciphers")


class HostileTlsServer:
    """One listening socket per case on `host`; each accepts one connection (more are refused with a close)
    and plays its case. `served[name]` tells what happened on the server side."""

    def __init__(self, cases: Sequence[HostileCase], certfile: Path, keyfile: Path, host: str = "127.0.0.1",
                 log_dir: Path | None = None, io_timeout: float = 30.0) -> None:
        self.cases = list(cases)
        self.host = host
        self.io_timeout = io_timeout
        self.log = PeerLog("hostile_tls_server", log_dir)
        self.chain = X509CertChain()
        self.chain.parsePemList(certfile.read_text())
        self.key = parsePEMKey(keyfile.read_text(), private=True, implementations=["python"])
        self.settings = HandshakeSettings()
        self.settings.minVersion = (3, 3)
        self.settings.maxVersion = (3, 3)
        self.settings.cipherNames = ["aes128gcm", "chacha20-poly1305"]
        self.settings.keyExchangeNames = ["ecdhe_ecdsa", "ecdhe_rsa"]
        self._listeners: dict[str, socket.socket] = {}
        self.served: dict[str, ServedCase] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        for case in self.cases:
            if case.name in self._listeners:
                raise ValueError(f"two cases named {case.name!r}")
            listener = socket.create_server((host, 0))
            listener.settimeout(0.2)
            self._listeners[case.name] = listener
            self.served[case.name] = ServedCase(case.name, listener.getsockname()[1])

    def ports(self) -> dict[str, int]:
        return {name: served.port for name, served in self.served.items()}

    def __enter__(self) -> HostileTlsServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        for case in self.cases:
            t = threading.Thread(target=self._serve, args=(case,), name=f"hostile-{case.name}", daemon=True)
            self._threads.append(t)
            t.start()
        self.log.add(f"serving {len(self.cases)} cases on {self.host}")

    def stop(self) -> None:
        self._stopping.set()
        for t in self._threads:
            t.join(timeout=self.io_timeout + 5)
        for listener in self._listeners.values():
            listener.close()
        alive = [t.name for t in self._threads if t.is_alive()]
        self.log.add(f"stopped; threads still alive: {alive}" if alive else "stopped")

    def wait_done(self, names: Sequence[str], timeout: float = 60.0) -> list[ServedCase]:
        with self._changed:
            if not self._changed.wait_for(lambda: all(self.served[n].done for n in names), timeout):
                pending = [n for n in names if not self.served[n].done]
                raise TimeoutError(f"hostile server: cases not finished within {timeout}s: {pending}\n"
                                   f"{self.log.text()}")
        return [self.served[n] for n in names]

    def _serve(self, case: HostileCase) -> None:
        listener = self._listeners[case.name]
        served = self.served[case.name]
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            break
        else:
            return
        served.connected = True
        sock.settimeout(self.io_timeout)
        try:
            if isinstance(case.plan, RawPlan):
                self._raw(sock, case.plan, served)
            else:
                self._tls(sock, case.plan, served)
        except _PlanReset as e:
            served.notes.append(str(e))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except _PlanEnded as e:
            served.notes.append(str(e))
        except Exception as e:  # noqa: BLE001 - a hostile peer expects its client to give up on it
            served.server_error = f"{type(e).__name__}: {e}"
            self.log.add(f"{case.name}: server side ended with {served.server_error}")
        finally:
            if sock.fileno() != -1:
                served.from_client += _drain_and_close(sock, self.io_timeout)
            self.log.add(f"{case.name}: closed; client sent {len(served.from_client)} more bytes, "
                         f"alerts {served.client_alerts}; notes {served.notes}")
            with self._changed:
                served.done = True
                self._changed.notify_all()

    def _raw(self, sock: socket.socket, plan: RawPlan, served: ServedCase) -> None:
        if plan.read_first:
            served.client_hello = read_handshake_message(sock, self.io_timeout)
        sock.sendall(plan.data)
        raise _PlanEnded(f"sent {len(plan.data)} raw bytes")

    def _tls(self, sock: socket.socket, plan: TlsPlan, served: ServedCase) -> None:
        interceptor = _Interceptor(sock, plan.actions, served, self.log)
        connection = TLSConnection(interceptor)  # type: ignore[arg-type] - a socket as far as tlslite-ng goes
        connection.handshakeServer(certChain=self.chain, privateKey=self.key, settings=self.settings)
        served.handshake_ok = True
        self.log.add(f"{served.name}: handshake done ({connection.getCipherName()})")
        (plan.after or echo_until_closed)(connection, served, sock)
        try:
            connection.close()
        except Exception as e:  # noqa: BLE001 - the client may be gone already
            served.notes.append(f"close: {type(e).__name__}")


def read_handshake_message(sock: socket.socket, timeout: float) -> bytes:
    """The first handshake message the peer sends (header included), read record by record."""
    data = b""
    handshake = b""
    budget = Deadline(timeout)
    while not budget.expired():
        parsed, data = parse_records(data)
        for content_type, payload in parsed:
            if content_type != HANDSHAKE:
                return handshake
            handshake += payload
        if len(handshake) >= 4 and len(handshake) >= 4 + int.from_bytes(handshake[1:4], "big"):
            return handshake
        chunk = sock.recv(65536)
        if not chunk:
            return handshake
        data += chunk
    return handshake


def _drain_and_close(sock: socket.socket, timeout: float) -> bytes:
    """Half-close, then read what the peer still sends until it closes (so that our close does not reset a
    connection whose last bytes, an alert, say, the peer has yet to read), then close."""
    received = b""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(timeout)
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except OSError:
        pass
    finally:
        sock.close()
    return received


# ---------------------------------------------------------------------------------------------------------------
# Message changes


def with_cipher_suite(suite: int) -> Callable[[bytes], bytes]:
    """A Replace change: the ServerHello names `suite`."""

    def change(message: bytes) -> bytes:
        hello = ServerHello().parse(Parser(bytearray(message[1:])))
        hello.cipher_suite = suite
        return bytes(hello.write())

    return change


def server_hello_with(**fields: object) -> Callable[[bytes], bytes]:
    """A Replace change: the ServerHello with tlslite-ng's attributes changed (server_version, session_id,
    compression_method, extensions: a list of tlslite.extensions.TLSExtension)."""

    def change(message: bytes) -> bytes:
        hello = ServerHello().parse(Parser(bytearray(message[1:])))
        for name, value in fields.items():
            if not hasattr(hello, name):
                raise AttributeError(f"ServerHello has no {name!r}")
            setattr(hello, name, value)
        return bytes(hello.write())

    return change


def certificate_message(ders: Sequence[bytes]) -> bytes:
    """A TLS 1.2 Certificate handshake message carrying `ders`, built with tlslite-ng."""
    certs = []
    for der in ders:
        cert = X509()
        cert.parseBinary(bytearray(der))
        certs.append(cert)
    chain = X509CertChain(certs)
    return bytes(Certificate(CertificateType.x509, (3, 3)).create(chain).write())


def with_certificates(ders: Sequence[bytes]) -> Callable[[bytes], bytes]:
    """A Replace change: the Certificate message carries `ders` instead."""
    message = certificate_message(ders)
    return lambda _original: message


def _ec_certificate(subject: str, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey, is_ca: bool,
                    extra: Sequence[x509.ExtensionType] = ()) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if not is_ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _load_ca(cert_file: Path, key_file: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{key_file}: the CA key must be an EC key")
    return cert, key


def long_chain(ca_cert: Path, ca_key: Path, count: int = 50) -> list[bytes]:
    """`count` DER certificates, leaf first: a leaf for "localhost" under `count - 2` generated CAs under the
    given CA (which is the last one sent). Short names keep each near 300 bytes."""
    top_cert, top_key = _load_ca(ca_cert, ca_key)
    issued = [top_cert]
    issuer_key = top_key
    for i in range(count - 2):
        cert, issuer_key = _ec_certificate(f"c{i}", issued[-1].subject, issuer_key, is_ca=True)
        issued.append(cert)
    leaf, _ = _ec_certificate("localhost", issued[-1].subject, issuer_key, is_ca=False)
    issued.append(leaf)
    return [c.public_bytes(serialization.Encoding.DER) for c in reversed(issued)]


def huge_certificate(ca_cert: Path, ca_key: Path, size: int = 64 * 1024) -> list[bytes]:
    """A leaf for "localhost" signed by the given CA, made `size` bytes large by a non-critical extension of an
    unknown type, followed by the CA: [leaf, CA] as DER."""
    top_cert, top_key = _load_ca(ca_cert, ca_key)
    padding = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x00" * size)
    leaf, _ = _ec_certificate("localhost", top_cert.subject, top_key, is_ca=False, extra=[padding])
    return [leaf.public_bytes(serialization.Encoding.DER), top_cert.public_bytes(serialization.Encoding.DER)]


# ---------------------------------------------------------------------------------------------------------------
# A hostile client of a board-side TLS server

CLIENT_SUITES = [
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
]


def client_hello(suites: Sequence[int] = CLIENT_SUITES, server_name: bytes = b"localhost") -> bytes:
    """A TLS 1.2 ClientHello handshake message (header included) that mbedTLS accepts, built with tlslite-ng."""
    extensions: list[TLSExtension] = [
        SNIExtension().create(bytearray(server_name)),
        SupportedGroupsExtension().create([23]),  # secp256r1
        ECPointFormatsExtension().create([0]),  # uncompressed
        SignatureAlgorithmsExtension().create([(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
                                               (HashAlgorithm.sha256, SignatureAlgorithm.rsa)]),
        TLSExtension(extType=ExtensionType.renegotiation_info).create(bytearray(b"\x00")),
    ]
    hello = ClientHello().create((3, 3), bytearray(os.urandom(32)), bytearray(), list(suites),
                                 extensions=extensions)
    return bytes(hello.write())


@dataclass
class ClientCaseResult:
    name: str
    received: bytes = b""  # everything the board sent before it closed (or the time ran out), raw
    board_closed: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def board_alerts(self) -> list[tuple[int, int]]:
        return alerts_in(self.received)


def _read_server_flight(sock: socket.socket, timeout: float) -> bytes:
    """The board's reply to a ClientHello, up to and including ServerHelloDone (or its alert, or its close)."""
    data = b""
    budget = Deadline(timeout)
    while not budget.expired():
        parsed, _rest = parse_records(data)
        handshake = b"".join(p for t, p in parsed if t == HANDSHAKE)
        if any(t == ALERT for t, _ in parsed) or _has_message(handshake, HandshakeType.server_hello_done):
            return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def _has_message(handshake: bytes, msg_type: int) -> bool:
    while len(handshake) >= 4:
        if handshake[0] == msg_type:
            return True
        handshake = handshake[4 + int.from_bytes(handshake[1:4], "big"):]
    return False


def app_data(data: bytes) -> PostHandshake:
    """A client step after "handshake": send `data` as application data."""

    def send(connection: TLSConnection, sock: socket.socket) -> str:
        connection.sendall(data)
        return f"sent {len(data)} bytes of application data"

    return send


def read_app_data(n: int) -> PostHandshake:
    """A client step after "handshake": read up to `n` bytes of application data (until the peer closes)."""

    def read(connection: TLSConnection, sock: socket.socket) -> str:
        got = b""
        for _ in range(1000):
            if len(got) >= n:
                break
            chunk = connection.recv(n - len(got))
            if not chunk:
                break
            got += chunk
        return f"read {len(got)} bytes: {got[:40]!r}"

    return read


ClientStep = bytes | str | PostHandshake


def hostile_client_case(name: str, host: str, port: int, steps: Sequence[ClientStep],
                        timeout: float = 30.0) -> ClientCaseResult:
    """Connect to the board's TLS server and play `steps`: bytes are sent as they are, "flight" reads the board's
    reply to a ClientHello, "close" half-closes, "handshake" runs an honest TLS 1.2 handshake with tlslite-ng,
    after which callables (`encrypted`, `raw`, `app_data`, `read_app_data`) act on the session; then read what
    the board sends until it closes (or `timeout`)."""
    result = ClientCaseResult(name)
    sock = connect_when_listening(host, port, timeout)
    sock.settimeout(timeout)
    connection: TLSConnection | None = None
    try:
        for step in steps:
            if step == "flight":
                result.received += _read_server_flight(sock, timeout)
            elif step == "close":
                sock.shutdown(socket.SHUT_WR)
            elif step == "handshake":
                connection = TLSConnection(sock)
                settings = HandshakeSettings()
                settings.minVersion = settings.maxVersion = (3, 3)
                connection.handshakeClientCert(settings=settings)
                result.notes.append(f"handshake done ({connection.getCipherName()})")
            elif isinstance(step, bytes):
                sock.sendall(step)
            elif callable(step) and connection is not None:
                result.notes.append(step(connection, sock))
            else:
                raise ValueError(f"step {step!r} (a session step needs \"handshake\" first)")
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                result.board_closed = True
                break
            result.received += chunk
    except OSError as e:  # a reset is the board closing too
        result.error = f"{type(e).__name__}: {e}"
        result.board_closed = isinstance(e, ConnectionResetError | BrokenPipeError)
    except Exception as e:  # noqa: BLE001 - tlslite-ng's alerts: the board refused
        result.error = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    return result


# ---------------------------------------------------------------------------------------------------------------
# A DTLS ClientHello flood

DTLS12 = b"\xfe\xfd"
HELLO_VERIFY_REQUEST = 3  # the DTLS handshake type (RFC 6347 4.2.1)


def dtls_record(payload: bytes, content_type: int = HANDSHAKE, epoch: int = 0, seq: int = 0,
                version: bytes = DTLS12, length: int | None = None) -> bytes:
    """A DTLS record: type, version, epoch, 48-bit sequence number, length (default: the payload's), payload."""
    return (bytes([content_type]) + version + struct.pack("!H", epoch) + seq.to_bytes(6, "big")
            + struct.pack("!H", len(payload) if length is None else length) + payload)


def dtls_handshake(msg_type: int, body: bytes, message_seq: int = 0, fragment_offset: int = 0,
                   fragment_length: int | None = None, length: int | None = None) -> bytes:
    """A DTLS handshake message header (type, length, message_seq, fragment offset and length) and `body`."""
    total = len(body) if length is None else length
    fragment = len(body) if fragment_length is None else fragment_length
    return (bytes([msg_type]) + total.to_bytes(3, "big") + struct.pack("!H", message_seq)
            + fragment_offset.to_bytes(3, "big") + fragment.to_bytes(3, "big") + body)


def dtls_client_hello_body(cookie: bytes = b"", suites: Sequence[int] = CLIENT_SUITES, version: bytes = DTLS12,
                           cookie_length: int | None = None) -> bytes:
    """A DTLS 1.2 ClientHello body (RFC 6347 4.2.1: with a cookie field) that mbedTLS' server accepts up to its
    cookie check."""
    extensions = b"".join(bytes(e.write()) for e in (
        SupportedGroupsExtension().create([23]),
        ECPointFormatsExtension().create([0]),
        SignatureAlgorithmsExtension().create([(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
                                               (HashAlgorithm.sha256, SignatureAlgorithm.rsa)]),
    ))
    suite_bytes = b"".join(struct.pack("!H", s) for s in suites)
    return (version + os.urandom(32) + b"\x00" + bytes([len(cookie) if cookie_length is None else cookie_length])
            + cookie + struct.pack("!H", len(suite_bytes)) + suite_bytes + b"\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)


def dtls_client_hello(cookie: bytes = b"", suites: Sequence[int] = CLIENT_SUITES) -> bytes:
    """One DTLS 1.2 record holding a whole ClientHello."""
    return dtls_record(dtls_handshake(HandshakeType.client_hello, dtls_client_hello_body(cookie, suites)))


def malformed_dtls_client_hellos() -> dict[str, bytes]:
    """Datagrams that look like a first ClientHello (a handshake record holding handshake type 1) but are not
    a good one, by name."""
    body = dtls_client_hello_body()
    hello = dtls_handshake(HandshakeType.client_hello, body)
    whole = dtls_record(hello)
    client_hello = HandshakeType.client_hello
    return {
        "datagram cut short": whole[:40],
        "record length past the datagram": dtls_record(hello, length=len(hello) + 100),
        "record length short of the hello": dtls_record(hello, length=30),
        "first half of a fragmented hello": dtls_record(
            dtls_handshake(client_hello, body[:len(body) // 2], length=len(body))),
        "second half of a fragmented hello": dtls_record(
            dtls_handshake(client_hello, body[len(body) // 2:], fragment_offset=len(body) // 2, length=len(body))),
        "fragment length past the record": dtls_record(dtls_handshake(client_hello, body, fragment_length=5000)),
        "handshake length 2^24-1": dtls_record(dtls_handshake(client_hello, body, length=2**24 - 1)),
        "epoch 1": dtls_record(hello, epoch=1),
        "message_seq 7": dtls_record(dtls_handshake(client_hello, body, message_seq=7)),
        "cookie length 255": dtls_record(dtls_handshake(client_hello, dtls_client_hello_body(cookie_length=255))),
        "cookie of 255 bytes": dtls_record(dtls_handshake(client_hello, dtls_client_hello_body(cookie=bytes(255)))),
        "no cipher suites": dtls_record(dtls_handshake(client_hello, dtls_client_hello_body(suites=[]))),
        "no common cipher suite": dtls_record(dtls_handshake(client_hello, dtls_client_hello_body(suites=[0x0005]))),
        "DTLS 1.0 (feff)": dtls_record(dtls_handshake(client_hello, dtls_client_hello_body(version=b"\xfe\xff")),
                                       version=b"\xfe\xff"),
        "TLS 1.2 version bytes": dtls_record(hello, version=TLS12),
        "empty body": dtls_record(dtls_handshake(client_hello, b"")),
        "two hellos in one datagram": whole + dtls_record(hello, seq=1),
        "hello and garbage": whole + bytes(range(256)),
        "sequence number 2^48-1": dtls_record(hello, seq=2**48 - 1),
    }


def is_hello_verify_request(datagram: bytes) -> bool:
    # record header (13 bytes), then the handshake type
    return len(datagram) > 13 and datagram[0] == HANDSHAKE and datagram[13] == HELLO_VERIFY_REQUEST


def local_address(host: str) -> str:
    """Where a UDP socket that talks to `host` binds: loopback for a loopback peer, else any interface."""
    return "127.0.0.1" if host.startswith("127.") else "0.0.0.0"


@dataclass
class FloodResult:
    sent: int = 0
    hello_verify_requests: int = 0  # answers that were HelloVerifyRequests
    other_answers: int = 0
    send_errors: int = 0
    sources: int = 0
    seconds: float = 0.0
    stopped_early: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def dtls_client_hello_flood(host: str, port: int, total: int = 2000, sources: int = 200, window: int = 32,
                            bogus_cookie_every: int = 2, answer_timeout: float = 2.0,
                            deadline_s: float = 300.0) -> FloodResult:
    """Send `total` ClientHellos to `host:port` from `sources` UDP sockets (round robin), none with a valid
    cookie: every `bogus_cookie_every`-th carries 32 random bytes as its cookie, the others none. At most
    `window` hellos are unanswered at a time (a board's UDP receive queue is short; what overflows is dropped
    and counted as unanswered after `answer_timeout`). Stops at `deadline_s`."""
    result = FloodResult(sources=sources)
    socks = []
    started = time.monotonic()
    budget = Deadline(deadline_s)
    try:
        for _ in range(sources):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((local_address(host), 0))
            s.setblocking(False)
            socks.append(s)
        outstanding = 0
        last_answer = time.monotonic()
        while result.sent < total or outstanding > 0:
            if budget.expired():
                result.stopped_early = f"deadline of {deadline_s}s"
                break
            while result.sent < total and outstanding < window:
                s = socks[result.sent % sources]
                bogus = bogus_cookie_every and result.sent % bogus_cookie_every == 1
                hello = dtls_client_hello(cookie=os.urandom(32) if bogus else b"")
                try:
                    s.sendto(hello, (host, port))
                    outstanding += 1
                except OSError:
                    result.send_errors += 1
                result.sent += 1
                last_answer = time.monotonic()
            ready, _, _ = select.select(socks, [], [], 0.05)
            for s in ready:
                for _ in range(64):
                    try:
                        datagram = s.recv(65536)
                    except OSError:  # nothing more, or ICMP port unreachable from a board not listening
                        break
                    if is_hello_verify_request(datagram):
                        result.hello_verify_requests += 1
                    else:
                        result.other_answers += 1
                    outstanding = max(0, outstanding - 1)
                    last_answer = time.monotonic()
            if outstanding and time.monotonic() - last_answer > answer_timeout:
                outstanding = 0  # lost in a full queue: go on
    finally:
        for s in socks:
            s.close()
        result.seconds = round(time.monotonic() - started, 1)
    return result
