"""Power-cycling a board with uhubctl, the recovery ladder's last rung, against a fake uhubctl (a script
that records its command line and exits as told) and a fake USB host: a board that hangs until its hub
port's power goes off and on, then enumerates anew, a few polls later, under another port name.  Also
rig.toml's `[board.power]` and what `mpssl-rig list` shows of it."""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board import link as link_module
from mpssl_hil.board import power, session
from mpssl_hil.board.discovery import find_port
from mpssl_hil.board.link import ALIVE, SerialBoardLink
from mpssl_hil.board.power import PowerCycleFailed, PowerSwitch, cycle, power_cycler
from mpssl_hil.board.recovery import recover
from mpssl_hil.common.tools import CommandTimedOut, ToolMissing
from mpssl_hil.rig import inventory
from mpssl_hil.rig.inventory import Rig, RigError

SERIAL = "E6614C311B7D5A2B"
HUB = "1-1.4"
NO_DEVICES = "No compatible devices detected at location 1-1.4!\nRun with -h to get usage info.\n"
NO_PERMISSION = "There were permission problems while accessing USB.\nFollow https://git.io/JIB2Z for a fix!\n"


def fake_uhubctl(directory: Path, exit_status: int = 0, stderr: str = "", sleep: float = 0) -> Path:
    """A `uhubctl` in `directory` that appends its arguments to `uhubctl.log` beside it, one line per call,
    and, when it succeeds, to `cycled.log` (the port's power went off and on)."""
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / "uhubctl"
    lines = ["#!/bin/sh", f"printf '%s\\n' \"$*\" >> '{directory / 'uhubctl.log'}'"]
    if sleep:
        lines.append(f"sleep {sleep}")
    lines += [f"printf '%s' '{stderr}' >&2", f'echo "Current status for hub {HUB}"']
    if exit_status == 0:
        lines.append(f"printf '%s\\n' \"$*\" >> '{directory / 'cycled.log'}'")
    lines.append(f"exit {exit_status}")
    program.write_text("\n".join(lines) + "\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def calls(program: Path) -> list[str]:
    log = program.parent / "uhubctl.log"
    return log.read_text().splitlines() if log.exists() else []


@dataclass
class FakePort:
    device: str
    serial_number: str | None
    vid: int | None = 0x2E8A
    pid: int | None = 0x0005
    description: str = "Board in FS mode"


class FakeSerial:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)


class FakeTransport:
    """What SerialBoardLink uses of mpremote's SerialTransport, on the fake USB host's board."""

    def __init__(self, host: FakeUsbHost, device: str) -> None:
        self.host = host
        self.device = device
        self.serial = FakeSerial()
        self.closed = False

    def _check(self) -> None:
        if self.closed or not self.host.answers(self.device):
            raise TransportError("could not enter raw repl")

    def enter_raw_repl(self, soft_reset: bool = True, timeout_overall: float | None = None) -> None:
        self._check()

    def exec(self, command: str) -> bytes:
        self._check()
        return ALIVE + b"\r\n"

    def exit_raw_repl(self) -> None:
        pass

    def exec_raw_no_follow(self, command: str) -> None:
        pass  # a hung board runs nothing, machine.reset() included

    def close(self) -> None:
        self.closed = True
        self.host.events.append(f"close {self.device}")


class FakeUsbHost:
    """One board on port `port` of hub `HUB`, hung until uhubctl (`program`) has power-cycled that port.
    Then it is gone for `absent_polls` port listings (enumerating anew) and comes back as /dev/ttyACM1,
    since the old name was still held open elsewhere, and answers."""

    def __init__(self, program: Path, absent_polls: int = 3) -> None:
        self.program = program
        self.absent_polls = absent_polls
        self.events: list[str] = []
        self.opened: list[FakeTransport] = []

    def power_cycled(self) -> bool:
        cycled = self.program.parent / "cycled.log"
        return cycled.exists() and any(line.startswith(f"-l {HUB} -p 2 -a cycle")
                                       for line in cycled.read_text().splitlines())

    def list_ports(self) -> list[FakePort]:
        if not self.power_cycled():
            return [FakePort("/dev/ttyACM0", SERIAL)]
        if self.absent_polls > 0:
            self.absent_polls -= 1
            return []
        return [FakePort("/dev/ttyACM1", SERIAL)]

    def answers(self, device: str) -> bool:
        return self.power_cycled() and device == "/dev/ttyACM1"

    def open(self, device: str, baudrate: int = 115200) -> FakeTransport:
        if device not in [p.device for p in self.list_ports()]:
            raise OSError(2, f"could not open port {device}: No such file or directory")
        self.events.append(f"open {device}")
        transport = FakeTransport(self, device)
        self.opened.append(transport)
        return transport

    def link(self, switch: PowerSwitch | None, prepared: list[str] | None = None) -> SerialBoardLink:
        def prepare(transport: FakeTransport) -> None:
            if prepared is not None:
                prepared.append(transport.device)

        return SerialBoardLink(self.open("/dev/ttyACM0"), open_port=lambda: find_port(SERIAL, self.list_ports),
                               prepare=prepare, cycle_power=power_cycler(switch), reconnect_timeout=0.2,
                               power_reconnect_timeout=30)


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake uhubctl's directory, first on PATH."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")
    yield directory


HostFactory = Callable[..., FakeUsbHost]


@pytest.fixture
def host_for(monkeypatch: pytest.MonkeyPatch) -> HostFactory:
    """`host_for(program, absent_polls=3)`: a FakeUsbHost whose ports SerialBoardLink opens."""
    def make(program: Path, absent_polls: int = 3) -> FakeUsbHost:
        host = FakeUsbHost(program, absent_polls)
        monkeypatch.setattr(link_module, "open_transport", host.open)
        return host

    return make


SWITCH = PowerSwitch(HUB, 2, off_seconds=0.5)


# -- the ladder's last rung ------------------------------------------------------------------------------------

def test_the_ladder_ends_in_a_power_cycle_that_brings_the_board_back(on_path: Path, host_for: HostFactory) -> None:
    program = fake_uhubctl(on_path)
    host = host_for(program)
    prepared: list[str] = []
    link = host.link(SWITCH, prepared)
    recovery = recover(link, answer_timeout=1)
    assert recovery.recovered, recovery.describe()
    assert recovery.steps == [
        "Ctrl-C: no answer",
        "soft reset: failed (TransportError: could not enter raw repl)",
        "machine.reset(): no answer",
        "hard reset: not available on this board",
        "power cycle: the board answers",
    ]
    assert calls(program) == [f"-l {HUB} -p 2 -a cycle -d 0.5"], "uhubctl ran once, on the board's hub port"
    assert link.transport.device == "/dev/ttyACM1", "found again by USB serial number under its new name"
    assert prepared == ["/dev/ttyACM0", "/dev/ttyACM1"], "the clock is set again after each reconnect"
    assert all(t.closed for t in host.opened[:-1]) and not link.transport.closed


def test_the_port_is_let_go_of_before_the_power_goes_off(host_for: HostFactory, tmp_path: Path) -> None:
    """So that the board can come back under the same name (a held tty makes the kernel pick another)."""
    host = host_for(tmp_path / "uhubctl")
    held: list[bool] = []
    link = SerialBoardLink(host.open("/dev/ttyACM0"), open_port=lambda: "/dev/ttyACM0",
                           cycle_power=lambda: held.append(not link.transport.closed))
    assert link.power_cycle() is True
    assert held == [False]


def test_the_reconnect_after_a_power_cycle_waits_longer_than_after_a_reset(on_path: Path,
                                                                            host_for: HostFactory) -> None:
    """The port is gone for 3 polls (about 1.5 s) while the board enumerates; the ordinary reconnect
    timeout (0.2 s here) would give up, the power cycle's does not, and the next reconnect is ordinary."""
    host = host_for(fake_uhubctl(on_path), absent_polls=3)
    link = host.link(SWITCH)
    assert link.power_cycle() is True
    link.reconnect()
    assert link.transport.device == "/dev/ttyACM1"
    host.absent_polls = 3
    with pytest.raises(OSError, match=f"no serial port with USB serial number {SERIAL}"):
        link.reconnect()


def test_a_board_without_a_hub_port_says_so(on_path: Path, host_for: HostFactory) -> None:
    program = fake_uhubctl(on_path)
    recovery = recover(host_for(program).link(None), answer_timeout=1)
    assert not recovery.recovered
    assert recovery.steps[-1] == "power cycle: not available on this board"
    assert calls(program) == []


def test_a_failing_uhubctl_is_reported_in_the_recovery_steps(on_path: Path, host_for: HostFactory) -> None:
    program = fake_uhubctl(on_path, exit_status=1, stderr=NO_DEVICES)
    host = host_for(program)
    link = host.link(SWITCH)
    recovery = recover(link, answer_timeout=1)
    assert not recovery.recovered
    assert recovery.steps[-1] == (
        f"power cycle: failed (PowerCycleFailed: {program} -l {HUB} -p 2 -a cycle -d 0.5 exited with status 1: "
        f"No compatible devices detected at location {HUB}!)")
    assert calls(program) == [f"-l {HUB} -p 2 -a cycle -d 0.5"]
    assert link.transport.device == "/dev/ttyACM0" and not link.transport.closed, \
        "the power stayed on: the link is open again for the next recovery"


def test_a_permission_problem_points_at_the_udev_rule(on_path: Path) -> None:
    fake_uhubctl(on_path, exit_status=1, stderr=NO_PERMISSION)
    with pytest.raises(PowerCycleFailed, match="permission problems .* needs root or a udev rule .* docs/hil.md"):
        cycle(SWITCH)


def test_uhubctl_that_hangs_is_stopped(on_path: Path) -> None:
    fake_uhubctl(on_path, sleep=30)
    with pytest.raises(CommandTimedOut, match=r"did not finish within 0.5s: uhubctl hung"):
        cycle(SWITCH, timeout=0.5)


def test_the_default_timeout_covers_the_off_time(on_path: Path) -> None:
    program = fake_uhubctl(on_path, sleep=1)
    cycle(PowerSwitch(HUB, 2, off_seconds=1))  # uhubctl itself waits the off time before it returns
    assert calls(program) == [f"-l {HUB} -p 2 -a cycle -d 1"]


# -- finding uhubctl ---------------------------------------------------------------------------------------------

def test_a_missing_uhubctl_names_its_debian_package(tmp_path: Path, on_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(power, "SBIN_DIRECTORIES", (tmp_path / "sbin",))
    with pytest.raises(ToolMissing, match=r"uhubctl is not installed \(looked in .*/sbin and PATH\); "
                                          r"it comes with the Debian package uhubctl"):
        cycle(SWITCH)


def test_a_missing_uhubctl_is_reported_in_the_recovery_steps(on_path: Path, host_for: HostFactory,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    host = host_for(on_path / "uhubctl")
    switch = PowerSwitch(HUB, 2, off_seconds=0.5, uhubctl=on_path / "absent" / "uhubctl")
    recovery = recover(host.link(switch), answer_timeout=1)
    assert recovery.steps[-1].startswith(f"power cycle: failed (ToolMissing: uhubctl is not at {on_path}/absent/")
    assert "Debian package uhubctl" in recovery.steps[-1]


def test_uhubctl_in_sbin_is_found_off_path(tmp_path: Path, on_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian installs /usr/sbin/uhubctl, which is not on a user's PATH."""
    program = fake_uhubctl(tmp_path / "sbin")
    monkeypatch.setattr(power, "SBIN_DIRECTORIES", (tmp_path / "sbin",))
    cycle(SWITCH)
    assert calls(program) == [f"-l {HUB} -p 2 -a cycle -d 0.5"]


def test_a_configured_uhubctl_is_run_and_not_the_one_on_path(tmp_path: Path, on_path: Path) -> None:
    on_path_program = fake_uhubctl(on_path)
    configured = fake_uhubctl(tmp_path / "elsewhere")
    cycle(PowerSwitch(HUB, 3, off_seconds=2, uhubctl=configured))
    assert calls(configured) == [f"-l {HUB} -p 3 -a cycle -d 2"] and calls(on_path_program) == []


def test_no_power_config_no_cycler() -> None:
    assert power_cycler(None) is None


def test_the_session_gives_a_rig_board_its_power_cycle(tmp_path: Path, on_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """BoardSession builds each real board's link with the power cycle of its `[board.power]`."""
    program = fake_uhubctl(on_path)
    rig = Rig.load(write_rig(tmp_path, f"""
[[board]]
name = "pico-w"
serial_number = "{SERIAL}"
power = {{ hub = "{HUB}", port = 2, off_seconds = 0.5 }}

[[board]]
name = "nucleo"
port = "/dev/ttyACM3"
"""))
    links: dict[str, Callable[[object], SerialBoardLink]] = {}

    class FakeTarget:
        def __init__(self, device: str, name: str, link: Callable[[object], SerialBoardLink], **_: object) -> None:
            links[name] = link

        @contextlib.contextmanager
        def idle_transport(self) -> Iterator[None]:
            yield None

    class FakeLock:
        def __init__(self, key: str) -> None:
            pass

        def acquire(self, timeout: float) -> None:
            pass

    monkeypatch.setattr(session, "BoardLock", FakeLock)
    monkeypatch.setattr(session, "SerialBoardTarget", FakeTarget)
    monkeypatch.setattr(session, "find_port", lambda serial_number: "/dev/ttyACM0")
    monkeypatch.setattr(session, "set_clock", lambda transport: None)
    monkeypatch.setattr(session, "resets_on_rts", lambda device: False)
    boards = session.BoardSession(None, declared=rig.find)
    boards.board(SERIAL, by_serial_number=True, label=f"id:{SERIAL}")
    boards.board("/dev/ttyACM3", by_serial_number=False, label="port:/dev/ttyACM3")
    transport = types.SimpleNamespace(close=lambda: None)
    assert links["pico-w"](transport).power_cycle() is True
    assert calls(program) == [f"-l {HUB} -p 2 -a cycle -d 0.5"]
    assert links["nucleo"](transport).power_cycle() is False


@pytest.mark.skipif(shutil.which("uhubctl") is None and not Path("/usr/sbin/uhubctl").exists(),
                    reason="uhubctl is not installed (the Debian package uhubctl)")
def test_the_real_uhubctl_takes_these_options() -> None:
    """The real uhubctl parses the command line (no "unrecognized option", no usage text) and refuses only
    because there is no hub at that location (or no permission to look): nothing is switched."""
    with pytest.raises(PowerCycleFailed) as failed:
        cycle(PowerSwitch("99-9.9", 1, off_seconds=0.5), timeout=30)
    message = str(failed.value)
    assert "exited with status 1" in message
    assert "No compatible devices detected at location 99-9.9" in message or "permission" in message, message
    assert "unrecognized" not in message and "Usage" not in message


# -- rig.toml ------------------------------------------------------------------------------------------------

def write_rig(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


def test_rig_toml_power_table(tmp_path: Path) -> None:
    rig = Rig.load(write_rig(tmp_path, f"""
[[board]]
name = "pico-w"
serial_number = "{SERIAL}"

[board.power]
hub = "1-1.4"
port = 2

[[board]]
name = "s3"
serial_number = "F4:12"
power = {{ hub = "3", port = 14, off_seconds = 5, uhubctl = "bin/uhubctl" }}

[[board]]
name = "nucleo"
port = "/dev/ttyACM3"
"""))
    pico, s3, nucleo = (rig.find(name) for name in ("pico-w", "s3", "nucleo"))
    assert pico is not None and pico.power == PowerSwitch("1-1.4", 2, off_seconds=2.0, uhubctl=None)
    assert s3 is not None and s3.power == PowerSwitch("3", 14, off_seconds=5.0, uhubctl=tmp_path / "bin/uhubctl")
    assert nucleo is not None and nucleo.power is None


@pytest.mark.parametrize(("power_toml", "message"), [
    ('power = "1-1.4:2"', r"must be a table: \[board.power\] with hub = \"1-1.4\" and port = 2"),
    ("power = { port = 2 }", "needs hub: "),
    ('power = { hub = "1-1" }', "needs port: "),
    ("power = {}", "needs hub and port"),
    ('power = { hub = 1, port = 2 }', "hub must be a string"),
    ('power = { hub = "1-1:4", port = 2 }', r"hub '1-1:4' is not a USB hub location like \"1-1.4\""),
    ('power = { hub = "usb1", port = 2 }', "hub 'usb1' is not a USB hub location"),
    ('power = { hub = "1-1", port = 0 }', "port must be the hub's port number, 1 to 14, not 0"),
    ('power = { hub = "1-1", port = 15 }', "1 to 14, not 15"),
    ('power = { hub = "1-1", port = "2" }', "1 to 14, not '2'"),
    ('power = { hub = "1-1", port = true }', "1 to 14, not True"),
    ('power = { hub = "1-1", port = 2, off_seconds = 0 }', "off_seconds must be a number of seconds above 0 "
                                                           "and at most 60, not 0"),
    ('power = { hub = "1-1", port = 2, off_seconds = 600 }', "at most 60, not 600"),
    ('power = { hub = "1-1", port = 2, off_seconds = "2s" }', "not '2s'"),
    ('power = { hub = "1-1", port = 2, uhubctl = 1 }', "uhubctl must be the path of the program, not 1"),
    ('power = { hub = "1-1", port = 2, delay = 2 }', r"unknown key\(s\) delay \(known: hub, port, "
                                                     r"off_seconds, uhubctl\)"),
])
def test_rig_toml_power_errors_name_the_problem(tmp_path: Path, power_toml: str, message: str) -> None:
    text = f'[[board]]\nname = "a"\nport = "/dev/x"\n{power_toml}\n'
    with pytest.raises(RigError, match=r"rig.toml: board 1 \(a\): power.*" + message):
        Rig.load(write_rig(tmp_path, text))


def test_the_example_rig_file_has_a_power_switched_board() -> None:
    rig = Rig.load(Path(__file__).resolve().parents[2] / "tools" / "rig.example.toml")
    assert any(board.power is not None for board in rig.boards)


def test_mpssl_rig_list_shows_the_power_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = write_rig(tmp_path, f"""
[[board]]
name = "pico-w"
serial_number = "{SERIAL}"
power = {{ hub = "1-1.4", port = 2, off_seconds = 3 }}
""")
    monkeypatch.setattr(inventory, "serial_ports", lambda: [])
    assert inventory.main(["list", "--rig", str(path), "--no-probe"]) == 0
    assert "pico-w: power-cycled by uhubctl at hub 1-1.4 port 2, off 3 s" in capsys.readouterr().out
    assert inventory.main(["list", "--rig", str(path), "--no-probe", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["power"] == {"hub": "1-1.4", "port": 2, "off_seconds": 3.0, "uhubctl": None}
