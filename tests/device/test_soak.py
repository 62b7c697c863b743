"""Soak: hundreds (`make test`) or 10,000 (`make soak`) handshakes in one process, TLS and DTLS,
both roles mpssl, of every kind a long-running device meets: good ones, failed verification, a
peer that aborts mid-handshake, a close without close_notify, the server's credentials replaced
between connections (scripts/soak.py).  Afterwards the heap is within 1 KiB of where it started,
on the builds where gc.mem_alloc() counts mbedTLS' memory, and no file descriptor is left open."""

from __future__ import annotations

import os
import socket

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki

pytestmark = pytest.mark.needs_micropython

HANDSHAKES = int(os.environ.get("MPSSL_SOAK_HANDSHAKES", "500"))
# Handshakes cost about a second each on the emulated Cortex-M3: two of each kind there.
BOARD_HANDSHAKES = 12
HEAP_SLACK = 1024
# What each kind must end in (the outcome strings of scripts/soak.py).
EXPECTED_OUTCOMES = {
    "good": {"ok"},
    "verify fails": {"error \nThe certificate is not correctly signed by the trusted CA\n"},
    # The client sees the reset of a closed socket, or end of stream during the handshake.
    "peer aborts": {"error 104", "error -29312"},
    "no close_notify": {"eof"},
    "new credentials": {"ok"},
    "dtls": {"ok"},
}


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.needs("gc_heap")
@pytest.mark.timeout(120 + HANDSHAKES * 0.5)  # beyond the run's own limit below: `make soak` runs 10,000
def test_soak_leaves_heap_and_descriptors_where_they_were(target: Target, pki: Pki) -> None:
    unix = isinstance(target, UnixTarget)
    handshakes = HANDSHAKES if unix else BOARD_HANDSHAKES
    files = {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert,
             "other_cafile": pki.extra_ca.cert, "rsa_certfile": pki.server_rsa.chain,
             "rsa_keyfile": pki.server_rsa.key}
    # On unix, TLS runs over real loopback sockets so that descriptor leaks show.
    args = {"handshakes": handshakes, "port": free_loopback_port() if unix else None}
    result = target.run(script("soak.py"), args, files, modules=[MEMORY_STREAMS],
                                timeout=60 + handshakes * 0.5).check().result()
    outcomes: dict[str, int] = result["outcomes"]
    print(f"soak on {target.name}: {handshakes} handshakes, heap {result['before']} -> {result['after']} bytes, "
          f"descriptors {result['fds_before']} -> {result['fds_after']}, outcomes {outcomes}")
    assert sum(outcomes.values()) == handshakes, outcomes
    for key in outcomes:
        kind, outcome = key.split(": ", 1)
        assert outcome in EXPECTED_OUTCOMES[kind], f"{kind}: {outcome!r} ({outcomes})"
    assert result["after"] - result["before"] <= HEAP_SLACK, result
    assert result["fds_after"] == result["fds_before"], result
