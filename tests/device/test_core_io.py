"""The C module's I/O state machine and object lifetimes, case by case, on every target: the scripts
drive a client and a server over in-memory streams that throttle, block, fail and raise on demand
(scripts/core_io.py, scripts/context_lifetime.py).  Each case is a regression test for a defect
that was found: data lost on a retried write, a context changed or freed under open sockets, poll
asking the wrong direction, exceptions unwinding through mbedTLS, non-blocking streams not
recognised, errors that did not stay, hostname checks with holes, getpeercert() on non-ASCII
names, DTLS datagrams larger than the link."""

from __future__ import annotations

import shutil
import signal
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import RunResult, Target, UnixProcess, UnixTarget
from mpssl_hil.certs import Pki

pytestmark = pytest.mark.needs_micropython

POLLIN, POLLOUT, POLLNVAL = 1, 4, 32
FATAL_ALERT = ["SSLError", "-30592", "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE"]
VALGRIND = ["valgrind", "--error-exitcode=99", "--undef-value-errors=no", "--leak-check=no"]


def core_io_files(pki: Pki) -> dict[str, Path]:
    return {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert,
            "rsa_certfile": pki.server_rsa.chain, "rsa_keyfile": pki.server_rsa.key,
            "ec_cert_der": pki.server_ec.cert_der, "rsa_cert_der": pki.server_rsa.cert_der}


def cases(run: RunResult) -> dict[str, dict[str, Any]]:
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    return {r.pop("case"): r for r in run.results()}


@pytest.fixture(scope="module")
def core_io_runs() -> dict[str, dict[str, dict[str, Any]] | str]:
    """core_io.py's cases by target, or why its one run failed there."""
    return {}


@pytest.fixture
def core_io(target: Target, pki: Pki, core_io_runs: dict[str, dict[str, dict[str, Any]] | str]
            ) -> dict[str, dict[str, Any]]:
    """The script's cases on this target. It runs once per target and serves every test below: a run
    takes minutes on an emulated MCU, and its cases do not depend on each other's order."""
    if target.name not in core_io_runs:
        try:
            core_io_runs[target.name] = cases(target.run(script("core_io.py"), {}, core_io_files(pki),
                                                         modules=[MEMORY_STREAMS], timeout=300).check())
        except AssertionError as e:
            core_io_runs[target.name] = str(e)
    found = core_io_runs[target.name]
    if isinstance(found, str):
        pytest.fail(f"core_io.py failed on {target.name} (its one run serves every core I/O test):\n{found}",
                    pytrace=False)
    return found


def test_write_retried_after_would_block_sends_every_byte_once(core_io: dict[str, dict[str, Any]]) -> None:
    # 100 bytes pending in mbedTLS, then the same 100 plus 1000 more: the peer gets all 1100, once.
    assert core_io["write retried with more"] == {"first": None, "second": 1100, "received": 1100, "intact": True}
    pieces = core_io["write retried in pieces"]
    assert pieces["would_block"] > 5, "the transport must have made writes wait"
    assert pieces == {"sent": 20000, "received": 20000, "intact": True, "would_block": pieces["would_block"]}


def test_write_retried_with_other_bytes_is_refused(core_io: dict[str, dict[str, Any]]) -> None:
    case = core_io["write retried with other bytes"]
    assert case["first"] is None and case["error"][0] == "ValueError", case
    # The pending record still goes out whole, and only it.
    assert case["retry"] == 50 and case["received"] == "A" * 50


def test_poll_asks_the_direction_the_call_needs(core_io: dict[str, dict[str, Any]]) -> None:
    # After read() would block, a poll for writing asks the stream for writing.
    assert core_io["poll after read would block"] == {"read": None, "ready": POLLOUT, "asked": POLLOUT}
    # With a write pending, data the peer sent is still reported readable, by ioctl and select.poll.
    assert core_io["poll with write pending"] == {"write": None, "ready": POLLIN, "select_poll": [POLLIN],
                                                  "read": "hello"}


def test_poll_on_a_failed_socket_and_a_raising_stream(core_io: dict[str, dict[str, Any]]) -> None:
    assert core_io["poll on failed socket"] == {"error": FATAL_ALERT, "ready": POLLNVAL, "asked": None}
    assert core_io["poll raises"] == {"error": ["Boom", "poll"]}


@pytest.mark.parametrize("side", ["read", "write"])
def test_stream_exception_mid_handshake_leaves_the_socket_usable(core_io: dict[str, dict[str, Any]],
                                                                 side: str) -> None:
    assert core_io[f"stream raises mid-handshake ({side})"] == {"error": ["Boom", side], "echoed": "ping",
                                                                "version": "TLSv1.2"}
    assert core_io["DTLS poll raises"] == {"error": ["Boom", "poll"], "finished": True}


def test_stream_that_would_block_makes_the_socket_non_blocking(core_io: dict[str, dict[str, Any]]) -> None:
    assert core_io["TLS stream not told"] == {"first": False, "version": "TLSv1.2"}
    dtls = core_io["DTLS stream not told"]
    assert dtls["read"] is None and dtls["first"] is False and dtls["finished"] is True, dtls
    # Not the 1000 ms DTLS retransmission wait: the stream said "would block" at once.
    assert dtls["waited_ms"] < 500, dtls


def test_errors_stay_and_a_stream_that_takes_nothing_is_an_error(core_io: dict[str, dict[str, Any]]) -> None:
    assert core_io["errors stay"] == {"first": FATAL_ALERT, "again": [FATAL_ALERT] * 3, "stream_reads_after": 0,
                                      "after_close": ["OSError", "9"], "closed": True}
    assert core_io["stream write returns 0"] == {"error": ["OSError", "5"]}


def test_dtls_datagrams_fit_the_mtu(core_io: dict[str, dict[str, Any]]) -> None:
    case = core_io["DTLS datagram size"]
    # The RSA chain does not fit one datagram: mbedTLS fragments the flight to 1400 bytes.
    assert case["finished"] and case["largest_server"] <= 1400 and case["largest_client"] <= 1400, case
    assert case["server_datagrams"] >= 3, case


def test_cipher_is_none_before_the_handshake_then_cpythons_triple(core_io: dict[str, dict[str, Any]]) -> None:
    case = core_io["cipher"]
    assert case["before"] is None
    name, version, bits = case["after"]
    assert case["server"] == case["after"] and name.startswith("TLS-ECDHE-ECDSA-") and version == "TLSv1.2"
    assert bits in (128, 256)


def test_hostname_checks_have_no_holes(core_io: dict[str, dict[str, Any]]) -> None:
    case = core_io["hostname checks"]
    assert case["nul"][0] == "ValueError", case  # "localhost\\0.evil.example" is not "localhost"
    assert case["optional_without_name"][0] == "ValueError", case  # as CERT_REQUIRED
    assert case["unchecked_without_name"] is None, case


def lifetime_files(pki: Pki) -> dict[str, Path]:
    return core_io_files(pki)


EXPECTED_LIFETIMES: dict[str, dict[str, Any]] = {
    "server context changes mid-handshake": {
        "done": True, "peer_is_original": True, "cipher": "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
        "echo": "ping/pong", "new_socket": "refused: -29824"},  # a new socket does want a client certificate
    "client context changes mid-handshake": {"done": True, "peer_is_original": True, "echo": "ping/pong"},
    "contexts released mid-handshake": {"done": True, "echo": "ping/pong",
                                        "released": ["SSLContext was released"] * 2},
    "everything dropped mid-handshake": {"survived": True},
    "one context, many changes": {"peers": ["ec", "rsa", "ec", "rsa", "ec", "rsa"]},
}


def test_changing_or_releasing_a_context_never_touches_its_sockets(target: Target, pki: Pki) -> None:
    run = target.run(script("context_lifetime.py"), {}, lifetime_files(pki), modules=[MEMORY_STREAMS],
                             timeout=300).check()
    assert cases(run) == EXPECTED_LIFETIMES


def valgrind_target(micropython_bin: Path, tmp_path: Path) -> UnixTarget:
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is not installed (Debian package valgrind)")
    return UnixTarget(micropython_bin, workdir_root=tmp_path, wrapper=VALGRIND)


def assert_valgrind_clean(run: RunResult) -> None:
    # MicroPython's conservative GC scans uninitialised stack words on purpose, so only invalid
    # reads, writes and frees count here.
    assert run.returncode == 0, run.describe()
    assert "Invalid read" not in run.stderr and "Invalid write" not in run.stderr, run.stderr
    assert "ERROR SUMMARY: 0 errors" in run.stderr, run.stderr[-3000:]


@pytest.mark.valgrind
def test_context_lifetimes_under_valgrind(micropython_bin: Path, tmp_path: Path, pki: Pki) -> None:
    run = valgrind_target(micropython_bin, tmp_path).run(script("context_lifetime.py"), {}, lifetime_files(pki),
                                                         modules=[MEMORY_STREAMS], timeout=600)
    assert_valgrind_clean(run)
    assert cases(run) == EXPECTED_LIFETIMES


@pytest.mark.valgrind
def test_io_state_machine_under_valgrind(micropython_bin: Path, tmp_path: Path, pki: Pki) -> None:
    run = valgrind_target(micropython_bin, tmp_path).run(script("core_io.py"), {}, core_io_files(pki),
                                                         modules=[MEMORY_STREAMS], timeout=600)
    assert_valgrind_clean(run)
    assert cases(run)["write retried with more"]["intact"] is True


def test_ctrl_c_in_a_blocking_dtls_handshake(unix_target: UnixTarget, pki: Pki) -> None:
    """KeyboardInterrupt while the handshake waits for the server: it is raised between mbedTLS calls,
    and the same socket finishes the handshake afterwards."""
    files = {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert}
    board = unix_target.start(script("dtls_interrupt.py"), {}, files, modules=[MEMORY_STREAMS])
    assert isinstance(board, UnixProcess)
    board.wait_for_output("WAITING")
    # Past the first retransmission (1 s), so the wait has been resumed at least once.
    time.sleep(1.5)
    board.proc.send_signal(signal.SIGINT)
    result = board.wait(30).check().result()
    assert result == {"interrupted": True, "hellos_sent": result["hellos_sent"], "finished": True,
                      "version": "DTLSv1.2"}
    assert result["hellos_sent"] >= 2, "the ClientHello was resent on the DTLS timer while waiting"


def test_getpeercert_decodes_every_string_type(target: Target, pki: Pki) -> None:
    files = {"certfile": pki.server_intl.chain, "keyfile": pki.server_intl.key, "cafile": pki.root_ca.cert}
    result = target.run(script("peer_cert_strings.py"), {}, files, modules=[MEMORY_STREAMS],
                                timeout=120).check().result()
    # CPython's own decoding of the same certificate is the reference.
    expected = ssl._ssl._test_decode_cert(str(pki.server_intl.cert))  # type: ignore[attr-defined]

    def as_lists(name: Any) -> list[list[list[str]]]:
        return [[list(pair) for pair in rdn] for rdn in name]

    assert result["subject"] == as_lists(expected["subject"])
    assert ["organizationName", "Ünïcødé Ωmega ✓"] in [rdn[0] for rdn in result["subject"]]
