"""Finding boards on this host's serial ports (pyserial's list), by device or USB serial number."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol


class PortInfo(Protocol):
    """What the runner reads of pyserial's `ListPortInfo`."""

    @property
    def device(self) -> str: ...

    @property
    def serial_number(self) -> str | None: ...

    @property
    def vid(self) -> int | None: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def description(self) -> str: ...


def serial_ports() -> list[PortInfo]:
    import serial.tools.list_ports  # type: ignore[import-untyped]

    return list(serial.tools.list_ports.comports())


def find_port(serial_number: str, ports: Callable[[], Iterable[PortInfo]] = serial_ports) -> str:
    """The serial device of the board with this USB serial number (it may change after a reset)."""
    for port in ports():
        if port.serial_number == serial_number:
            return port.device
    raise OSError(f"no serial port with USB serial number {serial_number} (is the board connected?)")
