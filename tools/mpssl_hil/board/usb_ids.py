"""What a serial port's USB vendor and product id say about the board behind it.

Sources: MicroPython v1.28.0's own ids (ports/rp2/mpconfigport.h, ports/stm32/mpconfigboard_common.h,
ports/esp32/mpconfigport.h, and the same f055:9802 default in ports/samd, nrf and mimxrt), Espressif's
USB-Serial/JTAG id, ST-LINK's virtual COM ports, and the USB-UART bridge chips of ESP32 development
boards.  A bridge chip says little (CP210x and CH34x boards are nearly always ESP32 ones, FTDI cables
are anything), so the family found here is a first guess that the board's own `sys.platform` replaces
once it answers (see `inventory.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UNKNOWN = "unknown"

Link = Literal["native", "bridge", "st-link", "usb-serial-jtag"]


@dataclass(frozen=True)
class UsbIdentity:
    family: str  # "rp2", "esp32", "stm32", ... or UNKNOWN
    description: str
    link: Link  # native: MicroPython's own USB device; bridge: a USB-UART chip; st-link: a NUCLEO's probe


_MICROPYTHON_STM32_PIDS = {
    0x9800: "CDC+MSC", 0x9801: "CDC+HID", 0x9803: "MSC", 0x9804: "2xCDC+MSC", 0x9805: "2xCDC",
    0x9806: "3xCDC", 0x9807: "3xCDC+MSC", 0x9808: "CDC+MSC+HID", 0x9809: "2xCDC+MSC+HID", 0x980A: "3xCDC+MSC+HID",
}

KNOWN_USB_IDS: dict[tuple[int, int], UsbIdentity] = {
    (0x2E8A, 0x0005): UsbIdentity("rp2", "MicroPython rp2 (RP2040/RP2350)", "native"),
    # f055:9802 (CDC only) is the default of stm32, samd, nrf and mimxrt alike: the board must say which.
    (0xF055, 0x9802): UsbIdentity(UNKNOWN, "MicroPython CDC (stm32, samd, nrf or mimxrt)", "native"),
    **{(0xF055, pid): UsbIdentity("stm32", f"MicroPython pyboard USB ({kind})", "native")
       for pid, kind in _MICROPYTHON_STM32_PIDS.items()},
    (0x303A, 0x1001): UsbIdentity("esp32", "Espressif USB-Serial/JTAG (ESP32-S3/C3/C6)", "usb-serial-jtag"),
    (0x303A, 0x4001): UsbIdentity("esp32", "MicroPython esp32 TinyUSB CDC", "native"),
    (0x0483, 0x374B): UsbIdentity("stm32", "ST-LINK/V2-1 virtual COM port", "st-link"),
    (0x0483, 0x3752): UsbIdentity("stm32", "ST-LINK/V2-1 virtual COM port", "st-link"),
    (0x0483, 0x374E): UsbIdentity("stm32", "ST-LINK/V3 virtual COM port", "st-link"),
    (0x0483, 0x374F): UsbIdentity("stm32", "ST-LINK/V3 virtual COM port", "st-link"),
    (0x0483, 0x3753): UsbIdentity("stm32", "ST-LINK/V3 virtual COM port", "st-link"),
    (0x0483, 0x3754): UsbIdentity("stm32", "ST-LINK/V3 virtual COM port", "st-link"),
    (0x0483, 0x5740): UsbIdentity("stm32", "STM32 virtual COM port", "native"),
    (0x10C4, 0xEA60): UsbIdentity("esp32", "CP210x USB-UART bridge", "bridge"),
    (0x1A86, 0x7523): UsbIdentity("esp32", "CH340 USB-UART bridge", "bridge"),
    (0x1A86, 0x55D3): UsbIdentity("esp32", "CH343 USB-UART bridge", "bridge"),
    (0x1A86, 0x55D4): UsbIdentity("esp32", "CH9102 USB-UART bridge", "bridge"),
    (0x0403, 0x6001): UsbIdentity(UNKNOWN, "FTDI FT232R USB-UART bridge", "bridge"),
    (0x0403, 0x6010): UsbIdentity(UNKNOWN, "FTDI FT2232 USB-UART bridge", "bridge"),
    (0x0403, 0x6015): UsbIdentity(UNKNOWN, "FTDI FT-X USB-UART bridge", "bridge"),
}

# Vendors whose every serial device is one family (Espressif's own id, on native-USB boards).
KNOWN_VENDORS: dict[int, UsbIdentity] = {
    0x303A: UsbIdentity("esp32", "Espressif USB device", "native"),
}


def identify_usb(vid: int | None, pid: int | None) -> UsbIdentity | None:
    """What the ids say, or None for a port that is not USB or whose ids are not in the tables."""
    if vid is None or pid is None:
        return None
    return KNOWN_USB_IDS.get((vid, pid)) or KNOWN_VENDORS.get(vid)


def vid_pid(vid: int | None, pid: int | None) -> str | None:
    """"2e8a:0005", as lsusb writes it."""
    return None if vid is None or pid is None else f"{vid:04x}:{pid:04x}"
