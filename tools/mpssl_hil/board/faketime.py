"""Running a process with a shifted wall clock through libfaketime (Debian package `faketime`)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

LIBRARY_NAME = "libfaketime.so.1"


class FaketimeUnavailable(RuntimeError):
    """libfaketime is not installed; the plugin turns this into a skip."""


def _candidates() -> list[Path]:
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    dirs = [f"/usr/lib/{multiarch}/faketime", "/usr/lib/x86_64-linux-gnu/faketime",
            "/usr/lib/aarch64-linux-gnu/faketime", "/usr/lib/faketime", "/usr/local/lib/faketime",
            "/usr/lib64/faketime"]
    return [Path(d) / LIBRARY_NAME for d in dirs]


def find_libfaketime() -> Path:
    for path in _candidates():
        if path.is_file():
            return path
    raise FaketimeUnavailable(f"{LIBRARY_NAME} not found (install the Debian package `faketime`)")


def faketime_problem() -> str | None:
    """Why the clock of a unix process cannot be shifted here, or None."""
    try:
        find_libfaketime()
    except FaketimeUnavailable as e:
        return str(e)
    return None


def faketime_environment(faketime: str) -> dict[str, str]:
    """Environment for a child whose wall clock follows `faketime`: "@2020-01-01 00:00:00" starts the
    clock at that moment, "-400d" or "+30d" shifts it. Monotonic clocks stay real, so timeouts work."""
    return {
        "LD_PRELOAD": str(find_libfaketime()),
        "FAKETIME": faketime,
        "FAKETIME_DONT_RESET": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
