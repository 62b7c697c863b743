"""The emulated STM32F405: QEMU's netduinoplus2 machine running mpssl's QEMU_NETDUINO_PLUS_2 firmware
(MicroPython's stm32 port, boards/stm32/QEMU_NETDUINO_PLUS_2), its REPL on USART1 behind a
pseudo-terminal, host time and entropy through semihosting, and no network (QEMU models no Ethernet
for this machine).  The `stm32-qemu` target of the test runner starts it once per session.

It shares `QemuBoard`'s process handling (start, the pty, restart as a power cycle, stop); only the
command line differs.  The board has no filesystem, so the runner mounts each run's directory."""

from __future__ import annotations

import os
import select
import time
import tty
from pathlib import Path

from mpssl_hil.board.serial import Delivery
from mpssl_hil.common.ports import Forwards
from mpssl_hil.emulators.qemu import QEMU_SYSTEM, QemuBoard, QemuUnavailable

MACHINE = "netduinoplus2"
DEFAULT_FIRMWARE = Path("build/stm32-QEMU_NETDUINO_PLUS_2/firmware.elf")
BUILD_COMMAND = "make firmware PORT=stm32 BOARD=QEMU_NETDUINO_PLUS_2"
PROMPT = b">>> "


class Stm32QemuBoard(QemuBoard):
    """`with Stm32QemuBoard(firmware) as board:` ... `board.serial` is the REPL's pty.

    Raises `QemuUnavailable` when QEMU or the firmware is missing, or QEMU opens no pty."""

    BUILD_COMMAND = BUILD_COMMAND

    def __init__(self, firmware: Path, start_timeout: float = 20.0) -> None:
        super().__init__(firmware, start_timeout, forwards=Forwards())  # no network: nothing to forward

    @property
    def host_address(self) -> str | None:  # type: ignore[override]
        """The emulated board has no network path to the host."""
        return None

    @property
    def delivery(self) -> Delivery:
        """How `SerialBoardTarget` gives a run's files to this board: mpremote mounts the run's directory
        (the board has no filesystem; QEMU runs fast enough for mount's one-second answers)."""
        return "mount"

    def start(self) -> None:
        """Start QEMU and wait for the REPL's first prompt.  Bytes that reach USART1 before the port has
        set it up stay in QEMU's receive register without an interrupt, and QEMU then takes no more:
        the REPL would never answer.  So nothing is sent until the board has printed its prompt."""
        super().start()
        fd = os.open(self.serial, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            seen = b""
            deadline = time.monotonic() + self.start_timeout
            while PROMPT not in seen:
                left = deadline - time.monotonic()
                if left <= 0 or not self.running:
                    self.stop()
                    raise QemuUnavailable(f"the emulated STM32F405 printed no REPL prompt: {seen[-200:]!r}")
                if select.select([fd], [], [], min(left, 0.5))[0]:
                    seen += os.read(fd, 4096)
        finally:
            os.close(fd)

    def command(self) -> list[str]:
        return [QEMU_SYSTEM, "-machine", MACHINE, "-nographic", "-monitor", "null", "-semihosting",
                "-serial", "pty", "-nic", "none", "-kernel", str(self.firmware)]

    def describe(self) -> dict[str, object]:
        return {"serial": self.serial, "machine": MACHINE}
