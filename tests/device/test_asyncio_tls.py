"""asyncio TLS under back-pressure: no byte may be lost when a non-blocking write hits WANT_WRITE.

The bug this guards against: a non-blocking `write()` that hits MBEDTLS_ERR_SSL_WANT_WRITE leaves an
encrypted record half sent inside mbedTLS. MicroPython's asyncio StreamWriter keeps the unsent bytes,
appends later write()s to them and drain() resends the whole, longer buffer; mbedTLS then flushes the
pending record and answers with the NEW length, so the bytes appended since are reported as sent but
never were.

Both roles, 8 connections at once (4 on the emulated qemu board, see QEMU_CONNECTIONS), 1 MiB each
way per connection:
- board client: `asyncio.open_connection(ssl=)` to a host `SlowEchoServer`;
- board server: `asyncio.start_server(ssl=)`, reached by host `slow_echo_clients`.
The host reads slowly (small reads, a pause after each, a small receive buffer), so the board's TCP
send buffer fills and its writes hit WANT_WRITE (on the unix port with a small SO_SNDBUF; on the qemu
board, whose user network never pushes back, the script makes the send buffer look full now and then).
The board writes 1..8000-byte chunks, 1 to 3 write()s per drain(), sizes from a seeded generator.
Byte counts and sha256 of both directions are compared for every connection, and the run must have
seen write()s held back and retried longer, or it tested nothing.

The issue asks for 20 passes in a row: MPSSL_ASYNCIO_REPEAT=20 runs each case 20 times (default 1),
e.g. `MPSSL_ASYNCIO_REPEAT=20 .venv/bin/pytest tests/device/test_asyncio_tls.py -x`.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.peers import SlowConsumer, SlowEchoConnection, SlowEchoServer, slow_echo_clients
from mpssl_hil.plugin import peer_bind_address

pytestmark = pytest.mark.needs_micropython

MIB = 1024 * 1024
CONNECTIONS = 8
SIZE = MIB
MAX_CHUNK = 8000
SEED = 20240611
CONSUMER = SlowConsumer(read_size=1024, pause=0.001, receive_buffer=4096, io_timeout=30.0)
STALL_S = 20  # the board gives up when no byte moved for this long (a hang), and reports its counts
DEADLINE_S = 400  # the board's own overall limit; the run's timeout is a little longer
RUN_TIMEOUT = DEADLINE_S + 60
# The unix port's sockets on loopback buffer megabytes, so 1 MiB would never meet WANT_WRITE: the
# script gives asyncio's sockets a 4 KiB SO_SNDBUF (Linux doubles it), like a board's lwIP.
UNIX_SEND_BUFFER = 4096
# The emulated qemu board, two differences (the size stays 1 MiB each way; a run takes seconds):
# - 4 connections, not 8: its lwIP heap (MEM_SIZE 24 KiB, 24 receive pbufs) carries about four busy
#   TCP streams. With 6 or 8, plain asyncio TCP without TLS stalls as well: the streams stop after
#   10-40 KiB each and the board hangs until the host gives up.
# - QEMU's user network acknowledges every segment at once and buffers megabytes in host sockets,
#   so a slow host reader never backs up the board's send buffer. The script wraps asyncio's
#   sockets so that about every QEMU_FULL_EVERY-th send takes only part of a record and the socket
#   then refuses writes for QEMU_FULL_MS, as a full lwIP send buffer would.
QEMU_CONNECTIONS = 4
QEMU_FULL_EVERY = 8
QEMU_FULL_MS = 2


def connections_on(target: Target) -> int:
    return QEMU_CONNECTIONS if target.name == "qemu" else CONNECTIONS


REPEAT = int(os.environ.get("MPSSL_ASYNCIO_REPEAT", "1"))
RUNS = [pytest.param(i, id=f"run{i + 1}of{REPEAT}") for i in range(REPEAT)] if REPEAT > 1 else [0]


def asyncio_sources() -> dict[str, Path]:
    """MicroPython's asyncio package, for boards whose firmware has none (the qemu board freezes no
    asyncio and has no _asyncio): the script installs it beside itself only when `import asyncio` fails."""
    checkout = Path(os.environ.get("MICROPY_DIR", Path.home() / ".cache" / "mpssl" / "micropython"))
    package = checkout / "extmod" / "asyncio"
    names = ("__init__.py", "core.py", "event.py", "funcs.py", "lock.py", "stream.py", "task.py")
    return {f"asyncio/{n}": package / n for n in names if (package / n).is_file()}


def board_args(target: Target, role: str, seed: int) -> dict[str, Any]:
    args: dict[str, Any] = {"role": role, "connections": connections_on(target), "size": SIZE, "seed": seed,
                            "max_chunk": MAX_CHUNK, "stall_s": STALL_S, "deadline_s": DEADLINE_S,
                            "server_hostname": "localhost"}
    if isinstance(target, UnixTarget):
        args.update(send_buffer=UNIX_SEND_BUFFER, send_buffer_option=[socket.SOL_SOCKET, socket.SO_SNDBUF])
    elif target.name == "qemu":
        args.update(full_every=QEMU_FULL_EVERY, full_ms=QEMU_FULL_MS)
    return args


def short(digest: str | None) -> str:
    return (digest or "-")[:16]


def compare(board: dict[str, Any], host: list[SlowEchoConnection], count: int) -> list[str]:
    """One line per connection whose counts or hashes differ, naming the connection and the byte counts."""
    problems = []
    by_index: dict[int, list[SlowEchoConnection]] = {}
    for h in host:
        if h.index is not None:
            by_index.setdefault(h.index, []).append(h)
    for h in host:
        if h.index is None:
            problems.append(f"host connection from {h.peer}: no header received ({h.end()})")
    boards = {c["index"]: c for c in board["connections"]}
    for i in range(count):
        b = boards.get(i)
        hs = by_index.get(i, [])
        if b is None:
            problems.append(f"connection {i}: the board has no record of it ({[h.describe() for h in hs]})")
            continue
        if len(hs) != 1:
            problems.append(f"connection {i}: the host saw it {len(hs)} times; board: wrote {b['sent']} B, "
                            f"received {b['received']} B, phase {b['phase']}, error {b['error']}")
            continue
        h = hs[0]
        host_received, host_echoed = h.received_sha256.hexdigest(), h.sent_sha256.hexdigest()
        # close_notify is not required: the board sends it best effort, without waiting, and a send
        # buffer that is full at that moment keeps it in; the host's end is reported, not checked.
        ok = (b["sent"] == SIZE and h.received == b["sent"] and host_received == b["sent_sha256"]
              and h.sent == h.received and b["received"] == h.sent and host_echoed == b["received_sha256"]
              and b["received_sha256"] == b["sent_sha256"] and b["error"] is None and h.error is None)
        if ok:
            continue
        short_by = b["sent"] - h.received
        shortfall = ""
        if short_by:
            unsent = f", {b['unsent']} of them still in StreamWriter's buffer" if b["unsent"] else ""
            shortfall = f", {short_by} B fewer than the board wrote{unsent}"
        problems.append(
            f"connection {i}: board wrote {b['sent']} B (sha256 {short(b['sent_sha256'])}), host received "
            f"{h.received} B (sha256 {short(host_received)}){shortfall}; "
            f"host echoed {h.sent} B (sha256 {short(host_echoed)}), board received {b['received']} B "
            f"(sha256 {short(b['received_sha256'])}); board phase {b['phase']}, error {b['error']}; "
            f"host end: {h.end()}; {b['stalled_writes']} write()s stalled, {b['appending_writes']} appended "
            f"to unsent bytes")
    return problems


def check(board: dict[str, Any], host: list[SlowEchoConnection], count: int, elapsed: float) -> None:
    problems = compare(board, host, count)
    stalled = sum(c["stalled_writes"] for c in board["connections"])
    appended = sum(c["appending_writes"] for c in board["connections"])
    summary = (f"{board['role']} role, {count} x {SIZE} B each way, board {board['ms']} ms "
               f"(connections: {[c['ms'] for c in board['connections']]} ms), "
               f"test {elapsed:.1f} s; {stalled} write()s stalled (WANT_WRITE), {appended} appended to unsent "
               f"bytes ({board['injected_full']} send-buffer-full episodes made up on the board); board gave up: "
               f"{board['stalled']}")
    print(summary)  # shown with -s or -rP: how hard the run pushed on WANT_WRITE
    if problems:
        pytest.fail(f"{summary}\n" + "\n".join(problems), pytrace=False)
    assert board["stalled"] is None, summary
    # The test is only worth something if the board's writes were held back: at least one write()
    # was not taken whole, and at least one was appended to bytes still unsent (a longer retry).
    assert stalled > 0 and appended > 0, f"the board never hit WANT_WRITE: nothing was tested\n{summary}"


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.needs("network")
def test_board_client_streams_through_slow_host(target: Target, pki: Pki, peer_log_dir: Path | None,
                                               pytestconfig: pytest.Config, run: int) -> None:
    bind = peer_bind_address(pytestconfig)
    started = time.monotonic()
    with SlowEchoServer(pki.server_ec.chain, pki.server_ec.key, CONSUMER, host=bind, log_dir=peer_log_dir) as server:
        args = board_args(target, "client", SEED + run)
        args.update(host=target.host_address, port=server.port)
        files = {"cafile": pki.root_ca.cert, **asyncio_sources()}
        result = target.run(script("asyncio_tls_echo.py"), args, files, timeout=RUN_TIMEOUT)
        board = result.check().result()
        host = server.wait_for_connections(args["connections"], timeout=CONSUMER.io_timeout + 10)
    check(board, host, args["connections"], time.monotonic() - started)


@pytest.mark.needs("inbound")
@pytest.mark.parametrize("run", RUNS)
@pytest.mark.needs("network")
def test_board_server_streams_to_slow_host_clients(target: Target, pki: Pki, peer_log_dir: Path | None,
                                                   run: int) -> None:
    started = time.monotonic()
    port = target.server_port("tcp")
    args = board_args(target, "server", SEED + run)
    args.update(host=port.board_host, port=port.board_port)
    files = {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, **asyncio_sources()}
    board_run = target.start(script("asyncio_tls_echo.py"), args, files)
    try:
        board_run.wait_for_output("LISTENING", timeout=60)
        host = slow_echo_clients(port.host, port.host_port, args["connections"], pki.root_ca.cert, consumer=CONSUMER,
                                 timeout=RUN_TIMEOUT, log_dir=peer_log_dir)
        result = board_run.wait(RUN_TIMEOUT)
    finally:
        if board_run.running():
            board_run.kill()
    board = result.check().result()
    check(board, host, args["connections"], time.monotonic() - started)
