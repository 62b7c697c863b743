"""pytest plugin: options, markers and fixtures for running mpssl tests against targets and host peers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from mpssl_hil.board.clock import ClockUnavailable, set_clock
from mpssl_hil.board.faketime import FaketimeUnavailable
from mpssl_hil.board.link import SerialBoardLink
from mpssl_hil.board.network import NetworkUnavailable, bring_up_lan
from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki, generate_pki
from mpssl_hil.common.ports import Transport, free_port
from mpssl_hil.emulators.qemu import QemuBoard, QemuUnavailable
from mpssl_hil.emulators.rp2040js import BOOTROM_ENV, Rp2040jsBoard, Rp2040jsUnavailable, bootrom_from
from mpssl_hil.peers.dtls import DtlsServer
from mpssl_hil.peers.tls import TlsEchoServer
from mpssl_hil.plugin.selection import USAGE, TargetKind, TargetSpec, gc_heap_ids, parse_targets, target_ids
from mpssl_hil.plugin.session import BoardSession, junit_properties, marker_skip_reason
from mpssl_hil.rig.inventory import Rig, RigBoard, RigError

NO_MICROPYTHON = "no build/unix/micropython: run `make` with a MicroPython checkout (MICROPY_DIR)"
MARKERS = (
    "needs_micropython: needs the MicroPython checkout / built unix binary",
    "valgrind: runs the unix binary under valgrind",
    "needs(*capabilities): skip on a target without these (dtls, tls13, lan, wlan, rtc)",
    "port(*families): run only on boards of these port families (rp2, esp32, stm32, qemu, unix)",
    "xdist_group(name): pytest-xdist's --dist loadgroup keeps a group on one worker (here: one board)",
)
TARGETS = pytest.StashKey[list[TargetSpec]]()
BOARDS = pytest.StashKey[BoardSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mpssl")
    group.addoption("--micropython", type=Path, default=None,
                    help="the unix MicroPython binary (default: <rootdir>/build/unix/micropython)")
    group.addoption("--qemu-firmware", type=Path, default=None,
                    help="the qemu board's firmware (default: <rootdir>/build/qemu-MPS2_AN385/firmware.elf)")
    group.addoption("--rp2040-bootrom", type=Path, default=bootrom_from(None),
                    help=f"the RP2040 B1 bootrom image the rp2040js target boots (default: ${BOOTROM_ENV})")
    group.addoption("--rp2040-firmware", type=Path, default=None,
                    help="the rp2040js target's firmware (default: <rootdir>/build/rp2-RPI_PICO_W/firmware.uf2)")
    group.addoption("--peer-log-dir", type=Path, default=None,
                    help="write every host peer's log to a file in this directory")
    group.addoption("--target", action="append", default=None, metavar="TARGET",
                    help=f"run the device tests on this target (repeatable): {USAGE.split(' takes ')[1]}; "
                         "default: unix, qemu and rp2040js")
    group.addoption("--rig", type=Path, default=None,
                    help="run the device tests on every board rig.toml lists (see tools/rig.example.toml)")
    group.addoption("--flash", action="store_true",
                    help="flash each board (--target/--rig) at session start, unless it already runs the image")
    group.addoption("--host-ip", default=None,
                    help="the host address a real board reaches the host peers by (networked tests on boards)")
    group.addoption("--board-log-dir", type=Path, default=None,
                    help="write each test's REPL transcript per board to <dir>/<test>/<board>.log")


def micropython_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--micropython")
    return given if given is not None else config.rootpath / "build" / "unix" / "micropython"


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    rig_path: Path | None = config.getoption("--rig")
    try:
        rig = Rig.load(rig_path) if rig_path is not None else Rig()
        texts: list[str] | None = config.getoption("--target")
        if rig.boards:
            texts = [*(texts or []), *(rig_target(board) for board in rig.boards)]
        config.stash[TARGETS] = parse_targets(texts)
    except (ValueError, RigError) as e:
        raise pytest.UsageError(str(e)) from e
    config.stash[BOARDS] = BoardSession(config.getoption("--host-ip"), rig, config.getoption("--flash"))


def rig_target(board: RigBoard) -> str:
    """A rig board as a --target: by USB serial number where rig.toml gives one (found again after
    resets), else by port."""
    return f"id:{board.serial_number}" if board.serial_number else f"port:{board.port}"


def pytest_unconfigure(config: pytest.Config) -> None:
    if BOARDS in config.stash:
        config.stash[BOARDS].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """offline_target, networked_target and gc_heap_target run on the selected targets."""
    specs = metafunc.config.stash[TARGETS]
    choices = {"offline_target": target_ids(specs, networked=False),  # keys: TARGET_FIXTURES
               "networked_target": target_ids(specs, networked=True),
               "gc_heap_target": gc_heap_ids(specs)}
    for fixture, ids in choices.items():
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, ids, indirect=True)


TARGET_FIXTURES = ("offline_target", "networked_target", "gc_heap_target")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist's `--dist loadgroup` every test of one board goes to the same worker."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for fixture in TARGET_FIXTURES:
            if fixture in params:
                item.add_marker(pytest.mark.xdist_group(str(params[fixture])))


def selected_target(request: pytest.FixtureRequest, param_id: str) -> Target:
    """The target a parametrized test runs on: skipped by its needs()/port() markers, its board and
    firmware recorded as JUnit properties, its REPL transcript logged when --board-log-dir is given, and
    retries after infrastructure failures recorded."""
    spec = next((s for s in request.config.stash[TARGETS] if s.param_id == param_id), None)
    session = request.config.stash[BOARDS]
    if spec is not None and spec.is_board:
        if "networked_target" in request.fixturenames and session.host_ip is None:
            pytest.skip(f"{param_id}: networked tests on a board need --host-ip, the address it reaches this host by")
        target: Target = session.board(spec)
    else:
        target = request.getfixturevalue(f"{param_id}_target")
    if isinstance(target, SerialBoardTarget) and target.health.quarantined:
        pytest.skip(target.health.quarantined)
    markers = [*request.node.iter_markers("needs"), *request.node.iter_markers("port")]
    probe, mbedtls = session.probe(target)
    reason = marker_skip_reason(markers, target.name, probe)
    if reason:
        pytest.skip(reason)
    for name, value in junit_properties(target, probe, mbedtls):
        request.node.user_properties.append((name, value))
    if isinstance(target, SerialBoardTarget):
        log_dir: Path | None = request.config.getoption("--board-log-dir")
        target.transcript = board_log_path(log_dir, request.node.nodeid, target.name) if log_dir else None
        retries_before = len(target.retries)

        def record_retries() -> None:
            for retry in target.retries[retries_before:]:
                request.node.user_properties.append(("retried", retry))

        request.addfinalizer(record_retries)
    return target


def require_selected(config: pytest.Config, kind: TargetKind) -> None:
    """Tests written for one target kind run only when it is selected (all are, without --target)."""
    if TargetSpec(kind) not in config.stash[TARGETS]:
        pytest.skip(f"{kind} is not among the selected targets (--target)")


def board_log_path(root: Path, nodeid: str, board: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.[]" else "_" for c in nodeid)
    return root / safe / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in board)}.log"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip marked tests, and tests that use `micropython_bin` even indirectly, from this one place:
    the same location and reason make the summary show a single "SKIPPED [n]" line."""
    needs = item.get_closest_marker("needs_micropython") or "micropython_bin" in getattr(
        item, "fixturenames", ()
    )
    if needs and not micropython_path(item.config).is_file():
        pytest.skip(NO_MICROPYTHON)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The generated test PKI, once per session."""
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def micropython_bin(pytestconfig: pytest.Config) -> Path:
    path = micropython_path(pytestconfig)
    if not path.is_file():
        pytest.skip(NO_MICROPYTHON)
    return path.resolve()


@pytest.fixture
def peer_log_dir(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Path | None:
    """Per-test directory for peer logs under --peer-log-dir, or None."""
    root: Path | None = pytestconfig.getoption("--peer-log-dir")
    if root is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_.[]" else "_" for c in request.node.nodeid)
    return root / safe


@pytest.fixture
def unix_target(micropython_bin: Path, tmp_path: Path, pytestconfig: pytest.Config) -> UnixTarget:
    require_selected(pytestconfig, "unix")
    return UnixTarget(micropython_bin, workdir_root=tmp_path)


@pytest.fixture
def shifted_clock_target(micropython_bin: Path, tmp_path: Path,
                         pytestconfig: pytest.Config) -> Callable[[str], UnixTarget]:
    """Factory: `shifted_clock_target("-400d")` is a UnixTarget whose wall clock follows libfaketime."""
    require_selected(pytestconfig, "unix")

    def make(faketime: str) -> UnixTarget:
        try:
            return UnixTarget(micropython_bin, faketime=faketime, workdir_root=tmp_path)
        except FaketimeUnavailable as e:
            pytest.skip(str(e))

    return make


class _Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


ServerT = TypeVar("ServerT", bound=_Server)


def peer_bind_address(config: pytest.Config) -> str:
    """Loopback, unless --host-ip says real boards reach this host over a network: then every interface,
    so the unix target (on loopback) and the boards reach the same peers."""
    return "0.0.0.0" if config.getoption("--host-ip") else "127.0.0.1"


def _started_servers(cls: Callable[..., ServerT], log_dir: Path | None,
                     bind_address: str = "127.0.0.1") -> Iterator[Callable[..., ServerT]]:
    """A factory fixture's body: each call starts a `cls` server; teardown stops them all."""
    servers: list[ServerT] = []

    def start(certfile: Path, keyfile: Path, **kwargs: Any) -> ServerT:
        kwargs.setdefault("log_dir", log_dir)
        kwargs.setdefault("host", bind_address)
        server = cls(certfile, keyfile, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def tls_server(peer_log_dir: Path | None, pytestconfig: pytest.Config) -> Iterator[Callable[..., TlsEchoServer]]:
    """Factory: `tls_server(certfile, keyfile, **TlsEchoServer options)` starts an echo server that is
    stopped at teardown."""
    yield from _started_servers(TlsEchoServer, peer_log_dir, peer_bind_address(pytestconfig))


@pytest.fixture
def dtls_server(peer_log_dir: Path | None, pytestconfig: pytest.Config) -> Iterator[Callable[..., DtlsServer]]:
    """Factory: `dtls_server(certfile, keyfile, **DtlsServer options)` starts an openssl DTLS echo server
    that is stopped at teardown."""
    yield from _started_servers(DtlsServer, peer_log_dir, peer_bind_address(pytestconfig))


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[..., int]:
    """`free_port("tcp" | "udp", host="127.0.0.1")`: a port that was free a moment ago."""

    def find(transport: Transport = "tcp", host: str = "127.0.0.1") -> int:
        return free_port(transport, host)

    return find


def qemu_firmware_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--qemu-firmware")
    return given if given is not None else config.rootpath / "build" / "qemu-MPS2_AN385" / "firmware.elf"


@pytest.fixture(scope="session")
def qemu_board(pytestconfig: pytest.Config) -> Iterator[QemuBoard]:
    """The emulated qemu board, started once per session."""
    require_selected(pytestconfig, "qemu")
    try:
        board = QemuBoard(qemu_firmware_path(pytestconfig))
        board.start()
    except QemuUnavailable as e:
        pytest.skip(str(e))
    yield board
    board.stop()


@pytest.fixture(scope="session")
def qemu_session_target(qemu_board: QemuBoard) -> Iterator[SerialBoardTarget]:
    """The qemu board as a target: its Ethernet up (DHCP on QEMU's user network) and its clock set to
    UTC and read back, as the runner prepares a real board."""
    target = qemu_board_target(qemu_board)
    try:
        with target.idle_transport() as transport:
            prepare_networked_board(transport)
    except (NetworkUnavailable, ClockUnavailable) as e:
        target.close()
        pytest.fail(f"the qemu board is not ready: {e}")
    yield target
    target.close()


def prepare_networked_board(transport: Any) -> None:
    bring_up_lan(transport)
    set_clock(transport)


def qemu_board_target(board: QemuBoard) -> SerialBoardTarget:
    """The qemu board as a target whose recovery ladder ends in restarting QEMU (a power cycle)."""
    return SerialBoardTarget(
        board.serial, name="qemu", host_address=board.host_address, forwards=board.forwards, delivery="copy",
        link=lambda transport: SerialBoardLink(transport, open_port=lambda: board.serial,
                                               prepare=prepare_networked_board, restart_emulator=board.restart))


@pytest.fixture
def qemu_target(qemu_session_target: SerialBoardTarget, tmp_path: Path) -> SerialBoardTarget:
    qemu_session_target.workdir_root = tmp_path
    return qemu_session_target


@pytest.fixture
def board_clock() -> Iterator[Callable[[SerialBoardTarget, dt.datetime], dt.datetime]]:
    """`board_clock(target, utc)` sets a board's RTC (read back and checked); at teardown every board it
    touched is set back to the current UTC time."""
    touched: list[SerialBoardTarget] = []

    def set_to(target: SerialBoardTarget, utc: dt.datetime) -> dt.datetime:
        touched.append(target)
        with target.idle_transport() as transport:
            return set_clock(transport, utc)

    yield set_to
    for target in touched:
        with target.idle_transport() as transport:
            set_clock(transport)


def rp2040_firmware_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--rp2040-firmware")
    return given if given is not None else config.rootpath / "build" / "rp2-RPI_PICO_W" / "firmware.uf2"


@pytest.fixture(scope="session")
def rp2040js_board(pytestconfig: pytest.Config) -> Iterator[Rp2040jsBoard]:
    """mpssl's RPI_PICO_W firmware on the rp2040js emulator, started once per session."""
    require_selected(pytestconfig, "rp2040js")
    try:
        board = Rp2040jsBoard(rp2040_firmware_path(pytestconfig), pytestconfig.getoption("--rp2040-bootrom"))
        board.start()
    except Rp2040jsUnavailable as e:
        pytest.skip(str(e))
    yield board
    board.stop()


@pytest.fixture(scope="session")
def rp2040js_session_target(rp2040js_board: Rp2040jsBoard) -> Iterator[SerialBoardTarget]:
    target = SerialBoardTarget(rp2040js_board.serial, name="rp2040js", host_address=rp2040js_board.host_address,
                               delivery=rp2040js_board.delivery)
    with target.idle_transport() as transport:  # certificate dates are checked against the board clock
        set_clock(transport)
    yield target
    target.close()


@pytest.fixture
def rp2040js_target(rp2040js_session_target: SerialBoardTarget, tmp_path: Path) -> SerialBoardTarget:
    rp2040js_session_target.workdir_root = tmp_path
    return rp2040js_session_target
