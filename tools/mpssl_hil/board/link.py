"""The recovery ladder's view of a board on a serial port (`BoardLink`): real boards over
USB, and emulated boards whose "hard reset" is restarting the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from mpremote.transport import TransportError  # type: ignore[import-untyped]
from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

from mpssl_hil.board.repl import open_transport
from mpssl_hil.common.waiting import wait_until

ALIVE = b"mpssl-alive"


class BoardLink(Protocol):
    """What the recovery ladder (recovery.py) needs of one board: a connection (repl.py) plus the ways
    to reset it. SerialBoardLink is the one implementation; tests use fakes of it."""

    def responsive(self, timeout: float) -> bool:
        """Whether the board answers at the raw REPL within `timeout` seconds."""

    def interrupt(self) -> None:
        """Ctrl-C: stop the running program."""

    def soft_reset(self) -> None:
        """Ctrl-D at the raw REPL."""

    def machine_reset(self) -> bool | None:
        """Run `machine.reset()` without waiting for an answer (the link may drop); False when this
        board cannot (an emulator would exit)."""

    def hard_reset(self) -> bool:
        """Reset the board from outside; False when this board has no way to."""

    def power_cycle(self) -> bool:
        """Turn the board's power off and on; False when this board has no way to (rig.toml gives
        no hub port for it)."""

    def reconnect(self) -> None:
        """Open the link again, finding the port anew (by USB serial number on a real board)."""


class SerialBoardLink:
    """`open_port()` gives the device to (re)open: the same path, the port found again by USB serial
    number, or a restarted emulator's new pty.  `restart_emulator` (emulated boards) replaces
    `machine.reset()`, which would end the emulator, and the DTR/RTS pulse as the hard reset.
    `pulse_reset` says the board resets on an RTS pulse (ESP32 dev boards behind a USB-UART bridge).
    `prepare(transport)` runs after every reconnect: the board's clock and network, as at the start.
    `cycle_power` (a board behind a switchable USB hub, board/power.py) turns the board's power off and on;
    the reconnect after it waits up to `power_reconnect_timeout`, since the board enumerates anew."""

    def __init__(self, transport: SerialTransport, open_port: Callable[[], str],
                 prepare: Callable[[Any], None] | None = None,
                 restart_emulator: Callable[[], None] | None = None, pulse_reset: bool = False,
                 reconnect_timeout: float = 15.0, cycle_power: Callable[[], None] | None = None,
                 power_reconnect_timeout: float = 30.0) -> None:
        self.transport = transport
        self.open_port = open_port
        self.prepare = prepare
        self.restart_emulator = restart_emulator
        self.pulse_reset = pulse_reset
        self.reconnect_timeout = reconnect_timeout
        self.cycle_power = cycle_power
        self.power_reconnect_timeout = power_reconnect_timeout
        self._next_reconnect_timeout: float | None = None  # a longer wait after a power cycle

    def responsive(self, timeout: float) -> bool:
        try:
            self.transport.enter_raw_repl(soft_reset=False, timeout_overall=timeout)
            answer = self.transport.exec(f"print({ALIVE.decode()!r})")
            self.transport.exit_raw_repl()
        except Exception:  # any failure to answer is "not responsive"
            return False
        return ALIVE in bytes(answer)

    def interrupt(self) -> None:
        self.transport.serial.write(b"\r\x03\x03")

    def soft_reset(self) -> None:
        self.transport.enter_raw_repl(soft_reset=True, timeout_overall=5)
        self.transport.exit_raw_repl()

    def machine_reset(self) -> bool:
        if self.restart_emulator is not None:
            return False  # on the emulators machine.reset() ends the process: the hard reset restarts it
        self.transport.exec_raw_no_follow("import machine\nmachine.reset()")
        return True

    def hard_reset(self) -> bool:
        if self.restart_emulator is not None:
            self.restart_emulator()
            return True
        if not self.pulse_reset:
            return False
        self.transport.serial.rts = True  # EN low on the usual auto-reset circuit
        time.sleep(0.2)
        self.transport.serial.rts = False
        return True

    def power_cycle(self) -> bool:
        if self.cycle_power is None:
            return False
        try:
            self.transport.close()  # let go of the port first, so that it comes back under the same name
        except Exception:  # the old link may already be gone
            pass
        try:
            self.cycle_power()
        except Exception:
            try:  # the power stayed on: the board is where it was, and later recoveries need its link
                self.transport = open_transport(self.open_port())
            except Exception:  # reported by the next recovery, which reconnects
                pass
            raise
        self._next_reconnect_timeout = max(self.reconnect_timeout, self.power_reconnect_timeout)
        return True

    def reconnect(self) -> None:
        try:
            self.transport.close()
        except Exception:  # the old link may already be gone
            pass
        timeout = self._next_reconnect_timeout or self.reconnect_timeout
        self._next_reconnect_timeout = None
        # The port is back when it opens: OSError (no such port yet, pyserial) or mpremote's TransportError.
        self.transport = wait_until(lambda: open_transport(self.open_port()), timeout, interval=0.5,
                                    message="the board's serial port did not come back",
                                    retry_on=(OSError, TransportError))
        if self.prepare is not None:
            self.prepare(self.transport)
