"""The UDP impairment proxy (tools/mpssl_hil/peers/impairment.py) between two CPython UDP sockets: a seed decides
the same drops, copies and reorderings every time, per direction, the rates are what was asked, delays hold
datagrams back, the queue is bounded, and the counts say what was done."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from mpssl_hil.common.waiting import wait_until
from mpssl_hil.peers.impairment import (
    Direction,
    Fate,
    Impairment,
    LossyUdpRelay,
    UdpImpairmentProxy,
    plan,
)

ROUGH = Impairment(drop=0.2, duplicate=0.15, reorder=0.2)
COUNT = 60  # datagrams per direction in the wire tests


def arrival_order(fates: list[Fate]) -> tuple[list[int], int, int]:
    """What the receiver gets when datagrams reach the proxy back to back without delays: dropped ones
    missing, copies twice, a held one after the next one kept (the copy of a held one goes at once); and how
    many held ones were overtaken, and sent alone at the end."""
    out: list[int] = []
    held: int | None = None
    overtaken = 0
    for fate in fates:
        if fate.drop:
            continue
        if fate.hold and held is None:
            held = fate.index
            out += [fate.index] if fate.duplicate else []
            continue
        out += [fate.index] * (2 if fate.duplicate else 1)
        if held is not None:
            out.append(held)
            held = None
            overtaken += 1
    return out + ([held] if held is not None else []), overtaken, int(held is not None)


@pytest.fixture
def udp_server() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def udp_client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def collect(sock: socket.socket, expected: int, timeout: float = 30.0, quiet: float = 0.3) -> list[int]:
    """Datagram numbers received until `expected` have come (bounded by `timeout`), and whatever follows within
    `quiet` seconds (extras would show there)."""
    got: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()) if len(got) < expected else quiet)
        try:
            data = sock.recv(100)
        except TimeoutError:
            break
        got.append(int(data))
    return got


def test_a_seed_plans_the_same_fates_every_time_and_per_direction() -> None:
    first = plan(7, "to_server", ROUGH, 500)
    assert first == plan(7, "to_server", ROUGH, 500)
    assert first != plan(8, "to_server", ROUGH, 500)
    assert first != plan(7, "to_client", ROUGH, 500), "each direction draws on its own"
    # A direction's fates do not depend on what the other direction is set to do.
    assert plan(7, "to_client", Impairment(drop=0.5), 100) == plan(7, "to_client", Impairment(drop=0.5), 100)
    assert [f.index for f in first] == list(range(500))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rates_are_what_was_asked(seed: int) -> None:
    n = 4000
    fates = plan(seed, "to_client", Impairment(drop=0.3, duplicate=0.1, reorder=0.2, delay=(0.01, 0.05)), n)
    kept = [f for f in fates if not f.drop]
    assert 0.27 < (n - len(kept)) / n < 0.33
    assert 0.08 < sum(f.duplicate for f in kept) / len(kept) < 0.12
    assert 0.17 < sum(f.hold for f in kept) / len(kept) < 0.23
    assert all(0.01 <= f.delay <= 0.05 for f in kept)
    assert all(not (f.duplicate or f.hold or f.delay) for f in fates if f.drop)


def test_a_clean_link_passes_everything_in_order(udp_server: socket.socket, udp_client: socket.socket) -> None:
    with UdpImpairmentProxy(udp_server.getsockname(), seed=1) as proxy:
        for i in range(COUNT):
            udp_client.sendto(b"%d" % i, ("127.0.0.1", proxy.port))
        assert collect(udp_server, COUNT) == list(range(COUNT))
    assert proxy.counts()["to_server"] == {"received": COUNT, "sent": COUNT, "dropped": 0, "duplicated": 0,
                                           "delayed": 0, "reordered": 0, "held_alone": 0, "overflowed": 0,
                                           "send_errors": 0}


def send_through(proxy: UdpImpairmentProxy, direction: Direction, server: socket.socket, client: socket.socket,
                 expected: int) -> list[int]:
    """COUNT numbered datagrams through the proxy in one direction, back to back; what the other end got."""
    if direction == "to_server":
        for i in range(COUNT):
            client.sendto(b"%d" % i, ("127.0.0.1", proxy.port))
        return collect(server, expected)
    client.sendto(b"-1", ("127.0.0.1", proxy.port))  # the proxy learns the client; the server the proxy
    server.settimeout(30)
    _, proxy_side = server.recvfrom(100)
    for i in range(COUNT):
        server.sendto(b"%d" % i, proxy_side)
    return collect(client, expected)


@pytest.mark.parametrize("direction", ["to_server", "to_client"])
@pytest.mark.parametrize("seed", [11, 12])
def test_a_seed_drops_copies_and_reorders_the_same_datagrams_every_run(
    direction: Direction, seed: int, udp_server: socket.socket, udp_client: socket.socket
) -> None:
    fates = plan(seed, direction, ROUGH, COUNT)
    expected, overtaken, alone = arrival_order(fates)
    assert expected != list(range(COUNT)), "this seed does something"
    runs = []
    for _run in range(2):
        # hold_s: a held datagram waits that long at most for the next one; the sender is much faster.
        impairments = {direction: ROUGH}
        with UdpImpairmentProxy(udp_server.getsockname(), seed=seed, hold_s=5.0, **impairments) as proxy:
            got = send_through(proxy, direction, udp_server, udp_client, len(expected))
        runs.append(got)
        stats = proxy.stats[direction]
        assert stats.received == COUNT
        assert stats.dropped == sum(f.drop for f in fates) > 0
        assert stats.duplicated == sum(f.duplicate for f in fates) > 0
        assert (stats.reordered, stats.held_alone) == (overtaken, alone)
        assert stats.reordered > 0
        assert stats.sent == len(expected)
        other = "to_client" if direction == "to_server" else "to_server"
        assert proxy.stats[other].dropped == proxy.stats[other].duplicated == proxy.stats[other].reordered == 0
    assert runs[0] == runs[1] == expected, proxy.fate_log()


def test_delays_hold_datagrams_back(udp_server: socket.socket, udp_client: socket.socket) -> None:
    lo, hi = 0.2, 0.4
    with UdpImpairmentProxy(udp_server.getsockname(), seed=3, to_server=Impairment(delay=(lo, hi))) as proxy:
        sent_at = {}
        for i in range(10):
            sent_at[i] = time.monotonic()
            udp_client.sendto(b"%d" % i, ("127.0.0.1", proxy.port))
        arrived = {}
        udp_server.settimeout(30)
        while len(arrived) < 10:
            data = udp_server.recv(100)  # before the clock is read: an assignment evaluates its value first
            arrived[int(data)] = time.monotonic()
    # A floor the proxy guarantees (it holds each datagram that long), not a timing of the machine.
    waited = {i: round(arrived[i] - sent_at[i], 3) for i in range(10)}
    assert all(w >= lo for w in waited.values()), repr(waited)
    assert proxy.stats["to_server"].delayed == 10


def test_the_queue_is_bounded(udp_server: socket.socket, udp_client: socket.socket) -> None:
    proxy = UdpImpairmentProxy(udp_server.getsockname(), seed=4, queue_limit=5, to_server=Impairment(delay=(30, 30)))
    with proxy:
        for i in range(20):
            udp_client.sendto(b"%d" % i, ("127.0.0.1", proxy.port))
        wait_until(lambda: proxy.stats["to_server"].received == 20, 30, 0.02,
                   message=lambda: f"the proxy saw {proxy.stats['to_server'].received} of 20 datagrams")
    assert proxy.stats["to_server"].overflowed == 15
    assert proxy.stats["to_server"].sent == 0  # due in 30 s; stop() dropped them


def test_lossy_relay_drops_the_datagrams_named(udp_server: socket.socket, udp_client: socket.socket) -> None:
    with LossyUdpRelay(udp_server.getsockname()[1], drop_to_server=[0, 3]) as relay:
        for i in range(6):
            udp_client.sendto(b"%d" % i, ("127.0.0.1", relay.port))
        assert collect(udp_server, 4) == [1, 2, 4, 5]
    assert (relay.to_server, relay.to_client, relay.dropped) == (6, 0, 2)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="drop"):
        Impairment(drop=1.5)
    with pytest.raises(ValueError, match="delay"):
        Impairment(delay=(0.5, 0.1))
