"""The plugin's side of the real boards (board/session.py): a board that cannot be used fails the test
that needed it; which target a test gets, the `needs(...)`/`port(...)` markers checked against its
probe, and the properties that go into the JUnit report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mpssl_hil.board.probe import BoardProbe
from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.session import BoardSession, BoardUnusable
from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.plugin.options import TARGETS
from mpssl_hil.plugin.selection import TargetSpec
from mpssl_hil.rig.inventory import Rig


class PluginBoards(BoardSession):
    """The run's BoardSession, with the rig file's declarations and --flash; `board(spec)` fails the
    test with the reason when the board cannot be used."""

    def __init__(self, host_ip: str | None, rig: Rig | None = None, flash: bool = False) -> None:
        self.rig = rig or Rig()
        self.flash = flash
        super().__init__(host_ip, declared=self.rig.find, before_open=self._flash if flash else None)

    def board_for(self, spec: TargetSpec) -> SerialBoardTarget:
        assert spec.value is not None
        try:
            return self.board(spec.value, by_serial_number=spec.kind == "id", label=spec.param_id)
        except BoardUnusable as e:
            message = str(e)
        pytest.fail(message, pytrace=False)

    def _flash(self, key: str) -> None:
        """--flash: write the board's image (rig.toml says which) unless it already runs it."""
        from mpssl_hil.flash.cli import FLASH_ERRORS, Flasher, flash_device
        from mpssl_hil.flash.images import FlashedImages, default_cache_path

        try:
            flash_device(Flasher(FlashedImages(default_cache_path())), key, self.rig.find(key))
        except FLASH_ERRORS as e:
            message = f"{key}: flashing failed: {e}"
        else:
            return
        pytest.fail(message, pytrace=False)


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


BOARDS = pytest.StashKey[PluginBoards]()


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
        target: Target = session.board_for(spec)
    else:
        target = request.getfixturevalue(f"{param_id.replace('-', '_')}_target")
    target.network_declared = "network" in needs
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
        target.network_declared = None  # a session target may next be used outside a device test
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
