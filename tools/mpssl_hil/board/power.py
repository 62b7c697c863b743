"""Power-cycling a board behind a USB hub that switches power per port, with uhubctl: the last rung of the
recovery ladder (board/recovery.py), for a board that no reset brings back.

`uhubctl -l <hub> -p <port> -a cycle -d <seconds>` turns the port's power off, waits, and turns it on
again; the board then enumerates anew and the ladder finds its serial port again by USB serial number.
rig.toml says where each board is plugged in (`[board.power]`, read by rig/inventory.py).  uhubctl is the
Debian package uhubctl; it installs to /usr/sbin, which is often not on a user's PATH, so that is looked
in too.  Without root it needs udev rules that open the hubs to the user (docs/hil.md)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mpssl_hil.common.tools import SBIN_DIRECTORIES, CommandTimedOut, ToolMissing, find_tool, missing_tool, run_tool

UHUBCTL = "uhubctl"
UHUBCTL_SOURCE = "the Debian package uhubctl (`apt-get install uhubctl`, which installs /usr/sbin/uhubctl)"
DEFAULT_OFF_SECONDS = 2.0  # uhubctl's own default delay for `-a cycle`
MAX_OFF_SECONDS = 60.0
MAX_HUB_PORT = 14  # uhubctl 2.5 (Debian 12) refuses port numbers above 14
COMMAND_GRACE = 60.0  # seconds uhubctl may take beyond the off time: it scans every hub on the machine
RECONNECT_TIMEOUT = 30.0  # seconds for the board to enumerate again once its power is back
HUB_LOCATION = re.compile(r"[0-9]+(-[0-9]+(\.[0-9]+)*)?")  # uhubctl's `-l`: bus, then the port chain: 1-1.4


class PowerCycleFailed(RuntimeError):
    """uhubctl ran and did not power-cycle the port; the message has what it said."""


def hub_location_problem(location: str) -> str | None:
    """Why `location` is not a uhubctl hub location, or None."""
    if HUB_LOCATION.fullmatch(location):
        return None
    return f"hub {location!r} is not a USB hub location like \"1-1.4\" (bus-port.port...; `uhubctl` lists them)"


@dataclass(frozen=True)
class PowerSwitch:
    """Where a board is plugged in: port `port` of the hub at USB location `hub`.  `off_seconds` is how long
    the power stays off; `uhubctl` names the program when it is not found on PATH or in /usr/sbin."""

    hub: str
    port: int
    off_seconds: float = DEFAULT_OFF_SECONDS
    uhubctl: Path | None = None

    def describe(self) -> str:
        return f"hub {self.hub} port {self.port}, off {self.off_seconds:g} s"

    def command(self, program: str) -> list[str]:
        return [program, "-l", self.hub, "-p", str(self.port), "-a", "cycle", "-d", f"{self.off_seconds:g}"]


def find_uhubctl(switch: PowerSwitch, which: Callable[[str], str | None] | None = None) -> str:
    """The uhubctl to run: the configured path, else uhubctl on PATH or in /usr/local/sbin, /usr/sbin, /sbin."""
    if switch.uhubctl is not None:
        if switch.uhubctl.is_file():
            return str(switch.uhubctl)
        raise ToolMissing(f"uhubctl is not at {switch.uhubctl}, where rig.toml's power.uhubctl says; "
                          f"it comes with {UHUBCTL_SOURCE}")
    found = (which or (lambda name: find_tool(name, then=SBIN_DIRECTORIES)))(UHUBCTL)
    if found is None:
        raise _missing(UHUBCTL)
    return found


def _missing(name: str) -> ToolMissing:
    return missing_tool(name, UHUBCTL_SOURCE, SBIN_DIRECTORIES)


def cycle(switch: PowerSwitch, which: Callable[[str], str | None] | None = None,
          timeout: float | None = None) -> None:
    """Power-cycle the board's hub port; raise ToolMissing, PowerCycleFailed (with uhubctl's own words)
    or CommandTimedOut when that did not happen."""
    command = switch.command(find_uhubctl(switch, which))
    deadline = timeout if timeout is not None else switch.off_seconds + COMMAND_GRACE
    try:
        done = run_tool(command, timeout=deadline, missing=_missing, capture=True)
    except PermissionError as e:
        raise PowerCycleFailed(f"{shlex.join(command)}: {e.strerror or e}") from e
    except CommandTimedOut as e:
        raise CommandTimedOut(f"{e}: uhubctl hung (a hub that does not answer?)") from e
    if done.returncode != 0:
        said = _said(done.stderr, done.stdout)
        hint = " (uhubctl needs root or a udev rule for the hub: see docs/hil.md)" \
            if "permission" in said.lower() else ""
        raise PowerCycleFailed(f"{shlex.join(command)} exited with status {done.returncode}: {said}{hint}")


def _said(*outputs: str | None) -> str:
    """uhubctl's complaint: its stderr, else its stdout, on one line (without its "Run with -h" line)."""
    for output in outputs:
        lines: Sequence[str] = [line.strip() for line in (output or "").splitlines()
                                if line.strip() and not line.startswith("Run with -h")]
        if lines:
            return " ".join(lines)
    return "(it printed nothing)"


def power_cycler(switch: PowerSwitch | None) -> Callable[[], None] | None:
    """What SerialBoardLink's `cycle_power` takes for a board: None when rig.toml gives it no hub port."""
    if switch is None:
        return None
    return lambda: cycle(switch)
