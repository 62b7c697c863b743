"""Lossy and slow links: DTLS through the seeded UDP impairment proxy (drops, copies, delays and reorders, each
direction at its own rates), and TLS through TCP links that deliver one byte at a time or stall.

DTLS, one test per seed and direction: the board's client with `openssl s_server -dtls1_2`, `openssl s_client
-dtls1_2` with the board's server (HelloVerify on), and the board's client with an mpssl server (the unix binary)
as the other end. Each handshake either completes and the echo comes back intact, or ends in a clean timeout
(OSError ETIMEDOUT, or SSLError MBEDTLS_ERR_SSL_TIMEOUT once mbedTLS' retransmissions run out, about two minutes):
anything else fails, and so does a script that has not finished by the host's bound (a hang). The board's
sockets have a timeout, and a read that times out sends its line again under a new number, as a DTLS application
must (DTLS does not resend application data).

`MPSSL_LOSSY_SEEDS` seeds per direction (default 3; `make lossy SEEDS=20` for the long run). With
`MPSSL_LOSSY_REPORT=<file>` each seed's outcome is appended there as a JSON line, which `make lossy` sums up.
`MPSSL_LOSSY_BLACKOUT=1` (`make lossy`) adds a handshake that hears nothing back: it must give up by itself.

TCP: the board's TLS client through a proxy that forwards one byte per send completes and echoes; through proxies
that stall (the server silent from the start, in the middle of its flight, after a TLS 1.2 handshake) its socket
timeout ends each case with ETIMEDOUT, and the interpreter goes on to a good handshake.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import script

from mpssl_hil.board.target import RunResult, Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.common.waiting import Deadline
from mpssl_hil.peers import DtlsServer, TlsEchoServer
from mpssl_hil.peers.dtls import ETHERNET_MTU, mtu_args
from mpssl_hil.peers.impairment import Impairment, UdpImpairmentProxy
from mpssl_hil.peers.log import PeerLog
from mpssl_hil.peers.openssl import OpensslProcess, openssl_binary
from mpssl_hil.peers.slow_links import APPLICATION_DATA, StallingTcpProxy, TrickleTcpProxy
from mpssl_hil.plugin import peer_bind_address

pytestmark = [pytest.mark.needs_micropython, pytest.mark.needs("network")]

SEEDS = list(range(1, int(os.environ.get("MPSSL_LOSSY_SEEDS", "3")) + 1))
REPORT = os.environ.get("MPSSL_LOSSY_REPORT")
BLACKOUT = os.environ.get("MPSSL_LOSSY_BLACKOUT") == "1"
# Rough but livable: most handshakes complete after some retransmissions; each direction has its own rates.
LINK = {
    "to_server": Impairment(drop=0.15, duplicate=0.1, reorder=0.15, delay=(0.0, 0.05)),
    "to_client": Impairment(drop=0.2, duplicate=0.1, reorder=0.2, delay=(0.0, 0.08)),
}
SOCKET_TIMEOUT_S = 5  # the board client's echo reads; longer than any echo's round trip
SERVER_TIMEOUT_S = 20  # a board server's reads: longer than the client's backoff after a few lost hellos
ECHO_ATTEMPTS = 6
# The host's bound on a whole run: far past mbedTLS' own give-up (1 + 2 + ... + 60 s of retransmissions) and
# every echo attempt, so a script still running then hangs.
RUN_BOUND_S = 600
OUTCOMES = ("completed", "timeout")


def record(direction: str, seed: int, outcome: str, detail: dict[str, Any], proxy: UdpImpairmentProxy) -> None:
    """Print the seed's result (shown with -rA or -s) and append it to $MPSSL_LOSSY_REPORT."""
    line = {"direction": direction, "seed": seed, "outcome": outcome, **detail, "proxy": proxy.counts()}
    print(f"LOSSY {json.dumps(line)}")
    if REPORT:
        with open(REPORT, "a") as f:
            f.write(json.dumps(line) + "\n")


def finished(run: RunResult, proxy: UdpImpairmentProxy) -> dict[str, Any]:
    """The script ended on its own (no hang), cleanly, with one RESULT: return it."""
    context = f"{run.describe()}\n{proxy.describe()}\n{proxy.fate_log()}"
    assert not run.timed_out, f"{run.script} still running after {RUN_BOUND_S} s: a hang\n{context}"
    assert run.returncode == 0 and "DONE" in run.stdout, context
    result: dict[str, Any] = run.result()
    return result


def check_outcome(result: dict[str, Any], proxy: UdpImpairmentProxy, run: RunResult) -> None:
    context = f"{result}\n{proxy.describe()}\n{run.describe()}\n{proxy.fate_log()}"
    assert result["outcome"] in OUTCOMES, context
    counts = proxy.counts()
    impaired = sum(c["dropped"] + c["duplicated"] + c["reordered"] + c["held_alone"] + c["delayed"]
                   for c in counts.values())
    assert impaired > 0, f"the proxy did nothing to this seed's datagrams\n{context}"


def impairment_proxy(server: tuple[str, int], seed: int, host: str) -> UdpImpairmentProxy:
    return UdpImpairmentProxy(server, seed=seed, host=host, **LINK)


def client_args(target: Target, port: int, upper: bool) -> dict[str, Any]:
    return {"host": target.host_address, "port": port, "server_hostname": "localhost",
            "message": "over a lossy link", "timeout_s": SOCKET_TIMEOUT_S, "attempts": ECHO_ATTEMPTS,
            "upper": upper}


@pytest.mark.parametrize("seed", SEEDS)
def test_board_client_to_openssl_server(target: Target, dtls_server: Callable[..., DtlsServer], pki: Pki,
                                        pytestconfig: pytest.Config, seed: int) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key)
    with impairment_proxy(("127.0.0.1", server.port), seed, peer_bind_address(pytestconfig)) as proxy:
        run = target.run(script("dtls_lossy_client.py"), client_args(target, proxy.port, upper=False),
                         {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S)
    result = finished(run, proxy)
    record("board client -> openssl s_server", seed, result["outcome"], result, proxy)
    check_outcome(result, proxy, run)


@pytest.mark.parametrize("seed", SEEDS)
def test_board_client_to_mpssl_server(target: Target, micropython_bin: Path, tmp_path: Path, pki: Pki,
                                      pytestconfig: pytest.Config, seed: int, free_port: Callable[..., int]) -> None:
    """mpssl at both ends: the board's client, the unix binary's server (HelloVerify on) behind the proxy."""
    port = free_port("udp")
    peer = UnixTarget(micropython_bin, workdir_root=tmp_path)
    server = peer.start(script("dtls_lossy_server.py"),
                        {"host": "127.0.0.1", "port": port, "timeout_s": SERVER_TIMEOUT_S},
                        {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        server.wait_for_output("LISTENING", timeout=60)
        with impairment_proxy(("127.0.0.1", port), seed, peer_bind_address(pytestconfig)) as proxy:
            run = target.run(script("dtls_lossy_client.py"), client_args(target, proxy.port, upper=True),
                             {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S)
            server_run = server.wait(RUN_BOUND_S)
    finally:
        if server.running():
            server.kill()
    result = finished(run, proxy)
    server_result = finished(server_run, proxy)
    record("board client -> mpssl server", seed, result["outcome"], {"client": result, "server": server_result},
           proxy)
    check_outcome(result, proxy, run)
    check_outcome(server_result, proxy, server_run)
    if result["outcome"] == "completed":
        assert server_result["outcome"] == "completed", server_result


@pytest.mark.skipif(not BLACKOUT, reason="make lossy only (MPSSL_LOSSY_BLACKOUT=1): two minutes of retransmissions")
def test_board_client_gives_up_when_no_reply_arrives(target: Target, dtls_server: Callable[..., DtlsServer],
                                                     pki: Pki, pytestconfig: pytest.Config) -> None:
    """Every datagram to the board is lost: its blocking handshake resends the ClientHello on mbedTLS' schedule
    (1 s doubling to 60 s) and then fails with MBEDTLS_ERR_SSL_TIMEOUT, on its own: no hang, whatever the socket's
    timeout."""
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key)
    with UdpImpairmentProxy(("127.0.0.1", server.port), seed=0, host=peer_bind_address(pytestconfig),
                            to_client=Impairment(drop=1.0)) as proxy:
        run = target.run(script("dtls_lossy_client.py"), client_args(target, proxy.port, upper=False),
                         {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S)
    result = finished(run, proxy)
    record("board client, every reply lost", 0, result["outcome"], result, proxy)
    assert (result["outcome"], result["stage"], result["args"][0]) == ("timeout", "handshake", -0x6800), result
    hellos = proxy.stats["to_server"].received
    assert hellos >= 6, f"the ClientHello and its retransmissions: {hellos} datagrams\n{proxy.fate_log()}"


class OpensslLossyClient:
    """`openssl s_client -dtls1_2` sending numbered lines after its handshake: each line again under a new
    number when no echo came within `resend_s`, as dtls_lossy_client.py does. Bounded by `timeout` in all."""

    def __init__(self, host: str, port: int, cafile: Path, log: PeerLog) -> None:
        self.args = [openssl_binary(), "s_client", "-dtls1_2", "-connect", f"{host}:{port}", "-brief",
                     "-nocommands", "-CAfile", str(cafile), "-verify_return_error", "-servername", "localhost",
                     "-verify_hostname", "localhost", *mtu_args(ETHERNET_MTU)]
        self.log = log
        self.established = False
        self.received = b""
        self.sent: list[bytes] = []
        self._changed = threading.Condition()

    def exchange(self, message: str, attempts: int, resend_s: float, timeout: float) -> dict[str, Any]:
        budget = Deadline(timeout)

        def on_stdout(data: bytes) -> None:
            with self._changed:
                self.received += data
                self._changed.notify_all()

        def on_stderr(line: str) -> None:
            with self._changed:
                self.established = self.established or line.startswith("CONNECTION ESTABLISHED")
                self._changed.notify_all()

        process = OpensslProcess(self.args, self.log, on_stdout, on_stderr)
        try:
            with self._changed:
                self._changed.wait_for(lambda: self.established or not process.running(), budget.remaining())
            for k in range(attempts if self.established else 0):
                line = f"{message} {k}\n".encode()
                self.sent.append(line.upper())
                process.write(line)
                with self._changed:
                    self._changed.wait_for(lambda: b"\n" in self.received or not process.running(),
                                           min(resend_s, budget.remaining()))
                    if b"\n" in self.received or not process.running() or budget.expired():
                        break
        finally:
            process.close_stdin()  # s_client sends close_notify and exits
            returncode = process.finish()
        lines = self.received.split(b"\n")
        intact = len(lines) > 1 and lines[-1] == b"" and all(x + b"\n" in self.sent for x in lines[:-1])
        return {"established": self.established, "received": self.received.decode(errors="replace"),
                "sent": len(self.sent), "intact": intact, "returncode": returncode}


@pytest.mark.needs("inbound")
@pytest.mark.parametrize("seed", SEEDS)
def test_openssl_client_to_board_server(target: Target, pki: Pki, pytestconfig: pytest.Config,
                                        peer_log_dir: Path | None, seed: int) -> None:
    port = target.server_port("udp")
    board = target.start(script("dtls_lossy_server.py"),
                         {"host": port.board_host, "port": port.board_port, "timeout_s": SERVER_TIMEOUT_S},
                         {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        board.wait_for_output("LISTENING", timeout=120)
        with impairment_proxy((port.host, port.host_port), seed, peer_bind_address(pytestconfig)) as proxy:
            client = OpensslLossyClient("127.0.0.1", proxy.port, pki.root_ca.cert,
                                        PeerLog(f"dtls_lossy_client_{seed}", peer_log_dir))
            peer = client.exchange("over a lossy link", ECHO_ATTEMPTS, SOCKET_TIMEOUT_S, RUN_BOUND_S / 2)
            run = board.wait(RUN_BOUND_S)
    finally:
        if board.running():
            board.kill()
    result = finished(run, proxy)
    record("openssl s_client -> board server", seed, result["outcome"], {"board": result, "openssl": peer}, proxy)
    check_outcome(result, proxy, run)
    if result["outcome"] == "completed":
        assert result["hello_verify"] >= 1, result
    if peer["received"]:
        assert peer["intact"], f"{peer}\n{client.log.text()}"


@pytest.mark.parametrize("dtls", [True, False], ids=["dtls", "tls"])
def test_a_read_timeout_leaves_the_connection_usable(target: Target, dtls: bool,
                                                     dtls_server: Callable[..., DtlsServer],
                                                     tls_server: Callable[..., TlsEchoServer], pki: Pki) -> None:
    """The socket's timeout ends a read with OSError ETIMEDOUT, and the SSLSocket stays usable: the next write and
    read echo, as in CPython. (A lossy DTLS link needs it: a lost datagram shows as a read that times out, and the
    application sends again. The socket used to keep ETIMEDOUT as a fatal error and raise it on every call.)"""
    server = (dtls_server if dtls else tls_server)(pki.server_ec.chain, pki.server_ec.key)
    result = target.run(script("timeout_then_echo.py"),
                        {"host": target.host_address, "port": server.port, "dtls": dtls, "timeout_s": 1},
                        {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S).check().result()
    assert (result["timeouts"], result["echo"]) == (["ETIMEDOUT", "ETIMEDOUT"], "after a timeout\n"), result
    assert result["version"].startswith("DTLSv1" if dtls else "TLSv1"), result


# ---- TCP: one byte at a time, and stalls ----


def test_tls_client_through_a_one_byte_link(target: Target, tls_server: Callable[..., TlsEchoServer], pki: Pki,
                                            pytestconfig: pytest.Config) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    with TrickleTcpProxy(("127.0.0.1", server.port), host=peer_bind_address(pytestconfig)) as proxy:
        run = target.run(script("tls_client.py"),
                         {"host": target.host_address, "port": proxy.port, "server_hostname": "localhost",
                          "payload_size": 300},
                         {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S)
        proxy.wait_for("the client closed", lambda: proxy.connections and proxy.connections[0].client_closed)
    result = run.check().result()
    assert result["ok"] and result["echoed"] == 300 and result["echo_matches"], result
    (conn,) = proxy.connections
    for way in ("to_server", "to_client"):
        assert conn.sends[way] == conn.forwarded[way] > 300, conn.describe()  # one byte per send


STALLS: dict[str, dict[str, int]] = {
    "server silent": {"stall_after": 0},
    "mid server flight": {"stall_after": 100},
    "after a TLS 1.2 handshake": {"stall_at_record": APPLICATION_DATA},
}


def test_tls_client_through_stalling_links(target: Target, tls_server: Callable[..., TlsEchoServer], pki: Pki,
                                           pytestconfig: pytest.Config) -> None:
    """Each stall ends in OSError ETIMEDOUT from the call that waited (the handshake, or the read after a TLS 1.2
    handshake), the socket keeps that error, and the interpreter goes on to a good handshake."""
    tls13 = tls_server(pki.server_ec.chain, pki.server_ec.key)
    tls12 = tls_server(pki.server_ec.chain, pki.server_ec.key, max_version=ssl.TLSVersion.TLSv1_2)
    bind = peer_bind_address(pytestconfig)
    proxies = {name: StallingTcpProxy(("127.0.0.1", (tls12 if "1.2" in name else tls13).port), host=bind, **stall)
               for name, stall in STALLS.items()}
    for proxy in proxies.values():
        proxy.start()
    try:
        cases = [[name, proxy.port] for name, proxy in proxies.items()]
        run = target.run(script("tls_stalled_client.py"),
                         {"host": target.host_address, "cases": cases, "timeout_s": 3, "good_port": tls13.port,
                          "server_hostname": "localhost"},
                         {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S)
        for proxy in proxies.values():
            proxy.wait_for("the client closed", lambda p=proxy: p.connections and p.connections[0].client_closed)
    finally:
        for proxy in proxies.values():
            proxy.stop()
    results = {r["case"]: r for r in run.check().results()}
    for name, proxy in proxies.items():
        (conn,) = proxy.connections
        assert conn.stalled, conn.describe()  # and silent since: what the client sent after is swallowed
        expected_stage = "read" if "1.2" in name else "handshake"
        assert results[name] == {"case": name, "outcome": "timeout", "stage": expected_stage, "again": "timeout"}, \
            f"{results[name]}\n{conn.describe()}"
    assert results["good"]["outcome"] == "completed", results["good"]
    assert "DONE" in run.stdout

