"""The hardware map of a rig: which boards are connected, what each one is and can do.

`rig.toml` (see tools/rig.example.toml) names the boards of a rig and says how to find each one (its
USB serial number, which survives replugging, or a fixed port), its port family, how to flash it and
with which image, capability overrides, and the USB hub port that power-cycles it (uhubctl).
`discover_boards` joins that file with the serial ports pyserial lists and with what each board answers
to a probe over its raw REPL (board_probe.py).
`mpssl-rig list` prints the result; the test runner selects boards from it by family and capability."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.discovery import PortInfo, serial_ports
from mpssl_hil.board.power import DEFAULT_OFF_SECONDS, MAX_HUB_PORT, MAX_OFF_SECONDS, PowerSwitch, hub_location_problem
from mpssl_hil.board.probe import BoardProbe, ProbeFailed, probe_board
from mpssl_hil.board.repl import BoardConnection, open_transport
from mpssl_hil.board.usb_ids import UNKNOWN, identify_usb, vid_pid

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport (a dependency there)
    import tomli as tomllib

FLASH_METHODS = ("esptool", "picotool", "uf2", "dfu-util", "st-flash")
PROBE_READ_TIMEOUT = 5.0  # seconds a single serial read may block while probing (None would be forever)


class RigError(ValueError):
    """rig.toml is not what this module understands; the message names the file and the board."""


@dataclass(frozen=True)
class RigBoard:
    """One `[[board]]` of rig.toml."""

    name: str
    serial_number: str | None = None
    port: str | None = None
    family: str | None = None
    board: str | None = None  # MicroPython BOARD name, e.g. "RPI_PICO_W": finds build/<family>-<board>/
    flash_method: str | None = None
    firmware: Path | None = None
    chip: str | None = None  # esptool's --chip, for esp32 boards
    capabilities: Mapping[str, bool] = field(default_factory=dict)  # True adds, False removes
    power: PowerSwitch | None = None  # the hub port uhubctl power-cycles it on, as the ladder's last rung

    def matches(self, port: str | None, serial_number: str | None) -> bool:
        if self.serial_number is not None:
            return serial_number is not None and serial_number == self.serial_number
        return port is not None and port == self.port

    def apply_overrides(self, found: frozenset[str]) -> frozenset[str]:
        added = {name for name, present in self.capabilities.items() if present}
        removed = {name for name, present in self.capabilities.items() if not present}
        return frozenset((found | added) - removed)


_STRING_KEYS = ("name", "serial_number", "port", "family", "board", "flash_method", "firmware", "chip")
_BOARD_KEYS = frozenset(_STRING_KEYS + ("capabilities", "power"))
_POWER_KEYS = ("hub", "port", "off_seconds", "uhubctl")
_POWER_EXAMPLE = '[board.power] with hub = "1-1.4" and port = 2'


def _power_switch(power: Any, where: str, base: Path) -> PowerSwitch:
    """`[board.power]`: the hub location and port that uhubctl switches, how long the power stays off,
    and where uhubctl is when it is not on PATH or in /usr/sbin."""
    where = f"{where}: power"
    if not isinstance(power, dict):
        raise RigError(f"{where} must be a table: {_POWER_EXAMPLE}")
    unknown = sorted(set(power) - set(_POWER_KEYS))
    if unknown:
        raise RigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_POWER_KEYS)})")
    missing = [key for key in ("hub", "port") if key not in power]
    if missing:
        raise RigError(f"{where}: needs {' and '.join(missing)}: {_POWER_EXAMPLE} (`uhubctl` lists the hubs)")
    hub, port = power["hub"], power["port"]
    if not isinstance(hub, str):
        raise RigError(f"{where}: hub must be a string like \"1-1.4\", not {hub!r}")
    problem = hub_location_problem(hub)
    if problem:
        raise RigError(f"{where}: {problem}")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_HUB_PORT:
        raise RigError(f"{where}: port must be the hub's port number, 1 to {MAX_HUB_PORT}, not {port!r}")
    off = power.get("off_seconds", DEFAULT_OFF_SECONDS)
    if isinstance(off, bool) or not isinstance(off, int | float) or not 0 < off <= MAX_OFF_SECONDS:
        raise RigError(f"{where}: off_seconds must be a number of seconds above 0 and at most "
                       f"{MAX_OFF_SECONDS:g}, not {off!r}")
    uhubctl = power.get("uhubctl")
    if uhubctl is not None and (not isinstance(uhubctl, str) or not uhubctl):
        raise RigError(f"{where}: uhubctl must be the path of the program, not {uhubctl!r}")
    return PowerSwitch(hub=hub, port=port, off_seconds=float(off),
                       uhubctl=None if uhubctl is None else base / Path(uhubctl).expanduser())


def _rig_board(entry: Any, where: str, base: Path) -> RigBoard:
    if not isinstance(entry, dict):
        raise RigError(f"{where}: each [[board]] must be a table")
    unknown = sorted(set(entry) - _BOARD_KEYS)
    if unknown:
        raise RigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_BOARD_KEYS))})")
    for key in _STRING_KEYS:
        if key in entry and not isinstance(entry[key], str):
            raise RigError(f"{where}: {key} must be a string, not {entry[key]!r}")
    if "name" not in entry:
        raise RigError(f"{where}: every board needs a name")
    where = f"{where} ({entry['name']})"
    if "serial_number" not in entry and "port" not in entry:
        raise RigError(f"{where}: say how to find the board: serial_number (preferred) or port")
    method = entry.get("flash_method")
    if method is not None and method not in FLASH_METHODS:
        raise RigError(f"{where}: flash_method {method!r} is not one of {', '.join(FLASH_METHODS)}")
    capabilities = entry.get("capabilities", {})
    if not isinstance(capabilities, dict) or not all(isinstance(v, bool) for v in capabilities.values()):
        raise RigError(f"{where}: capabilities must be a table of name = true/false, e.g. {{ dtls = false }}")
    firmware = entry.get("firmware")
    power = _power_switch(entry["power"], where, base) if "power" in entry else None
    return RigBoard(
        name=entry["name"], serial_number=entry.get("serial_number"), port=entry.get("port"),
        family=entry.get("family"), board=entry.get("board"), flash_method=method,
        firmware=None if firmware is None else (base / Path(firmware).expanduser()),
        chip=entry.get("chip"), capabilities=dict(capabilities), power=power,
    )


@dataclass(frozen=True)
class Rig:
    """The boards of one rig, as rig.toml lists them (`Rig()` is a rig with no file: nothing declared)."""

    boards: tuple[RigBoard, ...] = ()
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Rig:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as e:
            raise RigError(f"{path}: {e.strerror or e}") from e
        except tomllib.TOMLDecodeError as e:
            raise RigError(f"{path}: not valid TOML: {e}") from e
        unknown = sorted(set(data) - {"board"})
        if unknown:
            raise RigError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; boards are [[board]] tables")
        entries = data.get("board", [])
        if not isinstance(entries, list):
            raise RigError(f"{path}: boards are written [[board]], an array of tables")
        boards = tuple(_rig_board(entry, f"{path}: board {i + 1}", path.parent) for i, entry in enumerate(entries))
        names = [b.name for b in boards]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise RigError(f"{path}: board names must be unique: {', '.join(duplicates)}")
        return cls(boards, path)

    def find(self, key: str) -> RigBoard | None:
        """The board whose name, USB serial number or port is `key`."""
        for board in self.boards:
            if key in (board.name, board.serial_number, board.port):
                return board
        return None

    def board_for(self, port: str | None, serial_number: str | None) -> RigBoard | None:
        """The board declared for a connected port (by serial number where the file gives one)."""
        return next((b for b in self.boards if b.matches(port, serial_number)), None)


def open_serial_transport(device: str) -> BoardConnection:
    transport: BoardConnection = open_transport(device, read_timeout=PROBE_READ_TIMEOUT)
    return transport


@dataclass(frozen=True)
class BoardInfo:
    """One board of the rig: where it is connected, what it is, and what it answered."""

    port: str | None  # None: declared in rig.toml but not connected
    serial_number: str | None
    vid: int | None
    pid: int | None
    usb_description: str
    family: str  # "rp2", "esp32", "stm32", ... or "unknown"
    name: str | None = None  # from rig.toml
    micropython: str | None = None
    build: str | None = None
    mpssl: str | None = None
    capabilities: frozenset[str] = frozenset()
    problem: str | None = None  # why the board was not probed or did not answer
    rig_board: RigBoard | None = None

    @property
    def usb_id(self) -> str | None:
        return vid_pid(self.vid, self.pid)

    def as_json(self) -> dict[str, Any]:
        rig = self.rig_board
        return {
            "name": self.name, "port": self.port, "serial_number": self.serial_number, "usb_id": self.usb_id,
            "usb_description": self.usb_description, "family": self.family, "micropython": self.micropython,
            "build": self.build, "mpssl": self.mpssl, "capabilities": sorted(self.capabilities),
            "problem": self.problem,
            "flash_method": rig.flash_method if rig else None,
            "firmware": str(rig.firmware) if rig and rig.firmware else None,
            "power": None if rig is None or rig.power is None else {
                "hub": rig.power.hub, "port": rig.power.port, "off_seconds": rig.power.off_seconds,
                "uhubctl": None if rig.power.uhubctl is None else str(rig.power.uhubctl)},
        }


def probe_port(device: str, open_transport: Callable[[str], BoardConnection]) -> BoardProbe | str:
    """The board's answer, or why there is none (a string), never an exception for a silent board."""
    try:
        transport = open_transport(device)
    except (TransportError, OSError) as e:
        return f"could not open {device}: {e}"
    try:
        return probe_board(transport)
    except ProbeFailed as e:
        return str(e)
    finally:
        try:
            transport.close()
        except OSError:
            pass


def board_info(port: PortInfo, rig_board: RigBoard | None, answer: BoardProbe | str | None) -> BoardInfo:
    usb = identify_usb(port.vid, port.pid)
    probe = answer if isinstance(answer, BoardProbe) else None
    if rig_board is not None and rig_board.family:
        family = rig_board.family
    elif probe is not None:
        family = probe.family
    else:
        family = usb.family if usb else UNKNOWN
    found = probe.capabilities if probe else frozenset()
    return BoardInfo(
        port=port.device, serial_number=port.serial_number, vid=port.vid, pid=port.pid,
        usb_description=usb.description if usb else (port.description or ""),
        family=family, name=rig_board.name if rig_board else None,
        micropython=probe.micropython if probe else None, build=probe.build if probe else None,
        mpssl=probe.mpssl if probe else None,
        capabilities=rig_board.apply_overrides(found) if rig_board else found,
        problem=answer if isinstance(answer, str) else None, rig_board=rig_board,
    )


def missing_board_info(rig_board: RigBoard) -> BoardInfo:
    return BoardInfo(
        port=None, serial_number=rig_board.serial_number, vid=None, pid=None, usb_description="",
        family=rig_board.family or UNKNOWN, name=rig_board.name,
        capabilities=rig_board.apply_overrides(frozenset()), problem="not connected", rig_board=rig_board,
    )


def discover_boards(rig: Rig | None = None, *, list_ports: Callable[[], Iterable[PortInfo]] | None = None,
                    open_transport: Callable[[str], BoardConnection] | None = None,
                    probe: bool = True, all_ports: bool = False) -> list[BoardInfo]:
    """Every USB serial port (every port with `all_ports`) and every port rig.toml names, probed unless
    `probe` is False, then the rig's boards that are not connected.  Ports without USB ids (a PC's
    built-in UARTs) are skipped by default: probing writes Ctrl-C/Ctrl-A to them."""
    rig = rig or Rig()
    list_ports = list_ports or serial_ports
    open_transport = open_transport or open_serial_transport
    boards = []
    seen: set[str] = set()
    for port in sorted(list_ports(), key=lambda p: p.device):
        rig_board = rig.board_for(port.device, port.serial_number)
        if port.vid is None and rig_board is None and not all_ports:
            continue
        answer = probe_port(port.device, open_transport) if probe else None
        boards.append(board_info(port, rig_board, answer))
        if rig_board is not None:
            seen.add(rig_board.name)
    boards.extend(missing_board_info(b) for b in rig.boards if b.name not in seen)
    return boards


def format_table(boards: Sequence[BoardInfo]) -> str:
    header = ("PORT", "NAME", "FAMILY", "USB", "SERIAL", "MICROPYTHON", "MPSSL", "CAPABILITIES")
    rows = [header]
    for b in boards:
        answer = ", ".join(sorted(b.capabilities)) if b.problem is None else f"({b.problem})"
        rows.append((b.port or "-", b.name or "-", b.family, b.usb_id or "-", b.serial_number or "-",
                     b.micropython or "-", b.mpssl or "-", answer))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    descriptions = [f"{b.port}: {b.usb_description}" for b in boards if b.port and b.usb_description]
    descriptions += [f"{b.name}: power-cycled by uhubctl at {b.rig_board.power.describe()}"
                     for b in boards if b.rig_board is not None and b.rig_board.power is not None]
    return "\n".join(lines + ([""] + descriptions if descriptions else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpssl-rig", description="The boards of a hardware-in-the-loop rig.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list connected boards and what they run and can do")
    listing.add_argument("--rig", type=Path, help="rig.toml naming the boards (see tools/rig.example.toml)")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    listing.add_argument("--no-probe", action="store_true", help="only what USB says; do not talk to the boards")
    listing.add_argument("--all-ports", action="store_true", help="probe serial ports without USB ids too")
    args = parser.parse_args(argv)
    try:
        rig = Rig.load(args.rig) if args.rig else Rig()
    except RigError as e:
        print(f"mpssl-rig: {e}", file=sys.stderr)
        return 2
    boards = discover_boards(rig, probe=not args.no_probe, all_ports=args.all_ports)
    if args.json:
        text = json.dumps([b.as_json() for b in boards], indent=2)
    else:
        text = format_table(boards) if boards else "no USB serial ports found"
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `mpssl-rig list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
