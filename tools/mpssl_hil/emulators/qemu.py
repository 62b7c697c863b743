"""The emulated qemu board: QEMU's mps2-an385 machine running mpssl's MicroPython firmware, its
REPL on a pseudo-terminal, host time and entropy through semihosting, and its LAN9118 Ethernet on
QEMU's user-mode network: the board gets 10.0.2.15 by DHCP, reaches the host's loopback as 10.0.2.2
(`HOST_ADDRESS`), and host ports on 127.0.0.1 forward to the board's `BOARD_SERVER_PORTS` (TCP and
UDP) for servers on the board.  `mpssl-qemu` starts it by hand; the `qemu` target of the test runner
starts it for a session."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mpssl_hil.common.ports import Forwards
from mpssl_hil.common.process import die_with_parent, stop_process

QEMU_SYSTEM = "qemu-system-arm"
MACHINE = "mps2-an385"
HOST_ADDRESS = "10.0.2.2"  # QEMU's user-network gateway: the host's loopback
BOARD_SERVER_PORTS = (4433, 4434, 4435, 4436)
_PTY = re.compile(rb"char device redirected to (\S+)")


class QemuUnavailable(RuntimeError):
    pass


class QemuBoard:
    """`with QemuBoard(firmware) as board:` ... `board.serial` is the REPL's pty."""

    BUILD_COMMAND = "make firmware PORT=qemu"  # what makes `firmware` (said when it is missing)

    def __init__(self, firmware: Path, start_timeout: float = 20.0, forwards: Forwards | None = None) -> None:
        if shutil.which(QEMU_SYSTEM) is None:
            raise QemuUnavailable(f"{QEMU_SYSTEM} is not installed (Debian package qemu-system-arm)")
        if not firmware.is_file():
            raise QemuUnavailable(f"no {firmware}: run `{self.BUILD_COMMAND}`")
        self.firmware = firmware
        self.start_timeout = start_timeout
        self.forwards = forwards if forwards is not None else Forwards.allocate(BOARD_SERVER_PORTS)
        self.serial = ""
        self.log = bytearray()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.starts = 0  # QEMU processes started so far: a restart (the ladder's power cycle) counts one more

    @property
    def host_address(self) -> str:
        """The address the board reaches the host's loopback by."""
        return HOST_ADDRESS

    def command(self) -> list[str]:
        nic = ",".join(filter(None, ["user", "model=lan9118", self.forwards.qemu_hostfwd()]))
        return [QEMU_SYSTEM, "-machine", MACHINE, "-nographic", "-monitor", "null", "-semihosting",
                "-serial", "pty", "-nic", nic, "-kernel", str(self.firmware)]

    def describe(self) -> dict[str, object]:
        """What `mpssl-qemu --json` prints."""
        return {"serial": self.serial, "host_address": self.host_address, "forwards": self.forwards.describe()}

    def start(self) -> None:
        self.starts += 1
        self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         preexec_fn=die_with_parent(),
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

        self._reader = threading.Thread(target=read_output, name="qemu-output", daemon=True)
        self._reader.start()
        if not found.wait(self.start_timeout):
            self.stop()
            raise QemuUnavailable(f"QEMU did not open a serial pty: {self.log.decode(errors='replace')}")

    def restart(self) -> None:
        """Power-cycle the board: a new QEMU process (a new pty in `serial`, the same port forwards)."""
        self.stop()
        self.serial = ""
        self.start()

    @property
    def pid(self) -> int | None:
        """The running QEMU's process id."""
        return self._process.pid if self._process is not None else None

    def cut_power(self) -> None:
        """What a power loss does to a real board: the emulator dies at once, mid-whatever (SIGKILL);
        the pty closes under whoever reads it. `restart()` brings the board back."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process, 5, readers=[self._reader] if self._reader else [])

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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop QEMU on `kill` too, not only on Ctrl-C
    try:
        if args.json:
            print(json.dumps(board.describe()), flush=True)
        else:
            print(f"board REPL on {board.serial}: `mpremote connect {board.serial}`; Ctrl-C stops QEMU\n"
                  f"the board reaches the host's loopback as {board.host_address}; "
                  "bring its network up with `network.LAN().active(True)`", flush=True)
            for board_port, host_port in board.forwards.describe().items():
                print(f"  board {board_port} <- host {host_port}", flush=True)
        while board.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    return 0
