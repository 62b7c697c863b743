"""Targets: where a MicroPython test script runs. `UnixTarget` runs the unix port as a subprocess.

Argument passing (the contract of tests/device/scripts/): before a run the target writes `test_args.py`
next to the script with `ARGS = {...}` (a Python literal); a script does `from test_args import ARGS`.
Files passed in `files` appear in ARGS under their key as the path the board sees. A script reports
results as lines `RESULT <json>` on stdout.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpssl_hil.board.faketime import faketime_environment, faketime_problem
from mpssl_hil.board.probe import PROBE_SOURCE, BoardProbe, ProbeFailed, parse_probe_output
from mpssl_hil.common.ports import ServerPort, Transport, free_port
from mpssl_hil.common.process import stop_process
from mpssl_hil.common.waiting import WaitTimeout, wait_until

ARGS_MODULE = "test_args.py"
RESULT_PREFIX = "RESULT "


@dataclass
class RunResult:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    script: str = ""
    # Set when the run failed for a reason outside the script (transport error, raw REPL entry, the
    # board not finishing in time): the kind of failure a retry on a recovered board may fix.
    infrastructure_error: str | None = None
    retried_after: str | None = None  # the infrastructure failure of an earlier attempt, and the recovery

    def results(self) -> list[Any]:
        """Every `RESULT <json>` line of stdout, decoded."""
        found = []
        for line in self.stdout.splitlines():
            if line.startswith(RESULT_PREFIX):
                try:
                    found.append(json.loads(line[len(RESULT_PREFIX):]))
                except json.JSONDecodeError as e:
                    raise AssertionError(f"bad RESULT line {line!r}: {e}\n{self.describe()}") from e
        return found

    def result(self) -> Any:
        """The last `RESULT` line (usually the only one)."""
        found = self.results()
        if not found:
            raise AssertionError(f"{self.script} printed no RESULT line\n{self.describe()}")
        return found[-1]

    def check(self) -> RunResult:
        """Raise AssertionError with the script's output if it failed or timed out; else return self."""
        if self.timed_out:
            raise AssertionError(f"{self.script} timed out\n{self.describe()}")
        if self.returncode != 0:
            raise AssertionError(f"{self.script} exited with {self.returncode}\n{self.describe()}")
        return self

    def describe(self) -> str:
        text = f"--- stdout ---\n{_lines(self.stdout)}--- stderr ---\n{_lines(self.stderr)}--- end ---"
        if self.infrastructure_error:
            text += f"\n(infrastructure failure: {self.infrastructure_error})"
        if self.retried_after:
            text += f"\n(retried once on a recovered board after: {self.retried_after})"
        return text


def _lines(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


class RunningScript(abc.ABC):
    """A script started in the background, e.g. a board-side server."""

    @abc.abstractmethod
    def wait(self, timeout: float = 60) -> RunResult: ...

    @abc.abstractmethod
    def kill(self) -> RunResult: ...

    @abc.abstractmethod
    def output(self) -> str:
        """What the script printed on stdout so far."""

    def wait_for_output(self, text: str, timeout: float = 30, count: int = 1) -> str:
        """Wait until `text` appears `count` times on the script's stdout (e.g. the second "LISTENING" of
        a server that binds anew per client); return stdout so far. A script that ends first, or the
        deadline, fails with the script's output."""
        try:
            wait_until(lambda: self.output().count(text) >= count or not self.running(), timeout, interval=0.05)
        except WaitTimeout:
            pass
        out = self.output()
        if out.count(text) < count:
            raise AssertionError(f"{text!r} not printed {count} time(s) within {timeout}s\n{self.kill().describe()}")
        return out

    @abc.abstractmethod
    def running(self) -> bool: ...


class Target(abc.ABC):
    """One board (or the unix port) that runs MicroPython scripts: the one interface every test and the
    plugin use. `run`/`start` run a test script, `exec` a few lines, `identity` says what the target
    runs (asked once per board by the plugin), `capabilities` what it can do (the names `needs(...)`
    markers use), and `set_clock(utc)` sets the wall clock its certificate checks read: libfaketime on
    unix, the RTC on a board. `set_clock(None)` puts it back to the current UTC time."""

    name: str
    clock_changed: bool = False  # set_clock moved the clock off the current time
    # Set by the plugin before each test: whether the test said needs("network"). A test that reaches for
    # the host peers without saying so is refused on every target, so the missing marker shows on unix
    # too instead of only as a failure on a board that has no network. None: not run by the plugin.
    network_declared: bool | None = None

    @property
    def host_address(self) -> str:
        """The host's address as the board reaches it; host peers bind to it."""
        if self.network_declared is False:
            raise UndeclaredNeed(f"the test uses the host peers ({self.name}'s host_address) but is not marked "
                                 'needs("network"): on a target without a network it would fail instead of '
                                 "skipping")
        return self.peer_address()

    @abc.abstractmethod
    def peer_address(self) -> str:
        """`host_address` without the plugin's check: the host as this target reaches it."""

    def server_port(self, transport: Transport) -> ServerPort:
        """A port for a server the board runs, and where host clients reach it."""
        raise NotImplementedError(f"{self.name} cannot be reached from the host")

    @abc.abstractmethod
    def start(
        self,
        script: Path,
        args: dict[str, Any] | None = None,
        files: dict[str, Path] | None = None,
        modules: Sequence[Path] = (),
    ) -> RunningScript:
        """Start `script` in the background with `args` and `files` (see the module docstring);
        `modules` are MicroPython modules the script imports, placed beside it."""

    def run(
        self,
        script: Path,
        args: dict[str, Any] | None = None,
        files: dict[str, Path] | None = None,
        timeout: float = 60,
        modules: Sequence[Path] = (),
    ) -> RunResult:
        return self.start(script, args, files, modules).wait(timeout)

    def exec(self, source: str, timeout: float = 60) -> str:
        """Run a few lines of MicroPython and return what they printed; raises ExecFailed when they raise."""
        with tempfile.TemporaryDirectory() as scratch:
            script = Path(scratch) / "exec_source.py"
            script.write_text(source, encoding="utf-8")
            result = self.run(script, timeout=timeout)
        if result.returncode != 0:
            raise ExecFailed(f"{self.name}: the code failed:\n{result.describe()}")
        return result.stdout

    def identity(self) -> BoardProbe:
        """What the target runs and what its firmware offers (the probe; see probe.py)."""
        try:
            return parse_probe_output(self.exec(PROBE_SOURCE).encode())
        except ExecFailed as e:
            raise ProbeFailed(str(e)) from e

    def capabilities(self, identity: BoardProbe) -> frozenset[str]:
        """The capabilities of `identity` (what the firmware offers) plus what this target adds: see
        CAPABILITIES in probe.py for the firmware's, TARGET_CAPABILITIES here for the target's."""
        return identity.capabilities

    @abc.abstractmethod
    def set_clock(self, utc: dt.datetime | None) -> dt.datetime:
        """Set the target's wall clock to `utc` (None: the current UTC time); return what it shows."""


class ExecFailed(RuntimeError):
    """Code run with `Target.exec` raised on the target; the message has its output."""


class UndeclaredNeed(RuntimeError):
    """A test used what its `needs(...)` markers do not ask for."""


# What a target adds to its firmware's capabilities (the names tests use in needs(...)):
TARGET_CAPABILITIES = {
    "network": "host peers are reachable from it (the unix port, the qemu board, a board given --host-ip)",
    "inbound": "host clients reach servers on it (loopback, or the emulator's port forwards)",
    "gc_heap": "mbedTLS allocates on MicroPython's GC heap, so gc.mem_alloc() sees all of it",
    "clock": "its wall clock can be set (libfaketime on unix, machine.RTC on a board)",
}


_LITERALS = (str, int, float, bytes, bool, type(None))


def _check_literal(value: Any, where: str) -> None:
    """Only values whose repr() MicroPython can read back are allowed (a Path, for one, is not)."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_literal(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_literal(key, f"{where} key")
            _check_literal(item, f"{where}[{key!r}]")
    elif not isinstance(value, _LITERALS):
        raise TypeError(f"ARGS{where} is a {type(value).__name__}; pass files in `files`, other values "
                        "as str/int/float/bytes/bool/None/list/dict")


def args_module_source(args: dict[str, Any]) -> str:
    _check_literal(args, "")
    return f"ARGS = {args!r}\n"


def merge_file_args(args: dict[str, Any] | None, board_paths: dict[str, str]) -> dict[str, Any]:
    merged = dict(args or {})
    for key, path in board_paths.items():
        if key in merged:
            raise ValueError(f"{key!r} is both an argument and a file")
        merged[key] = path
    return merged


def prepare_workdir(
    script: Path,
    args: dict[str, Any] | None,
    files: dict[str, Path] | None,
    modules: Sequence[Path],
    workdir_root: Path | None,
    board_path: Callable[[Path], str],
) -> Path:
    """A fresh directory holding the script, its modules and `test_args.py`; `board_path` says where
    the board sees a host file (on unix the file itself, on a board its copy under the mount)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{script.stem}-", dir=workdir_root))
    for path in (script, *modules):
        shutil.copy(path, workdir / path.name)
    board_paths = {key: board_path(path) for key, path in (files or {}).items()}
    (workdir / ARGS_MODULE).write_text(args_module_source(merge_file_args(args, board_paths)), encoding="utf-8")
    return workdir


class UnixProcess(RunningScript):
    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path, script: str) -> None:
        self.proc = proc
        self.workdir = workdir
        self.script = script

    def running(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return (self.workdir / "stdout.txt").read_text(errors="replace")

    def wait(self, timeout: float = 60) -> RunResult:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self._stop(timed_out=True)
        return self._collect(timed_out=False)

    def kill(self) -> RunResult:
        return self._stop(timed_out=False)

    def _stop(self, timed_out: bool) -> RunResult:
        stop_process(self.proc, timeout=5)
        return self._collect(timed_out)

    def _collect(self, timed_out: bool) -> RunResult:
        stderr = (self.workdir / "stderr.txt").read_text(errors="replace")
        return RunResult(self.output(), stderr, self.proc.returncode, timed_out, self.script)


class UnixTarget(Target):
    """The unix port: `binary script.py` in a fresh working directory per run.

    `faketime` (e.g. "@2020-01-01 00:00:00" or "-400d") runs it under libfaketime; raises
    `FaketimeUnavailable` when the library is not installed. `gc_heap` says the binary is the build with
    mbedTLS on the GC heap (make firmware PORT=unix MBEDTLS_HEAP=gc).
    """

    def __init__(
        self,
        binary: Path,
        faketime: str | None = None,
        workdir_root: Path | None = None,
        wrapper: Sequence[str] = (),
        name: str = "unix",
        gc_heap: bool = False,
    ) -> None:
        self.name = name
        self.gc_heap = gc_heap
        self.binary = binary.resolve()  # the script runs in its own working directory
        self.wrapper = list(wrapper)  # e.g. valgrind and its options
        self.faketime = faketime
        self.workdir_root = workdir_root
        self._faketime_env = faketime_environment(faketime) if faketime else {}

    def capabilities(self, identity: BoardProbe) -> frozenset[str]:
        found = set(identity.capabilities) | {"network", "inbound"}
        if self.gc_heap:
            found.add("gc_heap")
        if faketime_problem() is None:
            found.add("clock")
        return frozenset(found)

    def set_clock(self, utc: dt.datetime | None) -> dt.datetime:
        """Later runs see a wall clock `utc` now, advancing in real time (libfaketime's relative offset in
        seconds); None runs them on the real clock again."""
        now = dt.datetime.now(dt.timezone.utc)
        if utc is None:
            self.faketime, self._faketime_env, self.clock_changed = None, {}, False
            return now
        offset = round((utc - now).total_seconds())
        self._faketime_env = faketime_environment(f"{offset:+d}")
        self.faketime = f"{offset:+d}"
        self.clock_changed = True
        return utc

    def peer_address(self) -> str:
        return "127.0.0.1"

    def server_port(self, transport: Transport) -> ServerPort:
        port = free_port(transport)
        return ServerPort("127.0.0.1", port, "127.0.0.1", port)

    def start(
        self,
        script: Path,
        args: dict[str, Any] | None = None,
        files: dict[str, Path] | None = None,
        modules: Sequence[Path] = (),
    ) -> UnixProcess:
        workdir = prepare_workdir(script, args, files, modules, self.workdir_root,
                                  lambda path: str(path.resolve()))
        env = dict(os.environ, MICROPYPATH=f"{workdir}{os.pathsep}.frozen", **self._faketime_env)
        with (workdir / "stdout.txt").open("wb") as out, (workdir / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(
                [*self.wrapper, str(self.binary), script.name], cwd=workdir, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )
        return UnixProcess(proc, workdir, script.name)
