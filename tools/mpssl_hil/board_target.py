"""A board reached over a serial REPL with mpremote's transport: real boards and the emulated qemu
board.  Each run soft-resets the board, mounts the run's working directory from the host (mpremote's
`mount`, so scripts, modules, test_args.py and certificate files are read over the link) and imports
the script, so tracebacks name the script's own file and lines."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mpremote.transport import TransportError  # type: ignore[import-untyped]
from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

from .targets import RunningScript, RunResult, Target, prepare_workdir

MOUNT = "/remote"


class BoardRun(RunningScript):
    def __init__(self, transport: SerialTransport, workdir: Path, script: str, lock: threading.Lock) -> None:
        self.transport = transport
        self.workdir = workdir
        self.script = script
        self._lock = lock
        self._stdout = bytearray()
        self._stderr = b""
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"board-{script}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        module = Path(self.script).stem
        with self._lock:
            try:
                self.transport.enter_raw_repl(soft_reset=True)
                self.transport.mount_local(str(self.workdir))
                _, self._stderr = self.transport.exec_raw(f"import {module}", timeout=None,
                                                          data_consumer=self._stdout.extend)
                self.transport.umount_local()
            except TransportError as e:
                self._error = f"transport: {e}"

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
        return RunResult(self.output(), stderr, 1 if failed else 0, False, self.script)

    def kill(self, timed_out: bool = False) -> RunResult:
        self.transport.serial.write(b"\x03\x03")  # Ctrl-C: interrupt the script
        self._thread.join(10)
        stderr = self._stderr.decode(errors="replace") + (self._error or "")
        return RunResult(self.output(), stderr, None, timed_out, self.script)


class SerialBoardTarget(Target):
    """A MicroPython board on a serial device (a USB port or the qemu board's pty)."""

    def __init__(self, device: str, name: str = "board", host_address: str | None = None,
                 workdir_root: Path | None = None) -> None:
        self.name = name
        self.device = device
        self._host_address = host_address
        self.workdir_root = workdir_root
        self.transport = SerialTransport(device, baudrate=115200)
        self._lock = threading.Lock()

    @property
    def host_address(self) -> str:
        if self._host_address is None:
            raise RuntimeError(f"{self.name} has no network path to the host")
        return self._host_address

    def start(self, script: Path, args: dict[str, Any] | None = None, files: dict[str, Path] | None = None,
              modules: Sequence[Path] = ()) -> BoardRun:
        names: dict[Path, str] = {}

        def board_path(path: Path) -> str:
            names[path] = f"file{len(names)}_{path.name}"
            return f"{MOUNT}/{names[path]}"

        workdir = prepare_workdir(script, args, files, modules, self.workdir_root, board_path)
        for path, name in names.items():
            (workdir / name).write_bytes(path.read_bytes())
        return BoardRun(self.transport, workdir, script.name, self._lock)

    def close(self) -> None:
        deadline = time.monotonic() + 5
        while not self._lock.acquire(timeout=0.1):
            if time.monotonic() > deadline:
                break
        self.transport.close()
