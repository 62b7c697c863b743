"""pytest plugin: options, markers and fixtures for running mpssl tests against targets and host peers.

- options.py: the command line, and what a named target that cannot be used turns into (an error);
- selection.py: `--target`/`--rig` parsed into the targets of the run;
- session.py: real boards opened once per session, the probe, markers checked, JUnit properties;
- fixtures.py: `target` (parametrized over the selected targets), peers, the PKI, the emulators.

Tests ask for what they need, not for a target by name: `@pytest.mark.needs("network")` runs a test on
every selected target whose capabilities include "network" (probe.py and board/target.py list them)."""

from __future__ import annotations

import pytest

from mpssl_hil.plugin.fixtures import (
    dtls_server,
    free_port_fixture,
    gc_heap_unix_target,
    micropython_bin,
    missing_micropython,
    peer_bind_address,
    peer_log_dir,
    pki,
    prepare_networked_board,
    qemu_board,
    qemu_board_target,
    qemu_firmware,
    qemu_session_target,
    qemu_target,
    require_selected,
    rp2040js_board,
    rp2040js_session_target,
    rp2040js_target,
    stm32_qemu_board,
    stm32_qemu_board_target,
    stm32_qemu_firmware,
    stm32_qemu_session_target,
    stm32_qemu_target,
    target,
    tls_server,
    unix_target,
)
from mpssl_hil.plugin.options import NAMED, NO_MICROPYTHON, TARGETS, pytest_addoption
from mpssl_hil.plugin.selection import gc_heap_ids, parse_targets, target_ids
from mpssl_hil.plugin.session import BOARDS, PluginBoards, selected_target
from mpssl_hil.rig.inventory import Rig, RigBoard, RigError

__all__ = [
    "NO_MICROPYTHON",
    "dtls_server",
    "free_port_fixture",
    "gc_heap_unix_target",
    "micropython_bin",
    "peer_bind_address",
    "peer_log_dir",
    "pki",
    "prepare_networked_board",
    "pytest_addoption",
    "qemu_board",
    "qemu_board_target",
    "qemu_firmware",
    "qemu_session_target",
    "qemu_target",
    "rp2040js_board",
    "rp2040js_session_target",
    "rp2040js_target",
    "selected_target",
    "stm32_qemu_board",
    "stm32_qemu_board_target",
    "stm32_qemu_firmware",
    "stm32_qemu_session_target",
    "stm32_qemu_target",
    "target",
    "tls_server",
    "unix_target",
]

MARKERS = (
    "needs_micropython: needs the MicroPython checkout / built unix binary",
    "valgrind: runs the unix binary under valgrind",
    "needs(*capabilities): run only on targets with these: network, inbound, gc_heap, clock (the target's); "
    "dtls, tls13, lan, wlan, rtc (the firmware's)",
    "port(*families): run only on boards of these port families (rp2, esp32, stm32, qemu, unix)",
    "xdist_group(name): pytest-xdist's --dist loadgroup keeps a group on one worker (here: one board)",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    rig_path = config.getoption("--rig")
    try:
        rig = Rig.load(rig_path) if rig_path is not None else Rig()
        texts: list[str] | None = config.getoption("--target")
        if rig.boards:
            texts = [*(texts or []), *(rig_target(board) for board in rig.boards)]
        config.stash[TARGETS] = parse_targets(texts)
        config.stash[NAMED] = bool(texts)
    except (ValueError, RigError) as e:
        raise pytest.UsageError(str(e)) from e
    config.stash[BOARDS] = PluginBoards(config.getoption("--host-ip"), rig, config.getoption("--flash"))


def rig_target(board: RigBoard) -> str:
    """A rig board as a --target: by USB serial number where rig.toml gives one (found again after
    resets), else by port."""
    return f"id:{board.serial_number}" if board.serial_number else f"port:{board.port}"


def pytest_unconfigure(config: pytest.Config) -> None:
    if BOARDS in config.stash:
        config.stash[BOARDS].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`target` runs on the selected targets that can have what the test needs: "gc_heap" tests on the
    GC-heap unix build and the MCU boards, "network" tests not on targets without a network (rp2040js, stm32-qemu).
    Whether a target really has a capability is checked when the test runs (its probe)."""
    if "target" not in metafunc.fixturenames:
        return
    specs = metafunc.config.stash[TARGETS]
    needs = {c for marker in metafunc.definition.iter_markers("needs") for c in marker.args}
    networked = "network" in needs or "inbound" in needs
    ids = gc_heap_ids(specs, networked) if "gc_heap" in needs else target_ids(specs, networked)
    metafunc.parametrize("target", ids, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist's `--dist loadgroup` every test of one board goes to the same worker."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "target" in params:
            item.add_marker(pytest.mark.xdist_group(str(params["target"])))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip marked tests, and tests that use `micropython_bin` even indirectly, from this one place:
    the same location and reason make the summary show a single "SKIPPED [n]" line (an error instead
    when the user named `--target unix`)."""
    fixtures = getattr(item, "fixturenames", ())
    if "micropython_bin" in fixtures and "target" not in fixtures:
        # The unix build's own tests (valgrind, upstream's suites): not when --target leaves unix out.
        require_selected(item.config, "unix")
    needs = item.get_closest_marker("needs_micropython") or "micropython_bin" in fixtures
    if needs:
        reason = missing_micropython(item.config)
        if reason:
            pytest.skip(reason)
