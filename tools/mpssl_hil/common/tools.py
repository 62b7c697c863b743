"""External programs (the flashing tools, uhubctl): finding one, saying where it comes from when it is
missing, and running one with a deadline.  Shared by flash/ and board/, which each say where their own
tools come from."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

SBIN_DIRECTORIES = (Path("/usr/local/sbin"), Path("/usr/sbin"), Path("/sbin"))  # often not on a user's PATH


class ToolMissing(RuntimeError):
    """An external program is not installed; the message says which package provides it."""


class CommandTimedOut(RuntimeError):
    pass


def find_tool(name: str, directories: Sequence[Path] = (), then: Sequence[Path] = ()) -> str | None:
    """The executable `name`: in `directories`, else on PATH, else in `then`."""
    for directory in directories:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is not None:
        return found
    for directory in then:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_tool(name: str, source: str, looked_in: Sequence[Path | str] = ()) -> ToolMissing:
    """`source` says where the tool comes from, e.g. "the Debian package uhubctl"."""
    where = f"looked in {', '.join(map(str, looked_in))} and PATH" if looked_in else "looked on PATH"
    return ToolMissing(f"{name} is not installed ({where}); it comes with {source}")


def run_tool(command: Sequence[str], *, timeout: float | None, missing: Callable[[str], ToolMissing],
             capture: bool = False, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """Run one external command and return how it ended.  Its output goes to the terminal, or is
    discarded when `quiet`, or is kept in the result (text) when `capture`.  A program that is not there
    raises `missing(name)`; one that runs past `timeout` seconds is killed and raises CommandTimedOut."""
    if capture:
        sink: int | None = subprocess.PIPE
    else:
        sink = subprocess.DEVNULL if quiet else None
    try:
        return subprocess.run(list(command), timeout=timeout, check=False, stdout=sink, stderr=sink,
                              text=True, errors="replace")
    except FileNotFoundError as e:
        raise missing(Path(command[0]).name) from e
    except subprocess.TimeoutExpired as e:
        raise CommandTimedOut(f"{shlex.join(command)} did not finish within {timeout:g}s") from e
