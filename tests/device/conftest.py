"""Shared pieces of the device tests: where the scripts are. The `target` fixture and its `needs(...)`
markers come from the mpssl pytest plugin (tools/mpssl_hil/plugin)."""

from __future__ import annotations

from pathlib import Path

SCRIPTS = Path(__file__).parent / "scripts"
MEMORY_STREAMS = SCRIPTS / "memory_streams.py"


def script(name: str) -> Path:
    return SCRIPTS / name
