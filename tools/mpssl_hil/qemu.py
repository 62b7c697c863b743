"""The emulated qemu board: QEMU's mps2-an385 machine running mpssl's MicroPython firmware, its
REPL on a pseudo-terminal, host time and entropy through semihosting.  `mpssl-qemu` starts it by
hand; the `qemu` target of the test runner starts it for a session."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

QEMU_SYSTEM = "qemu-system-arm"
MACHINE = "mps2-an385"
_PTY = re.compile(rb"char device redirected to (\S+)")


class QemuUnavailable(RuntimeError):
    pass


class QemuBoard:
    """`with QemuBoard(firmware) as board:` ... `board.serial` is the REPL's pty."""

    def __init__(self, firmware: Path, start_timeout: float = 20.0) -> None:
        if shutil.which(QEMU_SYSTEM) is None:
            raise QemuUnavailable(f"{QEMU_SYSTEM} is not installed (Debian package qemu-system-arm)")
        if not firmware.is_file():
            raise QemuUnavailable(f"no {firmware}: run `make firmware PORT=qemu`")
        self.firmware = firmware
        self.start_timeout = start_timeout
        self.serial = ""
        self.log = bytearray()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host_address(self) -> str | None:
        """The address the board reaches the host by (the board has no network yet)."""
        return None

    def command(self) -> list[str]:
        return [QEMU_SYSTEM, "-machine", MACHINE, "-nographic", "-monitor", "null", "-semihosting",
                "-serial", "pty", "-kernel", str(self.firmware)]

    def start(self) -> None:
        self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
        found = threading.Event()

        def read_output() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                self.log += line
                match = _PTY.search(line)
                if match:
                    self.serial = match.group(1).decode()
                    found.set()

        threading.Thread(target=read_output, name="qemu-output", daemon=True).start()
        if not found.wait(self.start_timeout):
            self.stop()
            raise QemuUnavailable(f"QEMU did not open a serial pty: {self.log.decode(errors='replace')}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> QemuBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpssl-qemu", description="Start the emulated mpssl board.")
    parser.add_argument("--firmware", type=Path, default=Path("build/qemu-MPS2_AN385/firmware.elf"))
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args(argv)
    try:
        board = QemuBoard(args.firmware)
        board.start()
    except QemuUnavailable as e:
        parser.exit(2, f"mpssl-qemu: {e}\n")
    try:
        if args.json:
            print(json.dumps({"serial": board.serial, "host_address": board.host_address, "forwards": {}}),
                  flush=True)
        else:
            print(f"board REPL on {board.serial}: `mpremote connect {board.serial}`; Ctrl-C stops QEMU", flush=True)
        while board._process is not None and board._process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    return 0
