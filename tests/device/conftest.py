"""Shared pieces of the device tests: where the scripts are, and a GC-heap build fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpssl_hil.targets import UnixTarget

SCRIPTS = Path(__file__).parent / "scripts"
MEMORY_STREAMS = SCRIPTS / "memory_streams.py"


def script(name: str) -> Path:
    return SCRIPTS / name


@pytest.fixture
def gc_heap_target(micropython_bin: Path, tmp_path: Path) -> UnixTarget:
    """The unix build with mbedTLS on MicroPython's GC heap (make firmware MBEDTLS_HEAP=gc)."""
    binary = micropython_bin.parent.parent / "unix-gc" / "micropython"
    if not binary.is_file():
        pytest.skip("no build/unix-gc/micropython: run `make firmware PORT=unix MBEDTLS_HEAP=gc`")
    return UnixTarget(binary, workdir_root=tmp_path)
