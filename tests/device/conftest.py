"""Shared pieces of the device tests: where the scripts are, and the targets a test runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.plugin import selected_target

SCRIPTS = Path(__file__).parent / "scripts"
MEMORY_STREAMS = SCRIPTS / "memory_streams.py"


def script(name: str) -> Path:
    return SCRIPTS / name


@pytest.fixture
def gc_heap_unix_target(micropython_bin: Path, tmp_path: Path) -> UnixTarget:
    """The unix build with mbedTLS on MicroPython's GC heap (make firmware MBEDTLS_HEAP=gc)."""
    binary = micropython_bin.parent.parent / "unix-gc" / "micropython"
    if not binary.is_file():
        pytest.skip("no build/unix-gc/micropython: run `make firmware PORT=unix MBEDTLS_HEAP=gc`")
    return UnixTarget(binary, workdir_root=tmp_path)


@pytest.fixture
def offline_target(request: pytest.FixtureRequest) -> Target:
    """Tests that need no network: every selected target (`--target`; default unix, qemu, rp2040js)."""
    return selected_target(request, request.param)


@pytest.fixture
def networked_target(request: pytest.FixtureRequest) -> Target:
    """Tests that talk to host peers: the selected targets that have a network (not rp2040js)."""
    return selected_target(request, request.param)


@pytest.fixture
def gc_heap_target(request: pytest.FixtureRequest) -> Target:
    """Targets where mbedTLS allocates on MicroPython's GC heap, so gc.mem_alloc() sees all of it."""
    return selected_target(request, request.param)
