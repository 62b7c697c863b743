"""Host DTLS 1.2 peers: `openssl s_server` as an echo server and `openssl s_client` as a client.

How the server echoes: `s_server -rev` refuses DTLS, so the server runs with `-brief`, which makes its
stdout carry exactly the application data it received (the connection summary goes to stderr, and
stdin command letters such as "Q" are off). A reader thread writes every stdout chunk straight back to
s_server's stdin, which s_server sends to the client as application data: an echo.

HelloVerify: s_server turns on DTLS cookie exchange for every connection (checked with `-trace`: the
ClientHello without cookie is answered with a HelloVerifyRequest). `-listen` is *not* used: in OpenSSL
3.0 it connects the UDP socket to the first client for good, so a second connection would be refused.
`-msg -msgfile` records every handshake message so tests can count HelloVerifyRequests.

Connections are served one after another; a client that vanishes without close_notify keeps the
server busy with it, so a test that kills its client should start a fresh server.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mpssl_hil.common.ports import free_port, udp_port_in_use
from mpssl_hil.common.waiting import Deadline, WaitTimeout, wait_until
from mpssl_hil.peers.log import PeerLog
from mpssl_hil.peers.openssl import OpensslProcess, cert_args, hello_verify_requests, openssl_binary


@dataclass
class DtlsConnection:
    """One handshake the server completed, from its `-brief` summary on stderr. (Received data is not
    split per connection: stdout and stderr are separate pipes, so their relative order is lost.)"""

    protocol: str
    cipher: str | None = None
    peer_certificate: str | None = None  # subject line, None without a client certificate


# The link MTU the peers assume. Left to itself, openssl cuts a handshake flight into datagrams of a
# few hundred bytes on loopback; a server flight with a certificate chain then takes 9 datagrams.
# MicroPython's lwIP socket queues only 4 datagrams, so a board behind lwIP (the emulated board, rp2,
# stm32) drops the rest of such a burst every time and the handshake never completes.  Peers on an
# Ethernet path use its MTU; `mtu=None` keeps openssl's own choice.
ETHERNET_MTU = 1500


def mtu_args(mtu: int | None) -> list[str]:
    return [] if mtu is None else ["-mtu", str(mtu)]


class DtlsServer:
    """`openssl s_server -dtls1_2` on a UDP port of `host`, echoing what it receives."""

    def __init__(
        self,
        certfile: Path,
        keyfile: Path,
        cafile: Path | None = None,
        require_client_cert: bool = False,
        ciphers: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_dir: Path | None = None,
        echo: bool = True,
        mtu: int | None = ETHERNET_MTU,
        alpn: list[str] | None = None,
    ) -> None:
        """`alpn`: the protocols s_server selects from (-alpn), in its order of preference."""
        self.host = host
        self.port = port or free_port("udp", host)
        self.echo = echo
        self.log = PeerLog("dtls_server", log_dir)
        self._scratch = tempfile.TemporaryDirectory(prefix="mpssl-dtls-server-")
        scratch = Path(self._scratch.name)
        self.msgfile = (log_dir or scratch) / f"dtls_server_{self.port}.msg"
        self.connections: list[DtlsConnection] = []
        self.received = b""
        self._transcript: list[str] = []
        self._changed = threading.Condition()
        self._args = [openssl_binary(), "s_server", "-dtls1_2", "-accept", f"{host}:{self.port}", "-brief"]
        self._args += cert_args(certfile, keyfile, scratch)
        self._args += ["-msg", "-msgfile", str(self.msgfile)]
        self._args += mtu_args(mtu)
        if cafile is not None:
            verify = "-Verify" if require_client_cert else "-verify"
            self._args += [verify, "4", "-CAfile", str(cafile), "-verify_return_error"]
        if ciphers:
            self._args += ["-cipher", ciphers]
        if alpn:
            self._args += ["-alpn", ",".join(alpn)]
        self._process: OpensslProcess | None = None

    def __enter__(self) -> DtlsServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, ready_timeout: float = 10.0) -> None:
        process = self._process = OpensslProcess(self._args, self.log, self._on_stdout, self._on_stderr)
        with contextlib.suppress(WaitTimeout):  # bound, exited or neither: told apart below
            wait_until(lambda: udp_port_in_use(self.port, self.host) or not process.running(), ready_timeout,
                       interval=0.05)
        if not udp_port_in_use(self.port, self.host):
            self.stop()
            raise RuntimeError(f"openssl s_server did not bind UDP {self.host}:{self.port}\n{self.log.text()}")
        self.log.add(f"listening on udp {self.host}:{self.port}")
        self.log.add(f"message dump in {self.msgfile}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        self._scratch.cleanup()

    def hello_verify_requests_sent(self) -> int:
        return hello_verify_requests(self.msgfile, ">>>")

    def output(self) -> str:
        """The connection summaries from stderr and the received data, in order of arrival."""
        with self._changed:
            return "\n".join(self._transcript)

    def wait_for_output(self, text: str, timeout: float = 30.0) -> str:
        with self._changed:
            if not self._changed.wait_for(lambda: text in "\n".join(self._transcript), timeout):
                raise TimeoutError(f"DTLS server: {text!r} not seen within {timeout}s\n{self.log.text()}")
            return "\n".join(self._transcript)

    def wait_for_connections(self, n: int, timeout: float = 30.0) -> list[DtlsConnection]:
        """Wait until `n` handshakes have completed."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.connections) >= n, timeout):
                raise TimeoutError(f"DTLS server: {len(self.connections)} of {n} handshakes within "
                                   f"{timeout}s\n{self.log.text()}")
            return list(self.connections)

    def _on_stdout(self, data: bytes) -> None:
        with self._changed:
            self.received += data
            self._transcript.append(data.decode(errors="replace"))
            self._changed.notify_all()
        if self.echo and self._process is not None:
            self._process.write(data)

    def _on_stderr(self, line: str) -> None:
        key, _, value = line.partition(": ")
        with self._changed:
            if key == "Protocol version":
                self.connections.append(DtlsConnection(protocol=value))
            elif key == "Ciphersuite" and self.connections:
                self.connections[-1].cipher = value
            elif key == "Peer certificate" and self.connections:
                self.connections[-1].peer_certificate = value
            self._transcript.append(line)
            self._changed.notify_all()


@dataclass
class DtlsClientResult:
    handshake_ok: bool
    received: bytes
    cipher: str | None
    peer_certificate: str | None
    hello_verify_received: int  # HelloVerifyRequests in the successful (last) attempt
    returncode: int
    attempts: int
    log: str


class DtlsClient:
    """`openssl s_client -dtls1_2`: one `exchange()` per process, retried while the port is refused."""

    def __init__(
        self,
        host: str,
        port: int,
        cafile: Path | None = None,
        server_hostname: str | None = None,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        ciphers: str | None = None,
        log_dir: Path | None = None,
        mtu: int | None = ETHERNET_MTU,
    ) -> None:
        self.log = PeerLog("dtls_client", log_dir)
        self._scratch = tempfile.TemporaryDirectory(prefix="mpssl-dtls-client-")
        scratch = Path(self._scratch.name)
        self.msgfile = (log_dir or scratch) / f"dtls_client_{port}.msg"
        self._args = [openssl_binary(), "s_client", "-dtls1_2", "-connect", f"{host}:{port}", "-brief",
                      "-nocommands", "-msg", "-msgfile", str(self.msgfile), *mtu_args(mtu)]
        if cafile is not None:
            self._args += ["-CAfile", str(cafile), "-verify_return_error"]
        if server_hostname is not None:
            self._args += ["-servername", server_hostname, "-verify_hostname", server_hostname]
        if certfile is not None:
            self._args += cert_args(certfile, keyfile or certfile, scratch)
        if ciphers:
            self._args += ["-cipher", ciphers]
        self._process: OpensslProcess | None = None

    def __enter__(self) -> DtlsClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None:
            self._process.stop()
        self._scratch.cleanup()

    def exchange(self, payload: bytes, expect: int | None = None, timeout: float = 30.0) -> DtlsClientResult:
        """Send `payload`, collect up to `expect` (default len(payload)) bytes, then close (close_notify).
        Retries from scratch while the server's port is refused, until `timeout`."""
        expect = len(payload) if expect is None else expect
        budget = Deadline(timeout)
        results: list[DtlsClientResult] = []

        def answered() -> DtlsClientResult | None:
            results.append(self._attempt(payload, expect, budget, len(results) + 1))
            refused = not results[-1].handshake_ok and "errno=111" in results[-1].log
            return None if refused else results[-1]

        try:
            return wait_until(answered, timeout, interval=0.2)
        except WaitTimeout:
            return results[-1]  # refused until the end

    def _attempt(self, payload: bytes, expect: int, budget: Deadline, attempts: int) -> DtlsClientResult:
        state: dict[str, str] = {}
        received = bytearray()
        changed = threading.Condition()
        first_line = len(self.log.lines)

        def on_stdout(data: bytes) -> None:
            with changed:
                received.extend(data)
                changed.notify_all()

        def on_stderr(line: str) -> None:
            key, _, value = line.partition(": ")
            state.setdefault(key, value)

        self.msgfile.unlink(missing_ok=True)
        process = self._process = OpensslProcess(self._args, self.log, on_stdout, on_stderr)
        process.write(payload)
        with changed:
            while len(received) < expect and process.running() and not budget.expired():
                changed.wait(0.1)
        process.close_stdin()  # s_client answers EOF on stdin with close_notify and exits
        returncode = process.finish()
        self._process = None
        return DtlsClientResult(
            handshake_ok="CONNECTION ESTABLISHED" in state,
            received=bytes(received),
            cipher=state.get("Ciphersuite"),
            peer_certificate=state.get("Peer certificate"),
            hello_verify_received=hello_verify_requests(self.msgfile, "<<<"),
            returncode=returncode,
            attempts=attempts,
            log="\n".join(self.log.lines[first_line:]),
        )
