"""MicroPython's own TLS tests, from the checkout mpssl builds against, run against mpssl's unix binary.

Upstream's runners do the work, one upstream test file per call so each file is one result:
- `tests/run-tests.py` for single-instance tests (extmod/ssl_*.py, extmod/tls_*.py): it compares the
  output with `<file>.exp` (or with CPython's output when there is none) and writes the `.exp`/`.out`
  pair of a failure and `_results.json` into its result directory (`-r`);
- `tests/run-multitests.py` for tests with a server and a client instance (multi_net/...): both
  instances are our binary (`-t exec:<binary>`), talking over the host's own addresses;
- a few files run-tests.py will not run on a plain unix build are run directly with the binary.

Nothing is written into the checkout: result directories and temporary files go under the caller's
directory, and Python writes no bytecode (PYTHONDONTWRITEBYTECODE=1). `checkout_state()` snapshots the
checkout so a test can show that nothing changed.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from mpssl_hil.common.process import die_with_parent, stop_process

DEFAULT_MICROPY_DIR = Path.home() / ".cache" / "mpssl" / "micropython"

# The upstream files each runner gets, as globs relative to the checkout's tests/ directory.
RUN_TESTS_PATTERNS = ("extmod/ssl_*.py", "extmod/tls_*.py")
MULTITEST_PATTERNS = ("multi_net/ssl*.py", "multi_net/sslcontext*.py", "multi_net/tls_dtls*.py",
                      "multi_net/asyncio_tls*.py")

# Every upstream multitest binds this TCP/UDP port on all interfaces (`PORT = 8000`).
MULTITEST_PORT = 8000

RUNNER_TIMEOUT = 120.0  # seconds, per upstream file


def micropython_dir() -> Path:
    """The MicroPython checkout: $MICROPY_DIR (`make test MICROPY_DIR=...` passes it on), else the
    Makefile's default."""
    given = os.environ.get("MICROPY_DIR")
    return Path(given).expanduser() if given else DEFAULT_MICROPY_DIR


def has_checkout(checkout: Path) -> bool:
    return (checkout / "tests" / "run-tests.py").is_file() and (checkout / "tests" / "run-multitests.py").is_file()


def discover(checkout: Path, patterns: Sequence[str]) -> list[str]:
    """The upstream test files matching `patterns`, as paths relative to tests/ (sorted, no repeats:
    multi_net/ssl*.py also matches multi_net/sslcontext*.py)."""
    tests = checkout / "tests"
    found = {path.relative_to(tests).as_posix() for pattern in patterns for path in tests.glob(pattern)
             if path.is_file()}
    return sorted(found)


@dataclass(frozen=True)
class Outcome:
    """What one upstream file did: `result` is pass, fail or skip (as the runner reports it), or
    error when the runner itself failed or timed out."""

    test_file: str
    result: str
    command: list[str]
    cwd: Path
    runner_output: str
    headline: str = ""  # one line: why it failed (the first differing line) or was skipped
    details: str = ""  # the diff, or the output, for the failure message
    seconds: float = 0.0

    def report(self) -> str:
        """The failure message: a one-line reason, then the command and what it printed."""
        lines = [f"{self.test_file}: {self.result}: {self.headline}".rstrip(": "),
                 f"command (in {self.cwd}): {' '.join(self.command)}"]
        if self.details:
            lines += ["", self.details.rstrip()]
        if self.runner_output.strip() and (not self.details or self.result == "error"):
            lines += ["", "--- runner output ---", self.runner_output.rstrip()]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Completed:
    returncode: int | None  # None: killed after the timeout
    output: str
    seconds: float


def _run(argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> _Completed:
    """Run a command with stdout and stderr together; after `timeout` seconds stop its whole process
    group (the runners start micropython instances of their own) and keep what it printed until then."""
    start = time.monotonic()
    with subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True,
                          preexec_fn=die_with_parent()) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
            returncode: int | None = proc.returncode
        except subprocess.TimeoutExpired as e:
            out = e.output or b""  # communicate() keeps what it read before it gave up
            stop_process(proc, 5, group=True)
            returncode = None
    return _Completed(returncode, out.decode(errors="backslashreplace"), time.monotonic() - start)


def runner_env(binary: Path, work_dir: Path) -> dict[str, str]:
    """The environment upstream's runners get: our binary as MICROPY_MICROPYTHON, no bytecode written
    (run-tests.py imports tests/test_utils.py and tools/pyboard.py from the checkout), temporary files
    (run-multitests.py writes its diffs through tempfile) under `work_dir`."""
    tmp = work_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MICROPYPATH", "PYTHONPATH")}
    env.update(PYTHONDONTWRITEBYTECODE="1", MICROPY_MICROPYTHON=str(binary), TMPDIR=str(tmp))
    env.setdefault("MICROPY_CPYTHON3", sys.executable)  # the expected output of a file without .exp
    return env


TRACEBACK = "Traceback (most recent call last):"


def _shown(lines: list[str], index: int) -> str:
    """Line `index` of the output, or for a traceback the exception it ends in."""
    if lines[index] != TRACEBACK:
        return repr(lines[index])
    error = next((line for line in lines[index + 1:] if line and not line.startswith(" ")), "?")
    return f"a traceback: {error}"


def first_difference(expected: str, actual: str) -> str:
    """One line naming the first line where `actual` differs from `expected`."""
    exp, act = expected.splitlines(), actual.splitlines()
    for number, (e, a) in enumerate(zip(exp, act, strict=False), start=1):
        if e != a:
            return f"line {number}: expected {e!r}, got {_shown(act, number - 1)}"
    if len(exp) > len(act):
        return f"line {len(act) + 1}: expected {exp[len(act)]!r}, got no more output"
    if len(act) > len(exp):
        return f"line {len(exp) + 1}: expected no more output, got {_shown(act, len(exp))}"
    if expected != actual:
        return "the output differs only in line endings"
    return "the output matches"


def unified_diff(expected: str, actual: str, expected_name: str, actual_name: str) -> str:
    return "\n".join(difflib.unified_diff(expected.splitlines(), actual.splitlines(), expected_name, actual_name,
                                          lineterm=""))


def _result_of(result_dir: Path, test_file: str) -> str | None:
    """The file's result in the runner's `_results.json` (pass, fail, skip, ignored), if it wrote one."""
    try:
        results = json.loads((result_dir / "_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return None
    for name, result, *_ in results:
        if name == test_file:
            return str(result)
    return None


def _runner_error(test_file: str, argv: list[str], cwd: Path, done: _Completed, timeout: float) -> Outcome:
    if done.returncode is None:
        headline = f"the runner was killed after {timeout:.0f} s"
    else:
        last = done.output.strip().splitlines()[-1:] or ["no output"]
        headline = f"the runner exited with {done.returncode} and no result for this file: {last[0]}"
    return Outcome(test_file, "error", argv, cwd, done.output, headline, seconds=done.seconds)


def run_tests_py(checkout: Path, binary: Path, test_file: str, work_dir: Path,
                 timeout: float = RUNNER_TIMEOUT) -> Outcome:
    """`tests/run-tests.py -r <work_dir>/results <test_file>` with MICROPY_MICROPYTHON=<binary>."""
    tests = checkout / "tests"
    result_dir = work_dir / "results"
    argv = [sys.executable, "run-tests.py", "-r", str(result_dir), "-j", "1", test_file]
    done = _run(argv, tests, runner_env(binary, work_dir), timeout)
    result = _result_of(result_dir, test_file) if done.returncode is not None else None
    if result is None:
        return _runner_error(test_file, argv, tests, done, timeout)
    basename = test_file.replace("/", "_")
    exp_path, out_path = result_dir / f"{basename}.exp", result_dir / f"{basename}.out"
    headline = details = ""
    if result == "skip":
        headline = "run-tests.py skipped it (the test printed SKIP, or run-tests.py lacks a feature for it)"
    elif result != "pass" and out_path.is_file():
        actual = out_path.read_text(errors="backslashreplace")
        if exp_path.is_file():
            expected = exp_path.read_text(errors="backslashreplace")
            headline = first_difference(expected, actual)
            details = unified_diff(expected, actual, f"{test_file} expected", f"{test_file} with mpssl")
        else:  # a unittest-based test: its own summary says what failed
            headline = (actual.strip().splitlines() or ["no output"])[-1]
            details = actual
    return Outcome(test_file, result, argv, tests, done.output, headline, details, done.seconds)


def _section(text: str, start: str, end: str) -> str | None:
    begin = text.find(start)
    if begin < 0:
        return None
    begin += len(start) + 1
    stop = text.find(end, begin)
    return text[begin:stop if stop >= 0 else len(text)]


# run-multitests.py gives the instances the host's interface address (from a route lookup towards a
# public address); the tests here talk over loopback only, so it runs with that lookup replaced.
LOOPBACK_LAUNCHER = """
import os, sys
sys.argv = ["run-multitests.py"] + sys.argv[1:]
script = os.path.abspath("run-multitests.py")
scope = {"__name__": "run_multitests", "__file__": script}
with open(script) as f:
    exec(compile(f.read(), script, "exec"), scope)
scope["get_host_ip"] = lambda *_: "127.0.0.1"
scope["main"]()
"""


def run_multitest(checkout: Path, binary: Path, test_file: str, work_dir: Path,
                  timeout: float = RUNNER_TIMEOUT) -> Outcome:
    """`tests/run-multitests.py -r <work_dir>/results -t exec:<binary> -t exec:<binary> <test_file>`."""
    tests = checkout / "tests"
    result_dir = work_dir / "results"
    argv = [sys.executable, "-c", LOOPBACK_LAUNCHER, "-r", str(result_dir),
            "-t", f"exec:{binary}", "-t", f"exec:{binary}", test_file]
    done = _run(argv, tests, runner_env(binary, work_dir), timeout)
    result = _result_of(result_dir, test_file) if done.returncode is not None else None
    if result is None:
        return _runner_error(test_file, argv, tests, done, timeout)
    headline = details = ""
    if result == "skip":
        headline = "an instance printed SKIP"
    elif result != "pass":
        actual = _section(done.output, "### TEST ###", "### TRUTH ###")
        expected = _section(done.output, "### TRUTH ###", "### DIFF ###")
        if actual is not None and expected is not None:
            headline = first_difference(expected, actual)
        details = done.output[done.output.find("### TEST ###"):] if "### TEST ###" in done.output else ""
    return Outcome(test_file, result, argv, tests, done.output, headline, details, done.seconds)


def run_directly(checkout: Path, binary: Path, test_file: str, work_dir: Path,
                 timeout: float = RUNNER_TIMEOUT) -> Outcome:
    """`<binary> <checkout>/tests/<test_file>` in the file's directory, with the module path run-tests.py
    gives a test. It passes when it exits with 0, prints no traceback, and prints what `<file>.exp`
    holds (when there is one)."""
    tests = checkout / "tests"
    path = tests / test_file
    argv = [str(binary), str(path)]
    env = runner_env(binary, work_dir)
    env["MICROPYPATH"] = os.pathsep.join(
        (".frozen", str(checkout / "extmod"), str(checkout / "lib/micropython-lib/python-stdlib/unittest")))
    done = _run(argv, path.parent, env, timeout)
    output = done.output.replace("\r\n", "\n")
    exp_path = path.with_name(path.name + ".exp")
    expected = exp_path.read_text() if exp_path.is_file() else None
    if done.returncode is None:
        return Outcome(test_file, "error", argv, path.parent, output, f"killed after {timeout:.0f} s",
                       seconds=done.seconds)
    if output == "SKIP\n":
        return Outcome(test_file, "skip", argv, path.parent, output, "the test printed SKIP", seconds=done.seconds)
    problems = []
    if done.returncode != 0:
        problems.append(f"exit code {done.returncode}")
    details = ""
    lines = output.splitlines()
    if TRACEBACK in lines:
        problems.append(f"it printed {_shown(lines, lines.index(TRACEBACK))}")
    if expected is not None and output != expected:
        if TRACEBACK not in lines:
            problems.append(first_difference(expected, output))
        details = unified_diff(expected, output, f"{test_file}.exp", f"{test_file} with mpssl")
    if not problems:
        return Outcome(test_file, "pass", argv, path.parent, output, seconds=done.seconds)
    return Outcome(test_file, "fail", argv, path.parent, output, "; ".join(problems), details or output,
                   done.seconds)


def checkout_state(checkout: Path) -> str:
    """A snapshot of the checkout to compare before and after a run: `git status` with untracked and
    ignored files (a stray __pycache__ or results/ directory shows), or, outside git, every file under
    tests/ and tools/ (where the runners live) with its size and mtime."""
    if (checkout / ".git").exists():
        done = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--ignored",
                               "--untracked-files=all"], capture_output=True, text=True, timeout=60, check=True)
        return done.stdout
    lines = []
    for top in ("tests", "tools"):
        for root, _, files in os.walk(checkout / top):
            for name in files:
                st = os.stat(os.path.join(root, name))
                lines.append(f"{os.path.join(root, name)} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(sorted(lines))


def state_change(before: str, after: str) -> str:
    """The lines of `checkout_state` that appeared or went away, or "" when nothing changed."""
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm=""))


class PortBusy(RuntimeError):
    pass


def tcp_port_in_use(port: int) -> bool:
    """Whether a listening socket holds the port: a bind with SO_REUSEADDR (as the multitests bind) fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return True
            raise
    return False


@contextlib.contextmanager
def multitest_port(timeout: float = 600.0) -> Iterator[int]:
    """Hold MULTITEST_PORT for one multitest: a lock file keeps a second pytest process (an xdist worker,
    another run) from starting a multitest at the same time; PortBusy when something else listens there."""
    path = Path(tempfile.gettempdir()) / f"mpssl-upstream-multitest-port-{MULTITEST_PORT}.lock"
    lock = FileLock(path)
    try:
        lock.acquire(timeout=timeout, poll_interval=0.2)
    except Timeout:
        raise PortBusy(f"another process held {path} for {timeout:.0f} s") from None
    try:
        if tcp_port_in_use(MULTITEST_PORT):
            raise PortBusy(f"TCP port {MULTITEST_PORT} is in use, and every upstream multitest listens on it")
        yield MULTITEST_PORT
    finally:
        lock.release()
