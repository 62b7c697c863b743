"""The real boards of one run: each opened once when a test first needs it, locked against other runs,
its clock set in UTC and its network joined (for networked tests), recovered when it hangs; and what
each target is (probed once: family, versions, capabilities). A board that cannot be used raises
`BoardUnusable`, whose message says what is missing and how to fix it (the plugin makes it an error)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, Protocol

from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.clock import ClockSkewError, ClockUnavailable, set_clock
from mpssl_hil.board.discovery import find_port, serial_ports
from mpssl_hil.board.link import SerialBoardLink
from mpssl_hil.board.lock import BoardBusy, BoardLock
from mpssl_hil.board.network import NetworkUnavailable, bring_up_board_network
from mpssl_hil.board.power import PowerSwitch, power_cycler
from mpssl_hil.board.probe import BoardProbe, ProbeFailed, probe_board
from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.target import Target
from mpssl_hil.board.usb_ids import identify_usb

BOARD_SILENCE_TIMEOUT = 120.0  # a real board that prints nothing for this long counts as hung
LOCK_WAIT = 60.0  # seconds to wait for a board another process is using
MBEDTLS_SOURCE = "import ssl\nprint(getattr(ssl, 'MBEDTLS_VERSION', ''))\n"


class BoardUnusable(RuntimeError):
    """A board the user named cannot be used; the message says what is missing and how to fix it."""


class BoardDeclaration(Protocol):
    """What a rig file says about one board (rig.inventory.RigBoard)."""

    @property
    def name(self) -> str | None: ...

    @property
    def power(self) -> PowerSwitch | None: ...

    def apply_overrides(self, found: frozenset[str]) -> frozenset[str]: ...


def no_declarations(key: str) -> BoardDeclaration | None:
    return None


class BoardSession:
    """Real boards, opened on first use and closed at the end of the run. `declared(key)` is what the rig
    file says of the board with this USB serial number, port or name; `before_open(key)` runs once the
    board is locked and before it is opened (flashing it)."""

    def __init__(self, host_ip: str | None, declared: Callable[[str], BoardDeclaration | None] = no_declarations,
                 before_open: Callable[[str], None] | None = None) -> None:
        self.host_ip = host_ip
        self.declared = declared
        self.before_open = before_open
        self.boards: dict[str, SerialBoardTarget] = {}
        self.locks: list[BoardLock] = []
        self.probes: dict[str, tuple[BoardProbe, str | None]] = {}

    def board(self, key: str, by_serial_number: bool, label: str) -> SerialBoardTarget:
        """The board at serial device `key`, or with USB serial number `key`; `label` names it in errors."""
        if key not in self.boards:
            self.boards[key] = self._open(key, by_serial_number, label)
        return self.boards[key]

    def _open(self, key: str, by_serial_number: bool, label: str) -> SerialBoardTarget:
        def open_port() -> str:
            return find_port(key) if by_serial_number else key

        def prepare(transport: Any) -> None:
            set_clock(transport)

        lock = BoardLock(key)
        try:
            lock.acquire(timeout=LOCK_WAIT)
        except BoardBusy as e:
            raise BoardUnusable(f"{label}: {e} (another test run is using it; wait for it or stop it)") from None
        self.locks.append(lock)
        if self.before_open is not None:
            self.before_open(key)
        declared = self.declared(key)
        try:
            device = open_port()
            target = SerialBoardTarget(
                device, name=(declared.name if declared else None) or label, host_address=self.host_ip,
                delivery="copy", silence_timeout=BOARD_SILENCE_TIMEOUT,
                link=lambda transport: SerialBoardLink(transport, open_port=open_port, prepare=prepare,
                                                       pulse_reset=resets_on_rts(device),
                                                       cycle_power=power_cycler(declared.power if declared else None)))
        except (OSError, TransportError) as e:  # no such port, or it cannot be opened (pyserial, mpremote)
            raise BoardUnusable(f"{label}: the board's serial port cannot be opened: {e} (is it connected, and no "
                                "other program using it? `mpssl-rig list` shows the boards this host sees)") from None
        try:
            with target.idle_transport() as transport:
                set_clock(transport)  # certificate checks need the board's clock in UTC
                if self.host_ip is not None:  # networked tests will run: the board joins its network
                    bring_up_board_network(transport, self.capabilities(target, probe_board(transport)),
                                           dict(os.environ))
        except ClockUnavailable as e:
            target.close()
            raise BoardUnusable(f"{label}: {e}; certificate checks need the board's clock (firmware with "
                                "machine.RTC)") from None
        except (ClockSkewError, NetworkUnavailable, ProbeFailed, TransportError) as e:
            target.close()
            raise BoardUnusable(f"{label}: the board is not ready: {type(e).__name__}: {e}") from None
        return target

    def probe(self, target: Target) -> tuple[BoardProbe, str | None]:
        """What the target runs and can do, and its mbedTLS version; asked once per board (or binary)."""
        key = probe_key(target)
        if key not in self.probes:
            probe = target.identity()
            probe = dataclasses.replace(probe, capabilities=self.capabilities(target, probe))
            self.probes[key] = (probe, target.exec(MBEDTLS_SOURCE).strip() or None)
        return self.probes[key]

    def capabilities(self, target: Target, probe: BoardProbe) -> frozenset[str]:
        """What the target says it can do (its firmware's answer and what the target adds), with the rig
        file's overrides for the board applied."""
        declared = self.declared(target.name)
        found = target.capabilities(probe)
        return declared.apply_overrides(found) if declared else found

    def close(self) -> None:
        for target in self.boards.values():
            target.close()
        for lock in self.locks:
            lock.release()


def probe_key(target: Target) -> str:
    """One probe per board and firmware: the unix targets of many tests share their binary's answer; a
    restarted emulator (a new pty) is asked again."""
    where = getattr(target, "device", None) or str(getattr(target, "binary", ""))
    return f"{type(target).__name__}:{target.name}:{where}"


def resets_on_rts(device: str) -> bool:
    """Whether the board sits behind a USB-UART bridge whose RTS line resets it (ESP32 dev boards)."""
    for port in serial_ports():
        if port.device == device:
            identity = identify_usb(port.vid, port.pid)
            return identity is not None and identity.link == "bridge"
    return False
