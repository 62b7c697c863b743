"""MicroPython's own TLS tests pass on mpssl: the ssl/tls files of the checkout's test suite (the v1.28.0
checkout the firmware is built from), run by upstream's runners against build/unix/micropython.

One pytest test per upstream file, found by glob when the tests are collected: a file upstream adds
shows up as a new test. A file that upstream's runner skips counts as a failure: mpssl is the whole
`ssl` module, so none may be skipped for a missing feature. The only exceptions are listed, with the
reason, in KNOWN_DIFFERENCES; those must keep failing, so we notice when one starts to pass.

The runners write their results under tmp_path, never into the checkout (each test checks that).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mpssl_hil.suites.upstream import (
    MULTITEST_PATTERNS,
    RUN_TESTS_PATTERNS,
    Outcome,
    PortBusy,
    checkout_state,
    discover,
    has_checkout,
    micropython_dir,
    multitest_port,
    run_directly,
    run_multitest,
    run_tests_py,
    state_change,
)

# Upstream tests mpssl cannot pass as written, by design: file (relative to tests/) -> why.
# Each must still fail (it is reported as xfailed); when one passes, its test fails until the entry goes.
KNOWN_DIFFERENCES: dict[str, str] = {
    # The server loads expired_cert.der with ec_key.der, which is the key of ec_cert.der, not of
    # expired_cert.der (their public keys differ). mpssl refuses a key that does not belong to its
    # certificate when load_cert_chain() is called (ValueError: key does not match the certificate),
    # so the server stops before the handshake and the client never gets to see an expired certificate.
    "multi_net/sslcontext_verify_time_error.py":
        "pairs expired_cert.der with a key that is not its own; mpssl refuses that pair at load_cert_chain()",
}

# Files run-tests.py will not run on our build, so they run directly with the binary: file -> why.
RUN_DIRECTLY: dict[str, str] = {
    # run-tests.py adds it to its skip list unless feature_check/coverage.py finds the coverage variant,
    # because upstream's SSLSocket has an ioctl() method only with MICROPY_UNIX_COVERAGE (the test calls
    # it). mpssl's SSLSocket always has ioctl().
    "extmod/ssl_poll.py": "run-tests.py runs it only on the unix coverage variant",
}

CHECKOUT = micropython_dir()
HAVE_CHECKOUT = has_checkout(CHECKOUT)
NO_CHECKOUT = f"no MicroPython checkout at {CHECKOUT}: run `make micropython`, or set MICROPY_DIR"
SINGLE_FILES = discover(CHECKOUT, RUN_TESTS_PATTERNS) if HAVE_CHECKOUT else []
MULTITEST_FILES = discover(CHECKOUT, MULTITEST_PATTERNS) if HAVE_CHECKOUT else []


def params(files: list[str]) -> list[Any]:
    """The files as test parameters; without a checkout, one placeholder that skips with one line."""
    return files if HAVE_CHECKOUT else [pytest.param("", id="no-checkout")]


@dataclass
class Checkout:
    path: Path
    state_before: str
    checked: bool = False

    def assert_unchanged(self) -> None:
        self.checked = True
        change = state_change(self.state_before, checkout_state(self.path))
        assert not change, f"the run changed the MicroPython checkout {self.path}:\n{change}"


def require_checkout() -> None:
    """Skip without a checkout, from this one place: the summary shows one "SKIPPED [n]" line."""
    if not HAVE_CHECKOUT:
        pytest.skip(NO_CHECKOUT)


@pytest.fixture
def checkout() -> Iterator[Checkout]:
    """The MicroPython checkout, snapshotted before the test; teardown checks it again, in case the test
    stopped before its own check. (Without a checkout the test skips, calling require_checkout().)"""
    guard = Checkout(CHECKOUT, checkout_state(CHECKOUT) if HAVE_CHECKOUT else "")
    yield guard
    if HAVE_CHECKOUT and not guard.checked:
        guard.assert_unchanged()


def judge(outcome: Outcome, request: pytest.FixtureRequest) -> None:
    """Pass, fail with the runner's diff, or xfail for a KNOWN_DIFFERENCES file that still fails."""
    __tracebackhide__ = True
    request.node.user_properties.append(("runner_seconds", f"{outcome.seconds:.1f}"))
    known = KNOWN_DIFFERENCES.get(outcome.test_file)
    if known is not None:
        if outcome.result == "pass":
            pytest.fail(f"{outcome.test_file} passes now: take it out of KNOWN_DIFFERENCES ({known})")
        pytest.xfail(f"known difference: {known} ({outcome.result}: {outcome.headline})")
    if outcome.result != "pass":
        pytest.fail(outcome.report())


@pytest.mark.needs_micropython
@pytest.mark.parametrize("test_file", params([f for f in SINGLE_FILES if f not in RUN_DIRECTLY]))
def test_run_tests(test_file: str, checkout: Checkout, micropython_bin: Path, tmp_path: Path,
                   request: pytest.FixtureRequest) -> None:
    """tests/run-tests.py on one extmod/ssl_*.py or extmod/tls_*.py file."""
    require_checkout()
    outcome = run_tests_py(checkout.path, micropython_bin, test_file, tmp_path)
    checkout.assert_unchanged()
    judge(outcome, request)


@pytest.mark.needs_micropython
@pytest.mark.parametrize("test_file", params([f for f in SINGLE_FILES if f in RUN_DIRECTLY]))
def test_run_directly(test_file: str, checkout: Checkout, micropython_bin: Path, tmp_path: Path,
                      request: pytest.FixtureRequest) -> None:
    """A file run-tests.py skips on our build (RUN_DIRECTLY), run with the binary: exit code 0, no
    traceback, and the output <file>.exp holds."""
    require_checkout()
    outcome = run_directly(checkout.path, micropython_bin, test_file, tmp_path)
    checkout.assert_unchanged()
    judge(outcome, request)


@pytest.mark.needs_micropython
@pytest.mark.xdist_group("upstream-multitests")  # they all listen on port 8000: one worker runs them all
@pytest.mark.parametrize("test_file", params(MULTITEST_FILES))
def test_multitest(test_file: str, checkout: Checkout, micropython_bin: Path, tmp_path: Path,
                   request: pytest.FixtureRequest) -> None:
    """tests/run-multitests.py on one multi_net TLS/DTLS file, both instances our binary, over the host's
    own addresses."""
    require_checkout()
    try:
        with multitest_port():
            outcome = run_multitest(checkout.path, micropython_bin, test_file, tmp_path)
    except PortBusy as e:
        pytest.fail(str(e), pytrace=False)
    checkout.assert_unchanged()
    judge(outcome, request)


def test_listed_files_are_upstream_files() -> None:
    """KNOWN_DIFFERENCES and RUN_DIRECTLY name files the globs still find (a renamed file would otherwise
    quietly stop being excused, or stop being run)."""
    require_checkout()
    found = set(SINGLE_FILES) | set(MULTITEST_FILES)
    assert set(KNOWN_DIFFERENCES) - found == set()
    assert set(RUN_DIRECTLY) - found == set()
