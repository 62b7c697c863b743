"""The fixtures tests use: the test PKI, host peers, and the targets (the unix build, the emulated
boards, real boards through the session) as one parametrized `target`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from mpssl_hil.board.clock import ClockUnavailable, set_clock
from mpssl_hil.board.link import SerialBoardLink
from mpssl_hil.board.network import NetworkUnavailable, bring_up_lan
from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki, generate_pki
from mpssl_hil.common.ports import Transport, free_port
from mpssl_hil.emulators.qemu import QemuBoard, QemuUnavailable
from mpssl_hil.emulators.rp2040js import Rp2040jsBoard, Rp2040jsUnavailable
from mpssl_hil.emulators.stm32_qemu import Stm32QemuBoard
from mpssl_hil.peers.dtls import DtlsServer
from mpssl_hil.peers.tls import TlsEchoServer
from mpssl_hil.plugin.options import (
    NO_GC_HEAP_BUILD,
    NO_MICROPYTHON,
    gc_heap_micropython_path,
    micropython_path,
    named,
    qemu_firmware_path,
    rp2040_bootrom_path,
    rp2040_firmware_path,
    selected,
    stm32_qemu_firmware_path,
    unusable,
)
from mpssl_hil.plugin.session import selected_target

# An emulated board that prints nothing for this long counts as hung (as BOARD_SILENCE_TIMEOUT does
# for real boards); generous, since the slowest scripts on the emulated RP2040 print only at the end.
EMULATOR_SILENCE_TIMEOUT = 600.0


def require_selected(config: pytest.Config, kind: str) -> None:
    """Tests written for one target kind run only when it is selected (all are, without --target)."""
    if not selected(config, kind):  # type: ignore[arg-type]
        pytest.skip(f"{kind} is not among the selected targets (--target)")


def missing_micropython(config: pytest.Config) -> str | None:
    """Why the unix binary cannot be used, or None. A skip, unless the user named `--target unix`."""
    if micropython_path(config).is_file():
        return None
    if named(config) and selected(config, "unix"):
        pytest.fail(f"--target unix was named but cannot be used: {NO_MICROPYTHON}", pytrace=False)
    return NO_MICROPYTHON


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """The target a device test runs on: every selected target (`--target`; default unix, qemu and
    rp2040js) that has what the test's `needs(...)` markers ask for."""
    return selected_target(request, request.param)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The generated test PKI, once per session."""
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def micropython_bin(pytestconfig: pytest.Config) -> Path:
    reason = missing_micropython(pytestconfig)
    if reason:
        pytest.skip(reason)
    return micropython_path(pytestconfig).resolve()


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
def gc_heap_unix_target(micropython_bin: Path, tmp_path: Path, pytestconfig: pytest.Config) -> UnixTarget:
    """The unix build with mbedTLS on MicroPython's GC heap (make firmware MBEDTLS_HEAP=gc)."""
    binary = gc_heap_micropython_path(pytestconfig)
    if not binary.is_file():
        unusable(pytestconfig, "unix (its GC-heap build)", NO_GC_HEAP_BUILD)
    return UnixTarget(binary, workdir_root=tmp_path, name="unix-gc", gc_heap=True)


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


def usable_firmware(config: pytest.Config, kind: str, firmware: Path, board: type[QemuBoard]) -> Path:
    """`firmware` for tests that start their own QEMU (the emulator itself under test): skipped when
    `kind` is not selected, an error when it was named but the firmware or QEMU is missing."""
    require_selected(config, kind)
    try:
        board(firmware)  # checks that QEMU and the firmware are there; starts nothing
    except QemuUnavailable as e:
        problem = str(e)
    else:
        problem = None
    if problem is not None:
        unusable(config, kind, problem)
    return firmware


@pytest.fixture(scope="session")
def qemu_firmware(pytestconfig: pytest.Config) -> Path:
    """The qemu board's firmware, for tests that start their own board."""
    return usable_firmware(pytestconfig, "qemu", qemu_firmware_path(pytestconfig), QemuBoard)


@pytest.fixture(scope="session")
def stm32_qemu_firmware(pytestconfig: pytest.Config) -> Path:
    """The emulated STM32F405's firmware, for tests that start their own board."""
    return usable_firmware(pytestconfig, "stm32-qemu", stm32_qemu_firmware_path(pytestconfig), Stm32QemuBoard)


@pytest.fixture(scope="session")
def qemu_board(pytestconfig: pytest.Config) -> Iterator[QemuBoard]:
    """The emulated qemu board, started once per session."""
    require_selected(pytestconfig, "qemu")
    try:
        board = QemuBoard(qemu_firmware_path(pytestconfig))
        board.start()
    except QemuUnavailable as e:
        problem = str(e)
    else:
        problem = None
    if problem is not None:
        unusable(pytestconfig, "qemu", problem)
    yield board
    board.stop()


def prepare_networked_board(transport: Any) -> None:
    """What the runner does to a networked emulated board after it starts or restarts: Ethernet up
    (DHCP on QEMU's user network), and the clock set to UTC and read back."""
    bring_up_lan(transport)
    set_clock(transport)


def qemu_board_target(board: QemuBoard) -> SerialBoardTarget:
    """The qemu board as a target whose recovery ladder ends in restarting QEMU (a power cycle)."""
    return SerialBoardTarget(
        board.serial, name="qemu", host_address=board.host_address, forwards=board.forwards, delivery="copy",
        silence_timeout=EMULATOR_SILENCE_TIMEOUT,
        link=lambda transport: SerialBoardLink(transport, open_port=lambda: board.serial,
                                               prepare=prepare_networked_board, restart_emulator=board.restart))


@pytest.fixture(scope="session")
def qemu_session_target(qemu_board: QemuBoard, pytestconfig: pytest.Config) -> Iterator[SerialBoardTarget]:
    """The qemu board as a target, prepared as the runner prepares a real board."""
    target = qemu_board_target(qemu_board)
    try:
        with target.idle_transport() as transport:
            prepare_networked_board(transport)
    except (NetworkUnavailable, ClockUnavailable) as e:
        target.close()
        pytest.fail(f"the qemu board is not ready: {e}", pytrace=False)
    yield target
    target.close()


@pytest.fixture
def qemu_target(qemu_session_target: SerialBoardTarget, tmp_path: Path) -> SerialBoardTarget:
    qemu_session_target.workdir_root = tmp_path
    return qemu_session_target


@pytest.fixture(scope="session")
def rp2040js_board(pytestconfig: pytest.Config) -> Iterator[Rp2040jsBoard]:
    """mpssl's RPI_PICO_W firmware on the rp2040js emulator, started once per session."""
    require_selected(pytestconfig, "rp2040js")
    try:
        board = Rp2040jsBoard(rp2040_firmware_path(pytestconfig), rp2040_bootrom_path(pytestconfig))
        board.start()
    except Rp2040jsUnavailable as e:
        problem = str(e)
    else:
        problem = None
    if problem is not None:
        unusable(pytestconfig, "rp2040js", problem)
    yield board
    board.stop()


@pytest.fixture(scope="session")
def rp2040js_session_target(rp2040js_board: Rp2040jsBoard) -> Iterator[SerialBoardTarget]:
    target = SerialBoardTarget(rp2040js_board.serial, name="rp2040js", host_address=rp2040js_board.host_address,
                               delivery=rp2040js_board.delivery, silence_timeout=EMULATOR_SILENCE_TIMEOUT)
    try:
        with target.idle_transport() as transport:  # certificate dates are checked against the board clock
            set_clock(transport)
    except ClockUnavailable as e:
        target.close()
        pytest.fail(f"the rp2040js board's clock cannot be set: {e}", pytrace=False)
    yield target
    target.close()


@pytest.fixture
def rp2040js_target(rp2040js_session_target: SerialBoardTarget, tmp_path: Path) -> SerialBoardTarget:
    rp2040js_session_target.workdir_root = tmp_path
    return rp2040js_session_target


@pytest.fixture(scope="session")
def stm32_qemu_board(pytestconfig: pytest.Config) -> Iterator[Stm32QemuBoard]:
    """mpssl's QEMU_NETDUINO_PLUS_2 firmware on QEMU's netduinoplus2 (STM32F405), started once per
    session: skipped in the default set, an error when `--target stm32-qemu` was named, when QEMU or
    the firmware is missing."""
    require_selected(pytestconfig, "stm32-qemu")
    try:
        board = Stm32QemuBoard(stm32_qemu_firmware_path(pytestconfig))
        board.start()
    except QemuUnavailable as e:
        problem = str(e)
    else:
        problem = None
    if problem is not None:
        unusable(pytestconfig, "stm32-qemu", problem)
    yield board
    board.stop()


def stm32_qemu_board_target(board: Stm32QemuBoard) -> SerialBoardTarget:
    """The emulated STM32F405 as a target: each run's directory mounted, recovery ending in restarting
    QEMU (a power cycle, after which the clock is set again)."""
    return SerialBoardTarget(
        board.serial, name="stm32-qemu", host_address=board.host_address, delivery=board.delivery,
        silence_timeout=EMULATOR_SILENCE_TIMEOUT,
        link=lambda transport: SerialBoardLink(transport, open_port=lambda: board.serial,
                                               prepare=set_clock, restart_emulator=board.restart))


@pytest.fixture(scope="session")
def stm32_qemu_session_target(stm32_qemu_board: Stm32QemuBoard) -> Iterator[SerialBoardTarget]:
    target = stm32_qemu_board_target(stm32_qemu_board)
    try:
        with target.idle_transport() as transport:  # certificate dates are checked against the board clock
            set_clock(transport)
    except ClockUnavailable as e:
        target.close()
        pytest.fail(f"the stm32-qemu board's clock cannot be set: {e}", pytrace=False)
    yield target
    target.close()


@pytest.fixture
def stm32_qemu_target(stm32_qemu_session_target: SerialBoardTarget, tmp_path: Path) -> SerialBoardTarget:
    stm32_qemu_session_target.workdir_root = tmp_path
    return stm32_qemu_session_target
