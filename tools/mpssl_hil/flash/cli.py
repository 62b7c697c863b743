"""Flashing a real board with a build's image, skipping a board that already runs that image.

One flash (`Flasher.flash`):
1. skip check (unless forced): the cache (flashed_images.py) holds the sha256 of the image last flashed
   onto this board (by USB serial number) and the versions the board answered afterwards; the board is
   skipped when the image's sha256 is the same and the board answers its REPL now with those versions;
2. the tool the plan needs is looked up before the board is touched (a missing tool says its package);
3. the board's cache entry is dropped, then the image is written (flash_plan.py has the commands; rp2
   and stm32 over DFU first enter their bootloader with `machine.bootloader()` over the raw REPL);
4. the board's serial port is found again by its USB serial number (the port name can change) and its
   REPL must answer the probe (board_probe.py); only then is the cache entry written.

Every external command runs through one runner (external_tools.run_command); waiting goes through
`sleep` and counts attempts, so tests run it all against fakes without a clock."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.probe import BoardProbe
from mpssl_hil.board.repl import BoardConnection, open_transport
from mpssl_hil.board.usb_ids import UNKNOWN, identify_usb
from mpssl_hil.flash.images import FlashedImage, FlashedImages, board_key, default_cache_path, image_digest
from mpssl_hil.flash.plan import (
    FlashPlan,
    PlanError,
    dfu_util_command,
    esptool_command,
    picotool_info_command,
    picotool_load_command,
    plan_flash,
    st_flash_command,
)
from mpssl_hil.flash.tools import (
    CommandTimedOut,
    Runner,
    ToolFinder,
    ToolMissing,
    find_tool,
    require_tool,
    run_command,
)
from mpssl_hil.rig.inventory import PortInfo, Rig, RigBoard, RigError, probe_port, serial_ports

BOOTLOADER_SOURCE = "import machine\nmachine.bootloader()\n"
UF2_DRIVE_LABELS = ("RPI-RP2", "RP2350")
TOOL_TIMEOUT = 600.0  # seconds one flashing command may take
WAIT_SECONDS = 60.0  # for a board to show up in its bootloader, and to come back with a REPL
POLL_INTERVAL = 0.5

Found = TypeVar("Found")


class FlashFailed(RuntimeError):
    pass


FLASH_ERRORS = (RigError, PlanError, ToolMissing, FlashFailed)


def open_board_link(device: str) -> BoardConnection:
    link: BoardConnection = open_transport(device, read_timeout=5.0)
    return link


def uf2_drive_roots() -> list[Path]:
    """Where desktops mount the RP2 boot drive (udisks: /media/<user>, /run/media/<user>; macOS: /Volumes)."""
    user = os.environ.get("USER", "")
    return [Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/Volumes")]


@dataclass(frozen=True)
class FlashOutcome:
    skipped: bool
    port: str
    probe: BoardProbe


class Flasher:
    """Flashes boards; every way it reaches outside (commands, tool lookup, serial ports, board links,
    sleeping, printing) is a parameter, its default the real one looked up when the Flasher is made."""

    def __init__(self, cache: FlashedImages, *, runner: Runner | None = None, which: ToolFinder | None = None,
                 list_ports: Callable[[], Iterable[PortInfo]] | None = None,
                 open_link: Callable[[str], BoardConnection] | None = None,
                 sleep: Callable[[float], None] | None = None, drive_roots: Sequence[Path] | None = None,
                 say: Callable[[str], None] = print, wait_seconds: float = WAIT_SECONDS,
                 poll_interval: float = POLL_INTERVAL) -> None:
        self.cache = cache
        self.runner = runner or run_command
        self.which = which or find_tool
        self.list_ports = list_ports or serial_ports
        self.open_link = open_link or open_board_link
        self.sleep = sleep or time.sleep
        self.drive_roots = uf2_drive_roots() if drive_roots is None else list(drive_roots)
        self.say = say
        self.wait_seconds = wait_seconds
        self.poll_interval = poll_interval

    # -- finding the board ------------------------------------------------------------------------------
    def find_port(self, device: str) -> PortInfo:
        """The connected port whose device name or USB serial number is `device`."""
        ports = list(self.list_ports())
        for port in ports:
            if device in (port.device, port.serial_number):
                return port
        connected = ", ".join(f"{p.device} ({p.serial_number or 'no serial number'})" for p in ports) or "none"
        raise FlashFailed(f"no serial port or USB serial number {device!r} is connected (connected: {connected})")

    def _port_again(self, serial_number: str | None, device: str) -> PortInfo | None:
        for port in self.list_ports():
            if (port.serial_number == serial_number) if serial_number else (port.device == device):
                return port
        return None

    def _attempts(self) -> int:
        return max(1, math.ceil(self.wait_seconds / self.poll_interval))

    def _wait_for(self, find: Callable[[], Found | None], what: str) -> Found:
        """`find()`'s first answer that is not None, asking every poll interval until `wait_seconds`."""
        for _ in range(self._attempts()):
            found = find()
            if found is not None:
                return found
            self.sleep(self.poll_interval)
        raise FlashFailed(f"gave up waiting for {what} after {self.wait_seconds:g}s")

    # -- the skip check -----------------------------------------------------------------------------------
    def reason_to_flash(self, key: str, digest: str, device: str) -> str | BoardProbe:
        """Why the board needs this image, or the board's answer when it already runs it."""
        flashed = self.cache.get(key)
        if flashed is None:
            return "no record of a flash of this board"
        if flashed.sha256 != digest:
            return f"the image differs from the one flashed at {flashed.flashed_at} ({flashed.image})"
        answer = probe_port(device, self.open_link)
        if not isinstance(answer, BoardProbe):
            return f"the board did not answer ({answer})"
        if answer.versions() != flashed.versions():
            return f"the board runs {answer.versions()}, not what was flashed ({flashed.versions()})"
        return answer

    # -- writing ---------------------------------------------------------------------------------------------
    def enter_bootloader(self, device: str) -> None:
        self.say(f"-- {device}: machine.bootloader() over the raw REPL")
        try:
            link = self.open_link(device)
        except (TransportError, OSError) as e:
            raise FlashFailed(f"could not open {device} to enter the bootloader: {e}") from e
        try:
            link.enter_raw_repl(soft_reset=False)
            link.exec_raw_no_follow(BOOTLOADER_SOURCE)
        except (TransportError, OSError) as e:
            raise FlashFailed(f"could not run machine.bootloader() on {device}: {e}") from e
        finally:
            try:
                link.close()
            except OSError:
                pass  # the board has already left USB

    def find_uf2_drive(self) -> Path | None:
        drives = [root / label for root in self.drive_roots for label in UF2_DRIVE_LABELS
                  if (root / label / "INFO_UF2.TXT").is_file()]
        if len(drives) > 1:
            raise FlashFailed(f"more than one RP2 boot drive is mounted ({', '.join(map(str, drives))}): "
                              "flash with picotool, which picks the board by serial number")
        return drives[0] if drives else None

    def _run(self, command: list[str]) -> None:
        try:
            status = self.runner(command, timeout=TOOL_TIMEOUT)
        except CommandTimedOut as e:
            raise FlashFailed(str(e)) from e
        if status != 0:
            raise FlashFailed(f"{Path(command[0]).name} failed (exit status {status})")

    def write_image(self, plan: FlashPlan, port: PortInfo, tool: str | None) -> None:
        serial_number = port.serial_number
        if plan.enters_bootloader_from_micropython:
            self.enter_bootloader(port.device)
        if plan.method == "esptool":
            assert tool is not None
            self.say(f"-- {port.device}: esptool writes {plan.image.name} at {hex(plan.offset or 0)} ({plan.chip})")
            self._run(esptool_command(tool, plan, port.device))
        elif plan.method == "picotool":
            assert tool is not None
            self.say("-- waiting for the board in BOOTSEL mode")
            info = picotool_info_command(tool, serial_number)
            self._wait_for(lambda: True if self.runner(info, quiet=True) == 0 else None,
                           "the board in BOOTSEL mode (picotool info)")
            self._run(picotool_load_command(tool, plan, serial_number))
        elif plan.method == "uf2":
            self.say("-- waiting for the RPI-RP2 / RP2350 drive")
            drive = self._wait_for(self.find_uf2_drive,
                                   f"an RPI-RP2 or RP2350 drive under {', '.join(map(str, self.drive_roots))}")
            self.say(f"-- copying {plan.image.name} to {drive}")
            shutil.copyfile(plan.image, drive / plan.image.name)
        elif plan.method == "dfu-util":
            assert tool is not None
            self._run(dfu_util_command(tool, plan))
        elif plan.method == "st-flash":
            assert tool is not None
            self._run(st_flash_command(tool, plan, serial_number))
        else:
            raise FlashFailed(f"unknown flash method {plan.method!r}")

    def wait_for_repl(self, serial_number: str | None, device: str) -> tuple[str, BoardProbe]:
        """The board's port (found again by serial number) and its answer to the probe."""
        self.say("-- waiting for the board's serial port and REPL")
        last = "its serial port did not come back"
        for _ in range(self._attempts()):
            port = self._port_again(serial_number, device)
            if port is not None:
                answer = probe_port(port.device, self.open_link)
                if isinstance(answer, BoardProbe):
                    return port.device, answer
                last = answer
            self.sleep(self.poll_interval)
        raise FlashFailed(f"the image was written, but the board did not come back within {self.wait_seconds:g}s: "
                          f"{last}")

    def flash(self, port: PortInfo, plan: FlashPlan, force: bool = False) -> FlashOutcome:
        key = board_key(port.serial_number, port.device)
        digest = image_digest(plan.image)
        if force:
            self.say(f"-- {port.device}: flashing {plan.image} (forced)")
        else:
            reason = self.reason_to_flash(key, digest, port.device)
            if isinstance(reason, BoardProbe):
                self.say(f"-- {port.device}: already runs {plan.image.name} (sha256 {digest[:12]}, MicroPython "
                         f"{reason.micropython}, mpssl {reason.mpssl}); skipped (--force flashes anyway)")
                return FlashOutcome(True, port.device, reason)
            self.say(f"-- {port.device}: flashing {plan.image}: {reason}")
        tool = require_tool(plan.tool, self.which) if plan.tool else None
        self.cache.forget(key)
        self.write_image(plan, port, tool)
        device, probe = self.wait_for_repl(port.serial_number, port.device)
        self.cache.record(key, FlashedImage(str(plan.image.resolve()), digest, plan.method, FlashedImage.now(),
                                            probe.micropython, probe.mpssl, probe.build))
        self.say(f"-- {device}: MicroPython {probe.micropython}, mpssl {probe.mpssl or 'absent'} ({probe.build})")
        if probe.mpssl is None:
            self.say("-- warning: the board has no mpssl (ssl.__version__ is missing): was that the image you meant?")
        return FlashOutcome(False, device, probe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpssl-flash", description="Flash a board with a build's image.")
    parser.add_argument("--device", required=True, help="serial port, USB serial number, or a name from --rig")
    parser.add_argument("--family", help="rp2, esp32 or stm32 (default: the rig's, else what the USB ids say)")
    parser.add_argument("--build-dir", type=Path, help="build/<port>-<BOARD>: the image is chosen by method")
    parser.add_argument("--firmware", type=Path, help="the image file itself (instead of --build-dir)")
    parser.add_argument("--board", help="MicroPython BOARD name (tells esptool's chip when there is no sdkconfig)")
    parser.add_argument("--method", help="esptool, picotool, uf2, dfu-util or st-flash (default: per family)")
    parser.add_argument("--chip", help="esptool's --chip (esp32, esp32s3, esp32c3, ...)")
    parser.add_argument("--rig", type=Path, help="rig.toml: the board's family, method and image by name")
    parser.add_argument("--cache", type=Path,
                        help="flash cache file (default: $MPSSL_FLASH_CACHE, else ~/.cache/mpssl/flashed.json)")
    parser.add_argument("--force", action="store_true", help="flash even when the board runs this image")
    args = parser.parse_args(argv)
    cache = FlashedImages(args.cache or default_cache_path())
    if cache.problem:
        print(f"mpssl-flash: {cache.problem}", file=sys.stderr)
    flasher = Flasher(cache)
    try:
        rig_board: RigBoard | None = Rig.load(args.rig).find(args.device) if args.rig else None
        flash_device(flasher, args.device, rig_board, family=args.family, method=args.method, image=args.firmware,
                     build_dir=args.build_dir, board=args.board, chip=args.chip, force=args.force)
    except FLASH_ERRORS as e:
        print(f"mpssl-flash: {e}", file=sys.stderr)
        return 1
    return 0


def flash_device(flasher: Flasher, device: str, rig_board: RigBoard | None, *, family: str | None = None,
                 method: str | None = None, image: Path | None = None, build_dir: Path | None = None,
                 board: str | None = None, chip: str | None = None, force: bool = False) -> FlashOutcome:
    """Flash one board: what is given here wins over rig.toml's entry, which wins over the USB ids.
    Raises one of FLASH_ERRORS with a message for the user."""
    port = flasher.find_port((rig_board.serial_number or rig_board.port or device) if rig_board else device)
    usb = identify_usb(port.vid, port.pid)
    family = family or (rig_board.family if rig_board else None) or (usb.family if usb else UNKNOWN)
    plan = plan_flash(
        family, method=method or (rig_board.flash_method if rig_board else None),
        image=image or (rig_board.firmware if rig_board else None), build_dir=build_dir,
        board=board or (rig_board.board if rig_board else None),
        chip=chip or (rig_board.chip if rig_board else None), usb=usb,
        picotool_installed=flasher.which("picotool") is not None)
    return flasher.flash(port, plan, force=force)


if __name__ == "__main__":
    sys.exit(main())
