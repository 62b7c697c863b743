"""A seeded UDP impairment proxy: it sits between a DTLS client and server and drops, duplicates, delays and
reorders their datagrams, each direction at its own rates, so tests can show that a handshake over a bad link
either completes or ends in a timeout error, and never hangs.

What happens to a datagram is decided by `random.Random` seeded with the proxy's seed and the direction (its
`Fate`): the n-th datagram of a direction meets the same fate in every run with that seed, whatever the other
direction does. Draws are made in a fixed order whatever is decided, so a fate depends only on (seed, direction,
index) and `plan()` can list them without running a proxy. When the proxy then sends what it kept depends on the
clock (delays, and a held datagram waits at most `hold_s` for one to overtake it), so the order on the wire is
deterministic only for traffic that does not race those clocks.

Each direction keeps counts of what was done (`DirectionStats`), so a test can check that the impairment really
happened, and a bounded log of the fates applied. The queue of datagrams waiting for their time is bounded
(`queue_limit`); past it a datagram is dropped and counted as `overflowed`.

`LossyUdpRelay` is the same proxy with no random impairment, dropping only the datagrams it is told to by index.
"""

from __future__ import annotations

import heapq
import itertools
import random
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Literal

Direction = Literal["to_server", "to_client"]
DIRECTIONS: tuple[Direction, Direction] = ("to_server", "to_client")
MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class Impairment:
    """What one direction of the link does to datagrams: each is dropped with probability `drop`; one that is
    kept is sent twice with probability `duplicate`, held back until the next one of its direction has gone
    (reordered) with probability `reorder`, and waits a time drawn uniformly from `delay` (seconds, lo..hi)."""

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], not {value}")
        lo, hi = self.delay
        if not 0.0 <= lo <= hi:
            raise ValueError(f"delay must be (lo, hi) seconds with 0 <= lo <= hi, not {self.delay}")

    def describe(self) -> str:
        return (f"drop {self.drop:.0%} dup {self.duplicate:.0%} reorder {self.reorder:.0%} "
                f"delay {self.delay[0] * 1000:.0f}-{self.delay[1] * 1000:.0f} ms")


CLEAN = Impairment()


@dataclass(frozen=True)
class Fate:
    """What the proxy does with the `index`-th datagram (0-based) of a direction."""

    index: int
    drop: bool
    duplicate: bool
    hold: bool  # held back until the next datagram of the direction has been sent
    delay: float  # seconds

    def describe(self) -> str:
        if self.drop:
            return "drop"
        parts = ["dup" if self.duplicate else "", "hold" if self.hold else "",
                 f"+{self.delay * 1000:.0f}ms" if self.delay else ""]
        return " ".join(p for p in parts if p) or "pass"


def fates(seed: int, direction: Direction, impairment: Impairment,
          drop_indices: Iterable[int] = ()) -> Iterator[Fate]:
    """The fates of a direction's datagrams, in order, for `seed`. Four draws per datagram, always; indices in
    `drop_indices` are dropped whatever was drawn."""
    rng = random.Random(f"mpssl-impairment/{seed}/{direction}")  # a str seed is hashed the same in every run
    forced = frozenset(drop_indices)
    lo, hi = impairment.delay
    for index in itertools.count():
        drop = rng.random() < impairment.drop or index in forced
        duplicate = rng.random() < impairment.duplicate
        hold = rng.random() < impairment.reorder
        delay = rng.uniform(lo, hi) if hi > 0 else 0.0
        if drop:
            yield Fate(index, True, False, False, 0.0)
        else:
            yield Fate(index, False, duplicate, hold, delay)


def plan(seed: int, direction: Direction, impairment: Impairment, count: int) -> list[Fate]:
    """The first `count` fates of a direction: what a proxy with this seed does, without running one."""
    return list(itertools.islice(fates(seed, direction, impairment), count))


@dataclass
class DirectionStats:
    """What the proxy did in one direction. `sent` counts datagrams sent on, copies included."""

    received: int = 0
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0  # held datagrams that another one overtook
    held_alone: int = 0  # held datagrams sent after `hold_s` with none to overtake them (only delayed)
    overflowed: int = 0  # dropped because the queue was full
    send_errors: int = 0  # e.g. ECONNREFUSED: the receiver was not (yet, or any more) there

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(order=True)
class _Queued:
    due: float
    order: int
    direction: Direction = field(compare=False)
    data: bytes = field(compare=False)


class UdpImpairmentProxy:
    """Listens on an ephemeral UDP port of `host` (`port`) for the client; forwards its datagrams to `server`
    ((host, port), or a port on `host`) and the answers back to the client's latest address, impairing each
    direction as `to_server` / `to_client` say, with decisions drawn from `seed`.

    A held datagram (reorder) is sent right after the next datagram of its direction, or after `hold_s`
    seconds if none comes. The queue of datagrams waiting for their time holds `queue_limit` at most. The
    last `log_limit` fates applied are kept in `log` as (seconds since start, direction, index, fate)."""

    def __init__(
        self,
        server: tuple[str, int] | int,
        seed: int = 0,
        to_server: Impairment = CLEAN,
        to_client: Impairment = CLEAN,
        host: str = "127.0.0.1",
        queue_limit: int = 256,
        hold_s: float = 0.25,
        drop_to_server: Iterable[int] = (),
        drop_to_client: Iterable[int] = (),
        log_limit: int = 4096,
    ) -> None:
        self.seed = seed
        self.impairments: dict[Direction, Impairment] = {"to_server": to_server, "to_client": to_client}
        self.queue_limit = queue_limit
        self.hold_s = hold_s
        self.log_limit = log_limit
        self.stats: dict[Direction, DirectionStats] = {d: DirectionStats() for d in DIRECTIONS}
        self.log: list[tuple[float, Direction, int, str]] = []
        self._fates: dict[Direction, Iterator[Fate]] = {
            "to_server": fates(seed, "to_server", to_server, drop_to_server),
            "to_client": fates(seed, "to_client", to_client, drop_to_client),
        }
        server_address = (host, server) if isinstance(server, int) else server
        self._client_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._server_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._client_side.bind((host, 0))
            self._server_side.connect(server_address)
        except OSError:
            self._client_side.close()
            self._server_side.close()
            raise
        self.port: int = self._client_side.getsockname()[1]
        self.server_address = server_address
        self.client: tuple[str, int] | None = None  # the latest address the client sent from
        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._held: dict[Direction, tuple[float, bytes] | None] = {d: None for d in DIRECTIONS}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"udp-impairment-{self.port}", daemon=True)

    def __enter__(self) -> UdpImpairmentProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop forwarding (what is still queued or held is dropped) and close both sockets."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._client_side.close()
        self._server_side.close()

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {d: self.stats[d].as_dict() for d in DIRECTIONS}

    def describe(self) -> str:
        """The seed, the impairments and the counts, one line per direction."""
        with self._lock:
            return "\n".join(f"seed {self.seed} {d}: {self.impairments[d].describe()}: {self.stats[d].as_dict()}"
                             for d in DIRECTIONS)

    def fate_log(self) -> str:
        with self._lock:
            return "\n".join(f"{t:8.3f} {d} #{i}: {what}" for t, d, i, what in self.log)

    # ---- the forwarding thread ----

    def _run(self) -> None:
        sockets = [self._client_side, self._server_side]
        while not self._stop.is_set():
            ready, _, _ = select.select(sockets, [], [], self._next_wakeup())
            for sock in ready:
                try:
                    data, addr = sock.recvfrom(MAX_DATAGRAM)
                except OSError:
                    continue  # e.g. ICMP port unreachable from a server that is not up yet
                if sock is self._client_side:
                    self.client = addr
                    self._arrived("to_server", data)
                elif self.client is not None:
                    self._arrived("to_client", data)
            self._send_due()

    def _next_wakeup(self) -> float:
        now = time.monotonic()
        times = [self._queue[0].due] if self._queue else []
        times += [held[0] + self.hold_s for held in self._held.values() if held is not None]
        return min([0.05, *(max(0.0, t - now) for t in times)])

    def _arrived(self, direction: Direction, data: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            stats = self.stats[direction]
            stats.received += 1
            fate = next(self._fates[direction])
            if len(self.log) < self.log_limit:
                self.log.append((now - self._started, direction, fate.index, fate.describe()))
            if fate.drop:
                stats.dropped += 1
                return
            if fate.delay > 0:
                stats.delayed += 1
            held = self._held[direction]
            if fate.hold and held is None:
                self._held[direction] = (now, data)
                if fate.duplicate:
                    stats.duplicated += 1
                    self._enqueue(direction, data, now + fate.delay)  # the copy goes; the original waits
                return
            due = now + fate.delay
            self._enqueue(direction, data, due)
            if fate.duplicate:
                stats.duplicated += 1
                self._enqueue(direction, data, due)
            if held is not None:
                # The held datagram goes right after this one: it has been overtaken.
                self._held[direction] = None
                stats.reordered += 1
                self._enqueue(direction, held[1], due)

    def _enqueue(self, direction: Direction, data: bytes, due: float) -> None:
        if len(self._queue) >= self.queue_limit:
            self.stats[direction].overflowed += 1
            return
        heapq.heappush(self._queue, _Queued(due, next(self._order), direction, data))

    def _send_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            for direction, held in self._held.items():
                if held is not None and now - held[0] >= self.hold_s:
                    self._held[direction] = None
                    self.stats[direction].held_alone += 1
                    self._enqueue(direction, held[1], now)
            due = []
            while self._queue and self._queue[0].due <= now:
                due.append(heapq.heappop(self._queue))
        for item in due:
            self._send(item.direction, item.data)

    def _send(self, direction: Direction, data: bytes) -> None:
        try:
            if direction == "to_server":
                self._server_side.send(data)
            elif self.client is not None:
                self._client_side.sendto(data, self.client)
        except OSError:
            with self._lock:
                self.stats[direction].send_errors += 1
            return
        with self._lock:
            self.stats[direction].sent += 1


class LossyUdpRelay(UdpImpairmentProxy):
    """The proxy without random impairment: forwards the client's datagrams to `server_port` on `host` and
    the answers back, dropping the n-th datagram of each direction listed in `drop_to_server` /
    `drop_to_client` (0-based)."""

    def __init__(self, server_port: int, host: str = "127.0.0.1", drop_to_server: Iterable[int] = (),
                 drop_to_client: Iterable[int] = ()) -> None:
        super().__init__(server_port, host=host, drop_to_server=drop_to_server, drop_to_client=drop_to_client)

    @property
    def to_server(self) -> int:
        """Datagrams seen from the client, dropped ones included."""
        return self.stats["to_server"].received

    @property
    def to_client(self) -> int:
        return self.stats["to_client"].received

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self.stats.values())
