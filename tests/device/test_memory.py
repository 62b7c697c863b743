"""Each SSLSocket owns its mbedTLS state and gives it back on close(): many open/close cycles and
full handshakes leave the heap where it started."""

from __future__ import annotations

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki

pytestmark = pytest.mark.needs_micropython


# MicroPython's GC is conservative: a stale word on the stack can keep one small block alive after
# gc.collect() (seen: 48 bytes on the emulated board). One leaked connection is far more than this
# (its SSLSocket alone is over 500 bytes, its mbedTLS buffers over 16 KiB), and a leak repeats
# 1000 or `handshakes` times.
SLACK = 256


def cycles(target: Target, pki: Pki) -> dict:
    # Handshakes cost seconds each on the emulated Cortex-M3: fewer there, still enough to show a leak.
    handshakes = 100 if isinstance(target, UnixTarget) else 10
    return target.run(script("memory_cycles.py"), {"cycles": 1000, "handshakes": handshakes},
                      {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert},
                      timeout=300, modules=[MEMORY_STREAMS]).check().result()


@pytest.mark.needs("gc_heap")
def test_heap_returns_after_1000_cycles_gc_heap(target: Target, pki: Pki) -> None:
    """With mbedTLS on the GC heap (the unix GC-heap build and the qemu board, as on every MCU port)
    gc.mem_alloc() counts mbedTLS' memory too."""
    heap = cycles(target, pki)
    assert heap["after_open_close"] - heap["before"] <= SLACK, heap
    assert heap["after_handshakes"] - heap["before"] <= SLACK, heap


def test_python_heap_returns_after_1000_cycles(unix_target: UnixTarget, pki: Pki) -> None:
    heap = cycles(unix_target, pki)
    assert heap["after_open_close"] - heap["before"] <= SLACK, heap
    assert heap["after_handshakes"] - heap["before"] <= SLACK, heap
