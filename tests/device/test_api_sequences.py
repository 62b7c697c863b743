"""Random sequences of operations on two connected endpoints and their contexts, made and shrunk by
Hypothesis and run on the unix build (scripts/api_sequence.py): wrap, handshake, read and write of
any size through a transport that throttles and blocks, poll, cipher/getpeercert, contexts changed
(credentials, trust, ciphers, verify mode, hostname check) or released between and during
connections, close, gc.  The invariants: no crash, no hang, and every byte a write() reported as
sent arrives once and in order.

`make test` runs MPSSL_API_SEQUENCES examples (default 40); `make fuzz SECONDS=n` runs batches of 200
until n seconds have passed, each batch from a new random seed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import MEMORY_STREAMS, script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpssl_hil.board.target import UnixTarget
from mpssl_hil.certs import Pki

pytestmark = pytest.mark.needs_micropython

EXAMPLES = int(os.environ.get("MPSSL_API_SEQUENCES", "40"))

side = st.sampled_from(["c", "s"])
# (strategy, weight): the connection-driving operations come often, the destructive ones rarely.
OPERATIONS = [
    (st.tuples(st.just("handshake"), side), 4),
    (st.tuples(st.just("pump"), st.integers(1, 4)), 4),
    (st.tuples(st.just("write"), side, st.integers(0, 9000)), 6),
    (st.tuples(st.just("read"), side, st.integers(1, 5000)), 5),
    (st.tuples(st.just("budget"), side, st.one_of(st.none(), st.integers(0, 3000))), 3),
    (st.tuples(st.just("block_reads"), side, st.booleans()), 2),
    (st.tuples(st.just("poll"), side, st.sampled_from([1, 4, 5])), 2),
    (st.tuples(st.just("cipher"), side), 1),
    (st.tuples(st.just("getpeercert"), side, st.booleans()), 1),
    (st.tuples(st.just("load_cert_chain"), st.sampled_from(["ec", "rsa"])), 1),
    (st.tuples(st.just("load_verify_locations")), 1),
    (st.tuples(st.just("set_ciphers"), side, st.sampled_from(["ec-gcm", "chacha", "rsa-gcm"])), 1),
    (st.tuples(st.just("set_alpn_protocols"), side, st.sampled_from(["none", "h2", "h2+http", "mqtt"])), 1),
    (st.tuples(st.just("selected_alpn_protocol"), side), 1),
    (st.tuples(st.just("verify_mode"), st.just("c"), st.sampled_from(["none", "optional", "required"])), 1),
    (st.tuples(st.just("verify_mode"), st.just("s"), st.sampled_from(["none", "optional"])), 1),
    (st.tuples(st.just("check_hostname"), st.booleans()), 1),
    (st.tuples(st.just("release_context"), side), 1),
    (st.tuples(st.just("close"), side), 1),
    (st.tuples(st.just("gc")), 1),
    (st.tuples(st.just("wrap")), 1),
]
operation = st.sampled_from([strategy for strategy, weight in OPERATIONS for _ in range(weight)]).flatmap(
    lambda strategy: strategy)


def files(pki: Pki) -> dict[str, Path]:
    return {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert,
            "rsa_certfile": pki.server_rsa.chain, "rsa_keyfile": pki.server_rsa.key}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=80))
def test_any_sequence_of_operations_keeps_the_byte_stream(unix_target: UnixTarget, pki: Pki,
                                                          ops: list[tuple[Any, ...]]) -> None:
    run = unix_target.run(script("api_sequence.py"), {"ops": [list(op) for op in ops]}, files(pki),
                          modules=[MEMORY_STREAMS], timeout=60)
    assert run.returncode == 0 and not run.timed_out, run.describe()
    result = run.result()
    assert set(result["complete"]) == {"c", "s"}
