"""Which tool writes which image of a build onto a board, and the exact command line it runs.

- esp32, esptool: firmware.bin (bootloader + partition table + app);
  `esptool --chip C --port P --baud B write-flash OFFSET firmware.bin`.  esptool resets the chip into
  its ROM bootloader itself.
- rp2, picotool (the default when picotool is installed): firmware.uf2; `machine.bootloader()` over the
  raw REPL, then `picotool load -x firmware.uf2 --ser SN`.
- rp2, uf2: firmware.uf2; `machine.bootloader()`, then a copy onto the RPI-RP2 / RP2350 drive.
- stm32, dfu-util (the default on MicroPython's own USB): firmware.dfu; `machine.bootloader()`, then
  `dfu-util -w -a 0 -d 0483:df11 -D firmware.dfu -s :leave`.
- stm32, st-flash (the default behind an ST-LINK, as on NUCLEO boards): firmware.hex;
  `st-flash --connect-under-reset --reset --serial SN --format ihex write firmware.hex`.

The ESP32 offset is where the combined image starts, the bootloader's place in flash.  MicroPython
v1.28.0's ports/esp32/boards/*/board.json give it per chip ("flash_offset"): 0x1000 on ESP32 and
ESP32-S2, 0x0 on ESP32-S3, -C2, -C3, -C6, 0x2000 on ESP32-C5 and -P4.  The build's own sdkconfig, next
to firmware.bin, says the chip (CONFIG_IDF_TARGET) and, on newer ESP-IDF, the offset
(CONFIG_BOOTLOADER_OFFSET_IN_FLASH, which is what makeimg.py used to lay out firmware.bin); those win.

st-flash takes the Intel HEX image because the stm32 builds split the firmware in two (NUCLEO_F429ZI:
firmware0.bin at 0x08000000, firmware1.bin at 0x08020000) and only the .hex and .dfu carry both parts
with their addresses; a single-part firmware.bin given with --firmware is written at 0x08000000."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mpssl_hil.board.usb_ids import UsbIdentity

FAMILY_METHODS = {"esp32": ("esptool",), "rp2": ("picotool", "uf2"), "stm32": ("dfu-util", "st-flash")}
IMAGE_NAMES = {"esptool": "firmware.bin", "picotool": "firmware.uf2", "uf2": "firmware.uf2",
               "dfu-util": "firmware.dfu", "st-flash": "firmware.hex"}
METHOD_TOOLS = {"esptool": "esptool", "picotool": "picotool", "dfu-util": "dfu-util", "st-flash": "st-flash"}
ENTERS_BOOTLOADER_FROM_MICROPYTHON = frozenset({"picotool", "uf2", "dfu-util"})

ESP32_BAUD = 460800
ESP32_CHIP_OFFSETS = {"esp32": 0x1000, "esp32s2": 0x1000, "esp32s3": 0x0, "esp32c2": 0x0, "esp32c3": 0x0,
                      "esp32c6": 0x0, "esp32c5": 0x2000, "esp32p4": 0x2000}
ESP32_BOARD_CHIPS = {"ESP32_GENERIC": "esp32", "ESP32_GENERIC_S2": "esp32s2", "ESP32_GENERIC_S3": "esp32s3",
                     "ESP32_GENERIC_C2": "esp32c2", "ESP32_GENERIC_C3": "esp32c3", "ESP32_GENERIC_C5": "esp32c5",
                     "ESP32_GENERIC_C6": "esp32c6", "ESP32_GENERIC_P4": "esp32p4"}
STM32_DFU_ID = "0483:df11"  # the ROM's DFU bootloader, and mboot's default
STM32_FLASH_START = 0x08000000


class PlanError(ValueError):
    """The request does not say enough, or says something impossible; the message says what to add."""


@dataclass(frozen=True)
class FlashPlan:
    family: str
    method: str
    image: Path
    chip: str | None = None  # esptool only
    offset: int | None = None  # esptool only

    @property
    def tool(self) -> str | None:
        """The program the method runs (None: the uf2 method copies a file)."""
        return METHOD_TOOLS.get(self.method)

    @property
    def enters_bootloader_from_micropython(self) -> bool:
        return self.method in ENTERS_BOOTLOADER_FROM_MICROPYTHON


def read_sdkconfig(path: Path) -> dict[str, str]:
    """CONFIG_X=value lines of an ESP-IDF sdkconfig, quotes removed; {} when there is no such file."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value.strip().strip('"')
    return values


def esp32_chip_and_offset(image: Path, chip: str | None, board: str | None) -> tuple[str, int]:
    sdkconfig = read_sdkconfig(image.parent / "sdkconfig")
    chip = chip or sdkconfig.get("CONFIG_IDF_TARGET") or ESP32_BOARD_CHIPS.get(board or "")
    if not chip:
        raise PlanError(f"which ESP32 chip is this? No sdkconfig next to {image} and board {board!r} is not one "
                        f"of {', '.join(ESP32_BOARD_CHIPS)}: give --chip ({', '.join(ESP32_CHIP_OFFSETS)})")
    if "CONFIG_BOOTLOADER_OFFSET_IN_FLASH" in sdkconfig:
        return chip, int(sdkconfig["CONFIG_BOOTLOADER_OFFSET_IN_FLASH"], 0)
    if chip not in ESP32_CHIP_OFFSETS:
        raise PlanError(f"no known flash offset for chip {chip!r} (known: {', '.join(ESP32_CHIP_OFFSETS)})")
    return chip, ESP32_CHIP_OFFSETS[chip]


def default_method(family: str, usb: UsbIdentity | None, picotool_installed: bool) -> str:
    if family == "rp2":
        return "picotool" if picotool_installed else "uf2"
    if family == "stm32":
        return "st-flash" if usb is not None and usb.link == "st-link" else "dfu-util"
    return FAMILY_METHODS[family][0]


def plan_flash(family: str, *, method: str | None = None, image: Path | None = None, build_dir: Path | None = None,
               board: str | None = None, chip: str | None = None, usb: UsbIdentity | None = None,
               picotool_installed: bool = True) -> FlashPlan:
    if family not in FAMILY_METHODS:
        raise PlanError(f"cannot flash family {family!r}: give --family ({', '.join(FAMILY_METHODS)})")
    method = method or default_method(family, usb, picotool_installed)
    if method not in FAMILY_METHODS[family]:
        raise PlanError(f"{family} boards are flashed with {' or '.join(FAMILY_METHODS[family])}, not {method}")
    if image is None:
        if build_dir is None:
            raise PlanError("say which image: --firmware FILE, or --build-dir build/<port>-<BOARD>")
        image = build_dir / IMAGE_NAMES[method]
    if not image.is_file():
        raise PlanError(f"no image {image}: build it first (make firmware PORT={family} BOARD=...)")
    if method == "st-flash" and image.suffix not in (".hex", ".bin"):
        raise PlanError(f"st-flash writes an Intel HEX (.hex) or a raw image (.bin at 0x08000000), not {image.name}")
    if method == "esptool":
        chip, offset = esp32_chip_and_offset(image, chip, board)
        return FlashPlan(family, method, image, chip, offset)
    return FlashPlan(family, method, image)


def esptool_command(esptool: str, plan: FlashPlan, port: str, baud: int = ESP32_BAUD) -> list[str]:
    assert plan.chip is not None and plan.offset is not None
    return [esptool, "--chip", plan.chip, "--port", port, "--baud", str(baud),
            "write-flash", hex(plan.offset), str(plan.image)]


def _serial_selector(option: str, serial_number: str | None) -> Sequence[str]:
    return [option, serial_number] if serial_number else []


def picotool_info_command(picotool: str, serial_number: str | None) -> list[str]:
    """Succeeds once the board shows up in BOOTSEL mode."""
    return [picotool, "info", *_serial_selector("--ser", serial_number)]


def picotool_load_command(picotool: str, plan: FlashPlan, serial_number: str | None) -> list[str]:
    """picotool's BOOTSEL device keeps the USB serial number of the MicroPython it was (the chip's id)."""
    return [picotool, "load", "-x", str(plan.image), *_serial_selector("--ser", serial_number)]


def dfu_util_command(dfu_util: str, plan: FlashPlan) -> list[str]:
    """-w waits for the DFU device to appear after machine.bootloader(); -s :leave starts the new firmware."""
    return [dfu_util, "-w", "-a", "0", "-d", STM32_DFU_ID, "-D", str(plan.image), "-s", ":leave"]


def st_flash_command(st_flash: str, plan: FlashPlan, serial_number: str | None) -> list[str]:
    """The ST-LINK's serial number is the USB serial number of its virtual COM port."""
    head = [st_flash, "--connect-under-reset", "--reset", *_serial_selector("--serial", serial_number)]
    if plan.image.suffix == ".hex":
        return [*head, "--format", "ihex", "write", str(plan.image)]
    return [*head, "write", str(plan.image), hex(STM32_FLASH_START)]
