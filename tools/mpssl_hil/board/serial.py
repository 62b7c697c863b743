"""A board reached over a serial REPL with mpremote's transport: real boards and the emulated boards.
Each run soft-resets the board, gives it the run's working directory (the script, its modules,
test_args.py and certificate files) and imports the script, so tracebacks name the script's own file
and lines.  The working directory reaches the board in one of two ways (`Delivery`):

- "mount": mpremote's `mount` serves the host directory at /remote, so the board reads every file over
  the link while the script runs.  The board side of that protocol gives up after one second without
  an answer ("timeout waiting for remote"), which a slow emulated board on a loaded host can exceed.
- "copy": the files are written into the board's own filesystem under /mpssl-run before the script
  starts (`BoardDirectory`), each only when its content changed, and the script runs from there with no
  further traffic but its output.  It needs a writable filesystem on the board."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from mpremote.transport import TransportError, TransportExecError  # type: ignore[import-untyped]
from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

from mpssl_hil.board.clock import set_clock
from mpssl_hil.board.directory import BoardDirectory
from mpssl_hil.board.link import SerialBoardLink
from mpssl_hil.board.probe import BoardProbe, probe_board
from mpssl_hil.board.recovery import BoardHealth, Recovery, recover, run_with_retry
from mpssl_hil.board.repl import open_transport, run_raw
from mpssl_hil.board.target import ARGS_MODULE, ExecFailed, RunningScript, RunResult, Target, prepare_workdir
from mpssl_hil.common.ports import Forwards, ServerPort, Transport

MOUNT = "/remote"

Delivery = Literal["mount", "copy"]
IDLE_WAIT = 120.0  # seconds to wait for a run to let go of the board before exec/clock/probe give up
RECOVERY_LOCK_WAIT = 15.0  # seconds recovery waits for a stuck run before it climbs the ladder anyway


class BoardBusyError(RuntimeError):
    """A run still holds the board."""


class BoardRun(RunningScript):
    """One script run; `directory` None means the working directory is mounted, else it is copied there."""

    def __init__(self, transport: SerialTransport, workdir: Path, script: str, lock: threading.Lock,
                 directory: BoardDirectory | None = None,
                 on_result: Callable[[Path, RunResult], None] | None = None,
                 silence_timeout: float | None = None) -> None:
        self.on_result = on_result
        self.silence_timeout = silence_timeout
        self.transport = transport
        self.workdir = workdir
        self.script = script
        self.directory = directory
        self._lock = lock
        self._stdout = bytearray()
        self._stderr = b""
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"board-{script}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Every failure ends up in `_error`, so a run whose thread died never looks like a clean exit."""
        with self._lock:
            try:
                self._error = self._import_script()
            except TransportError as e:
                self._error = f"transport: {e}"
            except Exception:  # the link broke: pyserial's SerialException, a mount reply cut short (struct.error)
                self._error = f"the run broke off on the host side:\n{traceback.format_exc()}"

    def _import_script(self) -> str | None:
        """Soft-reset the board, give it the working directory and import the script; a reason on failure."""
        self.transport.enter_raw_repl(soft_reset=True)
        if self.directory is None:
            self.transport.mount_local(str(self.workdir))
        else:
            try:
                self.directory.sync(self.workdir)
            except OSError as e:  # mpremote's fs_* raise OSError when the board's filesystem refuses a file
                return f"copying the run's files to {self.directory.path}: {e!r}"
            self.transport.exec(self.directory.enter_source())
        # With a silence timeout, mpremote gives up when the board sends nothing for that long
        # (TransportError: an infrastructure failure); the overall deadline is wait()'s timeout.
        _, self._stderr = self.transport.exec_raw(f"import {Path(self.script).stem}", timeout=self.silence_timeout,
                                                  data_consumer=self._stdout.extend)
        if self.directory is None:
            self.transport.umount_local()
        return None

    def running(self) -> bool:
        return self._thread.is_alive()

    def output(self) -> str:
        # mpremote hands the raw REPL's end-of-output marker (Ctrl-D) to the consumer too.
        return bytes(self._stdout).rstrip(b"\x04").decode(errors="replace").replace("\r\n", "\n")

    def wait(self, timeout: float = 60) -> RunResult:
        self._thread.join(timeout)
        if self._thread.is_alive():
            return self.kill(timed_out=True)
        stderr = self._stderr.decode(errors="replace").replace("\r\n", "\n")
        if self._error:
            stderr += self._error
        failed = bool(stderr)
        return self._report(RunResult(self.output(), stderr, 1 if failed else 0, False, self.script,
                                      infrastructure_error=self._error))

    def _report(self, result: RunResult) -> RunResult:
        if self.on_result is not None:
            self.on_result(self.workdir, result)
        return result

    def kill(self, timed_out: bool = False) -> RunResult:
        try:
            self.transport.serial.write(b"\x03\x03")  # Ctrl-C: interrupt the script
        except Exception as e:  # the link is gone: the run's own error says more
            self._error = self._error or f"interrupting the board: {e!r}"
        self._thread.join(10)
        stderr = self._stderr.decode(errors="replace") + (self._error or "")
        reason = "the board did not finish in time" if timed_out else self._error
        return self._report(RunResult(self.output(), stderr, None, timed_out, self.script,
                                      infrastructure_error=reason))


class SerialBoardTarget(Target):
    """A MicroPython board on a serial device (a USB port or an emulated board's pty).

    `delivery` says how a run's files reach the board (see the module docstring): "mount" (the default)
    or "copy" into `RUN_DIRECTORY` of the board's filesystem.  In "copy" mode the target keeps the
    `BoardDirectory`, and with it which content the board already holds, for its whole life: one target
    object per board (per emulator process)."""

    def __init__(self, device: str, name: str = "board", host_address: str | None = None,
                 workdir_root: Path | None = None, delivery: Delivery = "mount",
                 forwards: Forwards | None = None,
                 link: Callable[[SerialTransport], SerialBoardLink] | None = None,
                 silence_timeout: float | None = None) -> None:
        """`link(transport)` makes the recovery ladder's link to this board (see board_link.py); without
        one, a run that fails for infrastructure reasons is reported as it is, not retried."""
        self.name = name
        self.make_link = link
        self.silence_timeout = silence_timeout  # seconds without a character before a run counts as hung
        self.health = BoardHealth(name)
        self.forwards = forwards
        self.device = device
        self._host_address = host_address
        self.workdir_root = workdir_root
        self.delivery = delivery
        self.transport = open_transport(device)
        self.directory = BoardDirectory(self.transport) if delivery == "copy" else None
        self.retries: list[str] = []  # runs retried after an infrastructure failure, for the report
        self.transcript: Path | None = None  # where each run's REPL transcript is appended (per test)
        self._lock = threading.Lock()

    def peer_address(self) -> str:
        if self._host_address is None:
            raise RuntimeError(f"{self.name} has no network path to the host")
        return self._host_address

    def server_port(self, transport: Transport) -> ServerPort:
        """A board port that a host port forwards to (an emulated board behind QEMU's user network).
        A board on a real network would answer at its own address: not supported yet."""
        if self.forwards is None:
            raise RuntimeError(f"{self.name} has no port forwards for board-side servers")
        return self.forwards.take(transport)

    @contextlib.contextmanager
    def idle_transport(self, wait: float = IDLE_WAIT) -> Iterator[SerialTransport]:
        """The board's transport while no script runs on it: for setting its clock or network. Waits at
        most `wait` seconds for a run to let go of the board (BoardBusyError after that)."""
        if not self._lock.acquire(timeout=wait):
            raise BoardBusyError(f"{self.name}: a run still holds the board after {wait:g}s")
        try:
            yield self.transport
        finally:
            self._lock.release()

    def exec(self, source: str, timeout: float = 60) -> str:
        """Run a few lines at the raw REPL (no soft reset) and return what they printed."""
        with self.idle_transport() as transport:
            try:
                return run_raw(transport, source, timeout=timeout).decode(errors="replace").replace("\r\n", "\n")
            except TransportExecError as e:
                raise ExecFailed(f"{self.name}: the code raised:\n{e.error_output}") from e

    def identity(self) -> BoardProbe:
        with self.idle_transport() as transport:
            return probe_board(transport)

    def capabilities(self, identity: BoardProbe) -> frozenset[str]:
        found = set(identity.capabilities)
        if self._host_address is not None:
            found.add("network")
        if self.forwards is not None:
            found.add("inbound")
        if identity.family != "esp32":  # ESP-IDF's mbedTLS allocates from the IDF heap, not MicroPython's
            found.add("gc_heap")
        if "rtc" in found:
            found.add("clock")
        return frozenset(found)

    def set_clock(self, utc: dt.datetime | None) -> dt.datetime:
        """Set the board's RTC in UTC, read it back and check it (clock.py)."""
        with self.idle_transport() as transport:
            shown = set_clock(transport, utc)
        self.clock_changed = utc is not None
        return shown

    def run(self, script: Path, args: dict[str, Any] | None = None, files: dict[str, Path] | None = None,
            timeout: float = 60, modules: Sequence[Path] = ()) -> RunResult:
        """A run that fails for infrastructure reasons (never for the script's own failure) is retried
        once after the recovery ladder brought the board back; `retried_after` then says so."""
        def attempt() -> RunResult:
            return self.start(script, args, files, modules).wait(timeout)

        if self.make_link is None:
            return attempt()
        result, retried = run_with_retry(attempt, self.recover)
        if retried:
            self.retries.append(f"{script.name}: {retried}")
            if self.transcript is not None:
                with self.transcript.open("a", encoding="utf-8") as log:
                    log.write(f"=== retried {script.name} after: {retried}\n\n")
        return result

    def recover(self, cause: str) -> Recovery:
        """Climb the recovery ladder; the board's transport (and copied-file state) is renewed."""
        assert self.make_link is not None
        # A run thread stuck in mpremote's read (a board that went silent with no silence deadline)
        # keeps the lock: after RECOVERY_LOCK_WAIT the ladder goes ahead without it, and its resets
        # (the last one restarts an emulator) break that read, so the thread ends.
        held = self._lock.acquire(timeout=RECOVERY_LOCK_WAIT)
        try:
            link = self.make_link(self.transport)
            recovery = recover(link)
            if not held:
                recovery.steps.insert(0, f"a run still held the board after {RECOVERY_LOCK_WAIT:g}s: "
                                         "recovering without it")
            self.transport = link.transport
            if self.delivery == "copy":
                self.directory = BoardDirectory(self.transport)  # re-read: a restarted board may be empty
        finally:
            if held:
                self._lock.release()
        self.health.record(cause, recovery)
        return recovery

    def start(self, script: Path, args: dict[str, Any] | None = None, files: dict[str, Path] | None = None,
              modules: Sequence[Path] = ()) -> BoardRun:
        self.health.check()
        names: dict[Path, str] = {}
        base = MOUNT if self.directory is None else self.directory.path

        def board_path(path: Path) -> str:
            names[path] = f"file{len(names)}_{path.name}"
            return f"{base}/{names[path]}"

        workdir = prepare_workdir(script, args, files, modules, self.workdir_root, board_path)
        for path, name in names.items():
            (workdir / name).write_bytes(path.read_bytes())
        return BoardRun(self.transport, workdir, script.name, self._lock, self.directory, self._log_run,
                        self.silence_timeout)

    def _log_run(self, workdir: Path, result: RunResult) -> None:
        """Append the run to the transcript: what was sent (test_args.py, `import <script>`) and what
        came back."""
        if self.transcript is None:
            return
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        args = (workdir / ARGS_MODULE).read_text(errors="replace") if (workdir / ARGS_MODULE).exists() else ""
        with self.transcript.open("a", encoding="utf-8") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} {self.name} ({self.device}): import "
                      f"{Path(result.script).stem}\n--- {ARGS_MODULE} ---\n{args}{result.describe()}\n"
                      f"exit: {result.returncode}{' (timed out)' if result.timed_out else ''}\n\n")

    def close(self) -> None:
        """Close the link; a run that still holds the board after 5 s is cut off with it."""
        held = self._lock.acquire(timeout=5)
        try:
            self.transport.close()
        finally:
            if held:
                self._lock.release()
