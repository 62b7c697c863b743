"""The boards of one test session: real boards named with --target port:/id: or listed in --rig
rig.toml (opened once, locked, clock set in UTC, network joined for networked tests, recovered when
they hang), what each target is (probed once: family, versions,
capabilities), the `needs(...)`/`port(...)` markers checked against that, and the properties that go
into the JUnit report."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.clock import ClockSkewError, ClockUnavailable, set_clock
from mpssl_hil.board.link import SerialBoardLink
from mpssl_hil.board.lock import BoardBusy, BoardLock
from mpssl_hil.board.network import NetworkUnavailable, bring_up_board_network
from mpssl_hil.board.power import power_cycler
from mpssl_hil.board.probe import BoardProbe, ProbeFailed, probe_board
from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.board.usb_ids import identify_usb
from mpssl_hil.plugin.options import TARGETS
from mpssl_hil.plugin.selection import TargetSpec
from mpssl_hil.rig.inventory import PortInfo, Rig, serial_ports

INBOUND = "inbound"  # host clients reach servers on the board (needs("inbound"))
BOARD_SILENCE_TIMEOUT = 120.0  # a real board that prints nothing for this long counts as hung
LOCK_WAIT = 60.0  # seconds to wait for a board another process is using
MBEDTLS_SOURCE = "import ssl\nprint(getattr(ssl, 'MBEDTLS_VERSION', ''))\n"


def find_port(serial_number: str, ports: Callable[[], Iterable[PortInfo]] = serial_ports) -> str:
    """The serial device of the board with this USB serial number (it may change after a reset)."""
    for port in ports():
        if port.serial_number == serial_number:
            return port.device
    raise OSError(f"no serial port with USB serial number {serial_number} (is the board connected?)")


class BoardSession:
    """Real boards, opened on first use and closed at the end of the session."""

    def __init__(self, host_ip: str | None, rig: Rig | None = None, flash: bool = False) -> None:
        self.host_ip = host_ip
        self.flash = flash
        self.rig = rig or Rig()
        self.boards: dict[TargetSpec, SerialBoardTarget] = {}
        self.locks: list[BoardLock] = []
        self.probes: dict[str, tuple[BoardProbe, str | None]] = {}

    def board(self, spec: TargetSpec) -> SerialBoardTarget:
        if spec not in self.boards:
            self.boards[spec] = self._open(spec)
        return self.boards[spec]

    def _open(self, spec: TargetSpec) -> SerialBoardTarget:
        assert spec.value is not None
        serial_number = spec.value

        def open_port() -> str:
            return find_port(serial_number) if spec.kind == "id" else serial_number

        def prepare(transport: Any) -> None:
            set_clock(transport)

        lock = BoardLock(serial_number)
        try:
            lock.acquire(timeout=LOCK_WAIT)
        except BoardBusy as e:
            pytest.fail(f"{spec.param_id}: {e} (another test run is using it; wait for it or stop it)", pytrace=False)
        self.locks.append(lock)
        if self.flash:
            self._flash(spec, serial_number)
        try:
            device = open_port()
            declared = self.rig.find(serial_number)
            target = SerialBoardTarget(
                device, name=declared.name if declared else spec.param_id, host_address=self.host_ip, delivery="copy",
                silence_timeout=BOARD_SILENCE_TIMEOUT,
                link=lambda transport: SerialBoardLink(transport, open_port=open_port, prepare=prepare,
                                                       pulse_reset=resets_on_rts(device),
                                                       cycle_power=power_cycler(declared.power if declared else None)))
        except (OSError, TransportError) as e:  # no such port, or it cannot be opened (pyserial, mpremote)
            problem = f"{e}"
        else:
            problem = None
        if problem is not None:
            pytest.fail(f"{spec.param_id}: the board's serial port cannot be opened: {problem} (is it connected, "
                        "and no other program using it? `mpssl-rig list` shows the boards this host sees)",
                        pytrace=False)
        try:
            with target.idle_transport() as transport:
                set_clock(transport)  # certificate checks need the board's clock in UTC
                if self.host_ip is not None:  # networked tests will run: the board joins its network
                    bring_up_board_network(transport, self.capabilities(target, probe_board(transport)),
                                           dict(os.environ))
        except ClockUnavailable as e:
            target.close()
            pytest.fail(f"{spec.param_id}: {e}; certificate checks need the board's clock (firmware with "
                        "machine.RTC)", pytrace=False)
        except (ClockSkewError, NetworkUnavailable, ProbeFailed, TransportError) as e:
            target.close()
            pytest.fail(f"{spec.param_id}: the board is not ready: {type(e).__name__}: {e}", pytrace=False)
        return target

    def _flash(self, spec: TargetSpec, key: str) -> None:
        """--flash: write the board's image (rig.toml says which) unless it already runs it."""
        from mpssl_hil.flash.cli import FLASH_ERRORS, Flasher, flash_device
        from mpssl_hil.flash.images import FlashedImages, default_cache_path

        try:
            flash_device(Flasher(FlashedImages(default_cache_path())), key, self.rig.find(key))
        except FLASH_ERRORS as e:
            pytest.fail(f"{spec.param_id}: flashing failed: {e}")

    def probe(self, target: Target) -> tuple[BoardProbe, str | None]:
        """What the target runs and can do, and its mbedTLS version; asked once per board (or binary)."""
        key = probe_key(target)
        if key not in self.probes:
            probe = target.identity()
            probe = dataclasses.replace(probe, capabilities=self.capabilities(target, probe))
            self.probes[key] = (probe, target.exec(MBEDTLS_SOURCE).strip() or None)
        return self.probes[key]

    def capabilities(self, target: Target, probe: BoardProbe) -> frozenset[str]:
        """What the target says it can do (its firmware's answer and what the target adds), with
        rig.toml's overrides for the board applied."""
        declared = self.rig.find(target.name)
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


def marker_skip_reason(markers: Sequence[Any], target_name: str, probe: BoardProbe) -> str | None:
    """Why a test marked `needs("dtls", ...)` or `port("rp2", ...)` cannot run on this target, if so."""
    for marker in markers:
        if marker.name == "needs":
            missing = [c for c in marker.args if c not in probe.capabilities]
            if missing:
                return f"{target_name} lacks {', '.join(missing)} (has: {', '.join(sorted(probe.capabilities))})"
        if marker.name == "port" and probe.family not in marker.args:
            return f"{target_name} is a {probe.family} board; the test is for {', '.join(marker.args)}"
    return None


def junit_properties(target: Target, probe: BoardProbe, mbedtls: str | None) -> list[tuple[str, str]]:
    """What identifies the board and its firmware in the JUnit report."""
    port = getattr(target, "device", None) or (str(target.binary) if isinstance(target, UnixTarget) else "")
    return [
        ("board", target.name),
        ("port", port),
        ("family", probe.family),
        ("firmware", probe.build or probe.micropython),
        ("micropython", probe.micropython),
        ("mpssl", probe.mpssl or ""),
        ("mbedtls", mbedtls or ""),
        ("capabilities", ",".join(sorted(probe.capabilities))),
    ]


BOARDS = pytest.StashKey[BoardSession]()


def selected_target(request: pytest.FixtureRequest, param_id: str) -> Target:
    """The target a parametrized test runs on: skipped by its needs()/port() markers (a named board
    that cannot reach the host peers fails instead), its board and firmware recorded as JUnit
    properties, its REPL transcript logged when --board-log-dir is given, retries after infrastructure
    failures recorded, and a clock the test moved put back."""
    spec = next((s for s in request.config.stash[TARGETS] if s.param_id == param_id), None)
    session = request.config.stash[BOARDS]
    needs = {c for marker in request.node.iter_markers("needs") for c in marker.args}
    if spec is not None and spec.is_board:
        if "network" in needs and session.host_ip is None:
            pytest.fail(f"{param_id}: this test talks to host peers; give --host-ip, the address the board "
                        "reaches this host by", pytrace=False)
        target: Target = session.board(spec)
    else:
        target = request.getfixturevalue(f"{param_id.replace('-', '_')}_target")
    if isinstance(target, SerialBoardTarget) and target.health.quarantined:
        pytest.fail(target.health.quarantined, pytrace=False)
    markers = [*request.node.iter_markers("needs"), *request.node.iter_markers("port")]
    probe, mbedtls = session.probe(target)
    reason = marker_skip_reason(markers, target.name, probe)
    if reason:
        pytest.skip(reason)
    for name, value in junit_properties(target, probe, mbedtls):
        request.node.user_properties.append((name, value))

    def restore_clock() -> None:
        if target.clock_changed:
            target.set_clock(None)

    request.addfinalizer(restore_clock)
    if isinstance(target, SerialBoardTarget):
        log_dir: Path | None = request.config.getoption("--board-log-dir")
        target.transcript = board_log_path(log_dir, request.node.nodeid, target.name) if log_dir else None
        retries_before = len(target.retries)

        def record_retries() -> None:
            for retry in target.retries[retries_before:]:
                request.node.user_properties.append(("retried", retry))

        request.addfinalizer(record_retries)
    return target


def board_log_path(root: Path, nodeid: str, board: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.[]" else "_" for c in nodeid)
    return root / safe / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in board)}.log"
