"""The programs that write firmware (esptool, picotool, dfu-util, st-flash): where they are, where to get
them, and `run_command`, the one function through which every one of them runs (tests pass their own)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from mpssl_hil.common import tools as common
from mpssl_hil.common.tools import CommandTimedOut, ToolMissing

__all__ = ["TOOL_SOURCES", "CommandTimedOut", "Runner", "ToolFinder", "ToolMissing", "find_tool", "missing_tool",
           "require_tool", "run_command", "tool_directories"]

# Where each tool comes from, for the message when it is missing.
TOOL_SOURCES = {
    "esptool": "the pip package esptool (a dependency of this project: `make venv` installs it into .venv)",
    "picotool": "no Debian 12 package; `make picotool` builds picotool 2.2.0 into ~/.cache/mpssl/picotool",
    "dfu-util": "the Debian package dfu-util",
    "st-flash": "the Debian package stlink-tools",
}


class Runner(Protocol):
    def __call__(self, command: Sequence[str], *, timeout: float | None = None, quiet: bool = False) -> int: ...


ToolFinder = Callable[[str], str | None]


def tool_directories() -> list[Path]:
    """Looked at before PATH: this Python's own bin directory (the venv's esptool, not an older one on
    PATH) and where `make picotool` installs."""
    return [Path(sys.executable).parent, Path.home() / ".cache" / "mpssl" / "picotool" / "bin"]


def find_tool(name: str) -> str | None:
    return common.find_tool(name, tool_directories())


def missing_tool(name: str) -> ToolMissing:
    return common.missing_tool(name, TOOL_SOURCES.get(name, "its package"), tool_directories())


def require_tool(name: str, which: ToolFinder = find_tool) -> str:
    path = which(name)
    if path is None:
        raise missing_tool(name)
    return path


def run_command(command: Sequence[str], *, timeout: float | None = None, quiet: bool = False) -> int:
    """Run one external command with its output on the terminal (esptool and picotool print their own
    progress), or discarded when `quiet`; return its exit status."""
    if not quiet:
        print(f"$ {shlex.join(command)}", flush=True)
    return common.run_tool(command, timeout=timeout, missing=missing_tool, quiet=quiet).returncode
