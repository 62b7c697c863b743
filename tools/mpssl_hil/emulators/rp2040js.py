"""The emulated RP2040: the rp2040js emulator (npm package, pinned in tools/rp2040js/) running mpssl's
RPI_PICO_W firmware.  The Node wrapper tools/rp2040js/run.mjs speaks the board's USB serial port over
its stdin/stdout; this module owns a pseudo-terminal and bridges it to them, so mpremote (and
`SerialBoardTarget`) open `board.serial` like any serial port.

The emulated board runs at about a third of the real chip's speed, slower still on a loaded host, too
slow for mpremote's `mount` (its board side gives up after one second without an answer), so its
target copies each run's files into the board's own littlefs instead (`delivery`, "copy").  The flash
is fresh per emulator process, so the first run of a session writes every file.

The emulator needs the RP2040 B1 bootrom image, which rp2040js does not ship: its path comes from
the `bootrom` argument, else the MPSSL_RP2040_BOOTROM environment variable, else the image
`make rp2040-bootrom` builds from source when it is there (tools/rp2040js/README.md)."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
import tty
from collections.abc import Mapping
from pathlib import Path

from mpssl_hil.board.serial import Delivery
from mpssl_hil.common.process import die_with_parent, stop_process

BOOTROM_ENV = "MPSSL_RP2040_BOOTROM"
BUILT_BOOTROM = Path("build/rp2040-bootrom/b1-bootrom.bin")  # `make rp2040-bootrom`, under the repository
WRAPPER_DIR = Path(__file__).resolve().parents[2] / "rp2040js"  # tools/rp2040js
WRAPPER = "run.mjs"
PACKAGE = "rp2040js"
READY = b"READY"
NODE = "node"


class Rp2040jsUnavailable(RuntimeError):
    """The emulated RP2040 cannot start here; str() is the one-line reason."""


def bootrom_from(given: Path | None, environ: Mapping[str, str] | None = None,
                 built: Path | None = None) -> Path | None:
    """The bootrom path: `given`, else $MPSSL_RP2040_BOOTROM, else `built` (the image `make rp2040-bootrom`
    wrote) when that file exists, else None.  A named image is returned even when missing, so the skip
    names it; the built one is only a default."""
    if given is not None:
        return given
    value = (os.environ if environ is None else environ).get(BOOTROM_ENV, "")
    if value:
        return Path(value).expanduser()
    return built if built is not None and built.is_file() else None


def unavailable_reason(firmware: Path, bootrom: Path | None, wrapper_dir: Path = WRAPPER_DIR,
                       node: str | None = NODE) -> str | None:
    """Why the emulated RP2040 cannot start, in one line; None when everything it needs is there."""
    if node is None or shutil.which(node) is None:
        return "node is not installed (Node.js 18 or newer runs the rp2040js emulator)"
    if not (wrapper_dir / "node_modules" / PACKAGE / "package.json").is_file():
        return f"the rp2040js npm package is not installed: run `npm ci --prefix {wrapper_dir}`"
    if bootrom is None:
        return (f"no RP2040 bootrom image: run `make rp2040-bootrom`, or pass --rp2040-bootrom or set "
                f"{BOOTROM_ENV} (tools/rp2040js/README.md)")
    if not bootrom.is_file():
        return f"no RP2040 bootrom image at {bootrom} (tools/rp2040js/README.md says where to get it)"
    if not firmware.is_file():
        return f"no {firmware}: run `make firmware PORT=rp2 BOARD=RPI_PICO_W`"
    return None


class Rp2040jsBoard:
    """`with Rp2040jsBoard(firmware, bootrom) as board:` ... `board.serial` is the REPL's pty.

    Raises `Rp2040jsUnavailable` when node, the npm package, the bootrom or the firmware is missing,
    or when the firmware does not bring up its USB serial port within `start_timeout` seconds."""

    def __init__(self, firmware: Path, bootrom: Path | None = None, start_timeout: float = 120.0,
                 wrapper_dir: Path = WRAPPER_DIR) -> None:
        bootrom = bootrom_from(bootrom)
        reason = unavailable_reason(firmware, bootrom, wrapper_dir)
        if reason:
            raise Rp2040jsUnavailable(reason)
        assert bootrom is not None
        self.firmware = firmware.resolve()
        self.bootrom = bootrom.resolve()
        self.wrapper_dir = wrapper_dir
        self.start_timeout = start_timeout
        self.serial = ""
        self.log = bytearray()
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._master = -1
        self._slave = -1
        self._stopping = threading.Event()

    @property
    def host_address(self) -> str | None:
        """The emulated board has no network path to the host (no CYW43 radio)."""
        return None

    @property
    def delivery(self) -> Delivery:
        """How `SerialBoardTarget` gives a run's files to this board: written into its filesystem."""
        return "copy"

    def command(self) -> list[str]:
        return [NODE, str(self.wrapper_dir / WRAPPER), "--bootrom", str(self.bootrom),
                "--firmware", str(self.firmware), "--boot-timeout", str(self.start_timeout)]

    def start(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line editing before pyserial opens it
        self.serial = os.ttyname(self._slave)
        self._process = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         preexec_fn=die_with_parent(),
                                         stderr=subprocess.PIPE, cwd=self.wrapper_dir)
        ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_log, args=(ready,), name="rp2040js-log", daemon=True),
            threading.Thread(target=self._to_board, name="rp2040js-in", daemon=True),
            threading.Thread(target=self._from_board, name="rp2040js-out", daemon=True),
        ]
        for t in self._threads:
            t.start()
        deadline_hit = not ready.wait(self.start_timeout + 5)
        if deadline_hit or self._process.poll() is not None:
            self.stop()
            lines = self.log.decode(errors="replace").strip().splitlines()
            detail = lines[-1] if lines else "no output"
            raise Rp2040jsUnavailable(f"the emulated RP2040 did not start: {detail}")

    def _read_log(self, ready: threading.Event) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self.log += line
            if line.strip() == READY:
                ready.set()
        ready.set()  # the wrapper exited: start() reports why

    def _to_board(self) -> None:
        """pty → wrapper's stdin (what mpremote writes)."""
        assert self._process is not None and self._process.stdin is not None
        stdin = self._process.stdin
        while not self._stopping.is_set():
            try:
                readable, _, _ = select.select([self._master], [], [], 0.2)
                if not readable:
                    continue
                data = os.read(self._master, 4096)
                stdin.write(data)
                stdin.flush()
            except (OSError, ValueError):
                return

    def _from_board(self) -> None:
        """wrapper's stdout → pty (what the board prints)."""
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout.fileno()
        while True:
            data = os.read(stdout, 4096)
            if not data:
                return
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._master, view):]
            except OSError:
                return

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None:
            # the copying threads end first (EOF from the wrapper, the _stopping flag), then the pipes close
            stop_process(self._process, 5, readers=self._threads)
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def __enter__(self) -> Rp2040jsBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
