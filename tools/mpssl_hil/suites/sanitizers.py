"""pytest plugin for `make test-sanitize` (`-p mpssl_hil.suites.sanitizers`): a sanitizer report fails the test during
which it was written, whatever that test checks.

On the SANITIZE=1 builds a report ends the process (halt_on_error, abort_on_error) and RunResult.check() fails
on the exit code. But a test may accept a failing run (a refused handshake may end the script with an
exception), look only at stdout, kill a script it ran in the background, or expect an upstream test to fail
(KNOWN_DIFFERENCES). So, for each test:
- ASan and LSan write their reports to files of the test's own (ASAN_OPTIONS log_path, set in this process's
  environment while the test runs: every process the test starts inherits it, upstream's runners and theirs
  included);
- gcc's UBSan ignores log_path and writes to stderr, which the unix target keeps in the test's tmp_path
  (<workdir>/stderr.txt), and which upstream's runners compare with the expected output (so the one report
  this plugin cannot see is UBSan's in an upstream test that is expected to fail: the runner keeps its output);
and after the test, and again after its teardown, every report found in those files fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

# ASan/LSan: "==123==ERROR: AddressSanitizer: ...", "AddressSanitizer:DEADLYSIGNAL", "SUMMARY: ...Sanitizer";
# UBSan: "file.c:12:5: runtime error: ...".
REPORT = re.compile(rb"ERROR: (?:Address|Leak)Sanitizer|AddressSanitizer:DEADLYSIGNAL|SUMMARY: \w+Sanitizer"
                    rb"|:\d+:\d+: runtime error: ")
REPORT_LINES = 40  # of each report in the failure message
LARGEST_FILE = 16 << 20
REPORT_DIR = pytest.StashKey[Path]()
TMP_PATH = pytest.StashKey[Path]()
SEEN = pytest.StashKey[set[Path]]()
ASAN_OPTIONS = "ASAN_OPTIONS"
STDERR_FILE = "stderr.txt"  # a unix target run's stderr (targets.UnixProcess)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("mpssl").addoption(
        "--sanitizer-reports", type=Path, default=None,
        help="ASan/LSan reports go to <dir>/<test>/asan.<pid> (default: a new temporary directory)")


def pytest_configure(config: pytest.Config) -> None:
    root: Path | None = config.getoption("--sanitizer-reports")
    config.stash[REPORT_DIR] = root if root is not None else Path(tempfile.mkdtemp(prefix="sanitizer-reports-"))


def report_dir_of(item: pytest.Item) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.[]" else "_" for c in item.nodeid)
    return item.config.stash[REPORT_DIR] / safe


def reports_under(root: Path, seen: set[Path], pattern: str = "*") -> list[str]:
    """The start of each file under `root` named like `pattern` (and not in `seen`) that holds a sanitizer
    report; adds them to `seen`."""
    found = []
    for path in sorted(p for p in root.rglob(pattern) if p.is_file() and p not in seen):
        if path.stat().st_size > LARGEST_FILE:
            continue
        data = path.read_bytes()
        match = REPORT.search(data)
        if match is None:
            continue
        seen.add(path)
        start = data.rfind(b"\n", 0, match.start()) + 1
        lines = data[start:].decode(errors="replace").splitlines()
        more = f"\n[... {len(lines) - REPORT_LINES} more lines]" if len(lines) > REPORT_LINES else ""
        found.append(f"--- {path} ---\n" + "\n".join(lines[:REPORT_LINES]) + more)
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """ASan's log_path points into the test's (emptied) report directory from its setup to the end of its
    teardown."""
    report_dir = report_dir_of(item)
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    before = os.environ.get(ASAN_OPTIONS)
    os.environ[ASAN_OPTIONS] = ":".join(filter(None, [before, f"log_path={report_dir / 'asan'}"]))
    try:
        return (yield)
    finally:
        if before is None:
            del os.environ[ASAN_OPTIONS]
        else:
            os.environ[ASAN_OPTIONS] = before


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                           pytest.TestReport]:
    report = yield
    if call.when == "call":
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        if isinstance(tmp_path, Path):
            item.stash[TMP_PATH] = tmp_path
    seen = item.stash.setdefault(SEEN, set())
    found = reports_under(report_dir_of(item), seen)
    if TMP_PATH in item.stash:
        found += reports_under(item.stash[TMP_PATH], seen, STDERR_FILE)
    if found:
        report.outcome = "failed"
        if hasattr(report, "wasxfail"):  # an expected failure is not expected to write a sanitizer report
            del report.wasxfail
        report.longrepr = (f"sanitizer report(s) during {call.when}:\n" + "\n".join(found)
                           + (f"\n\n{report.longreprtext}" if report.longreprtext else ""))
    return report
