"""One way to open a board's serial link and one way to run code at its raw REPL, for every part of
the runner that talks to a board outside a test script's run (probe, clock, network, recovery, rig,
flashing).

`run_raw` enters the raw REPL without a soft reset (the board's state, its network and clock, stays),
runs `source` with an explicit deadline for the whole answer (mpremote's own default is 10 s, shorter
than a Wi-Fi join) and leaves the raw REPL again, even when the code raised on the board."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mpremote.transport import TransportExecError  # type: ignore[import-untyped]

BAUDRATE = 115200
EXEC_TIMEOUT = 10.0  # seconds for a short snippet's answer (mpremote's default)


class RawRepl(Protocol):
    """What the runner needs of an mpremote transport to run code on a board."""

    def enter_raw_repl(self, soft_reset: bool = True) -> None: ...

    def exit_raw_repl(self) -> None: ...

    def exec_raw(self, command: str, timeout: float | None = 10,
                 data_consumer: Callable[[bytes], Any] | None = None) -> tuple[bytes, bytes]: ...


class BoardConnection(RawRepl, Protocol):
    """An open serial connection to a board (mpremote's SerialTransport): what the rig's probe and
    flashing use. The recovery ladder's `BoardLink` (link.py) wraps one and adds the resets."""

    def exec_raw_no_follow(self, command: str) -> None:
        """Send code without waiting for its end (the board leaves USB inside `machine.bootloader()`)."""

    def close(self) -> None: ...


def open_transport(device: str, read_timeout: float | None = None) -> Any:
    """mpremote's SerialTransport on `device` (a serial port or an emulator's pty). `read_timeout` is
    pyserial's per-read timeout (None: block until the deadlines of `run_raw`/`exec_raw` say)."""
    from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

    if read_timeout is None:
        return SerialTransport(device, baudrate=BAUDRATE)
    return SerialTransport(device, baudrate=BAUDRATE, timeout=read_timeout)


def run_raw(transport: RawRepl, source: str, timeout: float = EXEC_TIMEOUT) -> bytes:
    """Run `source` at the raw REPL and return what it printed; the board's exception comes out as
    mpremote's TransportExecError (with the traceback), no answer within `timeout` as TransportError."""
    transport.enter_raw_repl(soft_reset=False)
    try:
        out, err = transport.exec_raw(source, timeout=timeout)
    finally:
        transport.exit_raw_repl()
    if err:
        raise TransportExecError(out, err.decode(errors="replace"))
    return bytes(out)
