"""flash.py, flash_plan.py, flashed_images.py and external_tools.py against a fake host: fake serial
ports, a fake board (fake_micropython_board.py) and a fake command runner that records each command
line and acts on the board as the real tool would.  Waiting counts `sleep` calls, never the clock."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from fake_micropython_board import FakeBoard, FakePort, board_modules

from mpssl_hil.board.usb_ids import identify_usb
from mpssl_hil.flash import cli as flash
from mpssl_hil.flash.cli import Flasher, FlashFailed
from mpssl_hil.flash.images import FlashedImage, FlashedImages, image_digest
from mpssl_hil.flash.plan import FlashPlan, PlanError, plan_flash
from mpssl_hil.flash.tools import CommandTimedOut, ToolMissing, require_tool, run_command

ROOT = Path(__file__).resolve().parents[2]
OLD_BUILD = "v1.28.0 on 2026-11-01"
NEW_BUILD = "v1.28.0 on 2026-11-26"
TOOLS = {"esptool": "/venv/bin/esptool", "picotool": "/opt/picotool/bin/picotool", "dfu-util": "/usr/bin/dfu-util",
         "st-flash": "/usr/bin/st-flash"}


class FakeHost:
    """One board on one USB port, and the flashing tools.  Writing an image replaces the board's firmware
    with `NEW_BUILD` (an mpssl build); the board then comes back at `port_after_flash`."""

    def __init__(self, port: FakePort, platform: str, tools: dict[str, str] | None = None) -> None:
        self.port = port
        self.port_after_flash = port
        self.platform = platform
        self.board = FakeBoard(board_modules(platform=platform, build=OLD_BUILD))
        self.tools = dict(TOOLS if tools is None else tools)
        self.commands: list[list[str]] = []
        self.exit_status = 0  # of the tool that writes the image
        self.polls_until_bootsel = 2  # `picotool info` fails this often before the board shows up
        self.comes_back = True  # after the flash: False, the board's REPL stays silent
        self.sleeps: list[float] = []
        self.said: list[str] = []
        self.opened: list[str] = []

    # what the Flasher reaches outside through
    def list_ports(self) -> list[FakePort]:
        return [] if self.board.in_bootloader else [self.port]

    def open_link(self, device: str) -> FakeBoard:
        self.opened.append(device)
        if self.board.in_bootloader or device != self.port.device:
            raise OSError(2, f"could not open port {device}: No such file or directory")
        return self.board

    def which(self, name: str) -> str | None:
        return self.tools.get(name)

    def runner(self, command: Sequence[str], *, timeout: float | None = None, quiet: bool = False) -> int:
        self.commands.append(list(command))
        tool = Path(command[0]).name
        if tool == "picotool" and command[1] == "info":
            assert quiet, "polling is not printed"
            if not self.board.in_bootloader:
                return 249
            self.polls_until_bootsel -= 1
            return 0 if self.polls_until_bootsel < 0 else 249
        if tool in ("picotool", "dfu-util"):
            assert self.board.in_bootloader, f"{tool} ran while the board was not in its bootloader"
        if self.exit_status == 0:
            self.write_firmware()
        return self.exit_status

    def write_firmware(self) -> None:
        self.board = FakeBoard(board_modules(platform=self.platform, build=NEW_BUILD), answers=self.comes_back)
        self.port = self.port_after_flash

    def flasher(self, cache: FlashedImages, drive_roots: Sequence[Path] = ()) -> Flasher:
        return Flasher(cache, runner=self.runner, which=self.which, list_ports=self.list_ports,
                       open_link=self.open_link, sleep=self.sleeps.append, drive_roots=drive_roots,
                       say=self.said.append, wait_seconds=5, poll_interval=0.5)


def image(tmp_path: Path, build: str, name: str, content: bytes = b"image one") -> Path:
    path = tmp_path / "build" / build / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def cache(tmp_path: Path) -> FlashedImages:
    return FlashedImages(tmp_path / "cache" / "flashed.json")


PICO = FakePort("/dev/ttyACM0", "E6614C311B7D5A2B", 0x2E8A, 0x0005)
PYBD = FakePort("/dev/ttyACM0", "3868335A3037", 0xF055, 0x9800)
NUCLEO = FakePort("/dev/ttyACM0", "066DFF575251717867163247", 0x0483, 0x374B)
DEVKIT = FakePort("/dev/ttyUSB0", "0001", 0x10C4, 0xEA60)


# -- the plan: which image, tool, chip and offset -------------------------------------------------------------

@pytest.mark.parametrize(("board", "chip", "offset"), [
    ("ESP32_GENERIC", "esp32", "0x1000"),
    ("ESP32_GENERIC_S3", "esp32s3", "0x0"),
    ("ESP32_GENERIC_C3", "esp32c3", "0x0"),
])
def test_esptool_command_per_chip(tmp_path: Path, cache: FlashedImages, board: str, chip: str, offset: str) -> None:
    firmware = image(tmp_path, f"esp32-{board}", "firmware.bin")
    plan = plan_flash("esp32", build_dir=firmware.parent, board=board)
    host = FakeHost(DEVKIT, "esp32")
    host.flasher(cache).flash(DEVKIT, plan)
    assert host.commands == [["/venv/bin/esptool", "--chip", chip, "--port", "/dev/ttyUSB0", "--baud", "460800",
                              "write-flash", offset, str(firmware)]]
    assert not host.board.in_bootloader and host.board.executed, "esptool resets the chip itself; REPL probed after"


def test_the_build_s_sdkconfig_says_chip_and_offset(tmp_path: Path) -> None:
    firmware = image(tmp_path, "esp32-CUSTOM", "firmware.bin")
    (firmware.parent / "sdkconfig").write_text('# comment\nCONFIG_IDF_TARGET="esp32s3"\n'
                                               "CONFIG_BOOTLOADER_OFFSET_IN_FLASH=0x2000\n")
    plan = plan_flash("esp32", image=firmware, board="CUSTOM")
    assert (plan.chip, plan.offset) == ("esp32s3", 0x2000)
    (firmware.parent / "sdkconfig").write_text('CONFIG_IDF_TARGET="esp32c3"\n')
    assert plan_flash("esp32", image=firmware).offset == 0x0


def test_an_unknown_esp32_chip_asks_for_chip(tmp_path: Path) -> None:
    firmware = image(tmp_path, "esp32-CUSTOM", "firmware.bin")
    with pytest.raises(PlanError, match="give --chip"):
        plan_flash("esp32", image=firmware, board="CUSTOM")
    assert plan_flash("esp32", image=firmware, chip="esp32c6").offset == 0


@pytest.mark.parametrize(("family", "usb", "picotool", "method", "name"), [
    ("rp2", PICO, True, "picotool", "firmware.uf2"),
    ("rp2", PICO, False, "uf2", "firmware.uf2"),
    ("stm32", PYBD, True, "dfu-util", "firmware.dfu"),
    ("stm32", NUCLEO, True, "st-flash", "firmware.hex"),
    ("esp32", DEVKIT, True, "esptool", "firmware.bin"),
])
def test_default_method_and_image(tmp_path: Path, family: str, usb: FakePort, picotool: bool, method: str,
                                  name: str) -> None:
    firmware = image(tmp_path, f"{family}-B", name)
    plan = plan_flash(family, build_dir=firmware.parent, board="ESP32_GENERIC", usb=identify_usb(usb.vid, usb.pid),
                      picotool_installed=picotool)
    assert (plan.method, plan.image) == (method, firmware)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"family": "samd"}, "cannot flash family 'samd'"),
    ({"family": "rp2", "method": "esptool"}, "rp2 boards are flashed with picotool or uf2, not esptool"),
    ({"family": "rp2"}, "--firmware FILE, or --build-dir"),
    ({"family": "stm32", "method": "st-flash", "build_dir": Path("/nonexistent")},
     "no image /nonexistent/firmware.hex"),
])
def test_plan_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_flash(**kwargs)  # type: ignore[arg-type]


# -- each family's flash, end to end on the fake host ---------------------------------------------------------

def test_rp2_with_picotool(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "rp2-RPI_PICO_W", "firmware.uf2")
    host = FakeHost(PICO, "rp2")
    host.port_after_flash = FakePort("/dev/ttyACM1", PICO.serial_number, 0x2E8A, 0x0005)  # renamed on return
    outcome = host.flasher(cache).flash(PICO, plan_flash("rp2", image=firmware))
    picotool, serial = TOOLS["picotool"], PICO.serial_number
    assert host.commands == [[picotool, "info", "--ser", serial]] * 3 + [
        [picotool, "load", "-x", str(firmware), "--ser", serial]]
    assert host.sleeps == [0.5, 0.5], "polled until BOOTSEL showed up"
    assert (outcome.skipped, outcome.port, outcome.probe.build) == (False, "/dev/ttyACM1", NEW_BUILD)
    recorded = cache.get(serial or "")
    assert recorded is not None
    assert (recorded.sha256, recorded.method, recorded.build, recorded.mpssl) == (
        image_digest(firmware), "picotool", NEW_BUILD, "0.1.0")
    assert json.loads(cache.path.read_text())["boards"][serial]["sha256"] == image_digest(firmware)


def test_rp2_enters_the_bootloader_through_machine_bootloader(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "rp2-RPI_PICO_W", "firmware.uf2")
    host = FakeHost(PICO, "rp2")
    old_board = host.board
    host.flasher(cache).flash(PICO, plan_flash("rp2", image=firmware))
    assert old_board.in_bootloader and old_board.closed
    assert "machine.bootloader()" in old_board.executed[-1]


def test_rp2_by_uf2_drive(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "rp2-RPI_PICO2_W", "firmware.uf2", b"uf2 blocks")
    host = FakeHost(PICO, "rp2", tools={})
    media = tmp_path / "media"
    sleeps_before_drive = 3

    def mount_drive_later(seconds: float) -> None:
        host.sleeps.append(seconds)
        if len(host.sleeps) == sleeps_before_drive:
            (media / "RP2350").mkdir(parents=True)
            (media / "RP2350" / "INFO_UF2.TXT").write_text("UF2 Bootloader v1.0\n")

    flasher = host.flasher(cache, drive_roots=[media])
    flasher.sleep = mount_drive_later
    real_copy = flash.shutil.copyfile

    def copy_then_reboot(source: Path, target: Path) -> object:
        result = real_copy(source, target)
        host.write_firmware()
        return result

    flash.shutil.copyfile = copy_then_reboot  # type: ignore[assignment]
    try:
        flasher.flash(PICO, plan_flash("rp2", image=firmware, picotool_installed=False))
    finally:
        flash.shutil.copyfile = real_copy
    assert (media / "RP2350" / "firmware.uf2").read_bytes() == b"uf2 blocks"
    assert host.commands == []
    assert cache.get(PICO.serial_number or "") is not None


def test_two_uf2_drives_are_refused(tmp_path: Path, cache: FlashedImages) -> None:
    for root in ("a", "b"):
        (tmp_path / root / "RPI-RP2").mkdir(parents=True)
        (tmp_path / root / "RPI-RP2" / "INFO_UF2.TXT").write_text("")
    flasher = FakeHost(PICO, "rp2").flasher(cache, drive_roots=[tmp_path / "a", tmp_path / "b"])
    with pytest.raises(FlashFailed, match="more than one RP2 boot drive"):
        flasher.find_uf2_drive()


def test_stm32_over_dfu(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "stm32-PYBD_SF2", "firmware.dfu")
    host = FakeHost(PYBD, "pyboard")
    old_board = host.board
    host.flasher(cache).flash(PYBD, plan_flash("stm32", image=firmware, usb=identify_usb(PYBD.vid, PYBD.pid)))
    assert old_board.in_bootloader
    assert host.commands == [["/usr/bin/dfu-util", "-w", "-a", "0", "-d", "0483:df11", "-D", str(firmware),
                              "-s", ":leave"]]


def test_stm32_nucleo_with_st_flash(tmp_path: Path, cache: FlashedImages) -> None:
    hex_image = image(tmp_path, "stm32-NUCLEO_F429ZI", "firmware.hex")
    host = FakeHost(NUCLEO, "pyboard")
    old_board = host.board
    usb = identify_usb(NUCLEO.vid, NUCLEO.pid)
    host.flasher(cache).flash(NUCLEO, plan_flash("stm32", build_dir=hex_image.parent, usb=usb))
    assert not old_board.in_bootloader, "the ST-LINK resets the chip; MicroPython's bootloader is not needed"
    head = ["/usr/bin/st-flash", "--connect-under-reset", "--reset", "--serial", NUCLEO.serial_number]
    assert host.commands == [[*head, "--format", "ihex", "write", str(hex_image)]]
    bin_image = image(tmp_path, "stm32-OTHER", "firmware.bin")
    host.commands.clear()
    host.flasher(cache).flash(NUCLEO, plan_flash("stm32", image=bin_image, usb=usb), force=True)
    assert host.commands == [[*head, "write", str(bin_image), "0x8000000"]]


# -- skipping, and the cache written only after a confirmed flash --------------------------------------------

def flashed_once(tmp_path: Path, cache: FlashedImages) -> tuple[FakeHost, FlashPlan]:
    firmware = image(tmp_path, "rp2-RPI_PICO_W", "firmware.uf2")
    host = FakeHost(PICO, "rp2")
    plan = plan_flash("rp2", image=firmware)
    host.flasher(cache).flash(PICO, plan)
    host.commands.clear()
    return host, plan


def test_a_board_running_the_same_image_is_skipped(tmp_path: Path, cache: FlashedImages) -> None:
    host, plan = flashed_once(tmp_path, cache)
    outcome = host.flasher(FlashedImages(cache.path)).flash(PICO, plan)  # a new run reads the file
    assert outcome.skipped and outcome.probe.build == NEW_BUILD
    assert host.commands == [] and not host.board.in_bootloader
    assert "skipped" in host.said[-1]


def test_force_flashes_anyway(tmp_path: Path, cache: FlashedImages) -> None:
    host, plan = flashed_once(tmp_path, cache)
    assert not host.flasher(cache).flash(PICO, plan, force=True).skipped
    assert host.commands[-1][:2] == [TOOLS["picotool"], "load"]


def test_a_changed_image_is_flashed(tmp_path: Path, cache: FlashedImages) -> None:
    host, plan = flashed_once(tmp_path, cache)
    plan.image.write_bytes(b"image two")
    assert not host.flasher(cache).flash(PICO, plan).skipped
    assert host.commands[-1][:2] == [TOOLS["picotool"], "load"]
    recorded = cache.get(PICO.serial_number or "")
    assert recorded is not None and recorded.sha256 == image_digest(plan.image)


def test_a_board_that_runs_something_else_is_flashed(tmp_path: Path, cache: FlashedImages) -> None:
    """Same image in the cache, but someone flashed another build since: the versions give it away."""
    host, plan = flashed_once(tmp_path, cache)
    host.board = FakeBoard(board_modules(build="v1.28.0 on 2027-01-01"))
    flasher = host.flasher(cache)
    assert not flasher.flash(PICO, plan).skipped
    assert any("not what was flashed" in line for line in host.said)


def test_a_silent_board_is_flashed(tmp_path: Path, cache: FlashedImages) -> None:
    host, plan = flashed_once(tmp_path, cache)
    host.board.answers = False
    host.exit_status = 0
    with pytest.raises(FlashFailed, match="could not run machine.bootloader"):
        host.flasher(cache).flash(PICO, plan)
    assert cache.get(PICO.serial_number or "") is None, "the board's content is unknown now"


def test_a_failing_tool_leaves_no_cache_entry(tmp_path: Path, cache: FlashedImages) -> None:
    host, plan = flashed_once(tmp_path, cache)
    plan.image.write_bytes(b"image two")
    host.exit_status = 1
    with pytest.raises(FlashFailed, match=r"picotool failed \(exit status 1\)"):
        host.flasher(cache).flash(PICO, plan)
    assert cache.get(PICO.serial_number or "") is None
    assert json.loads(cache.path.read_text())["boards"] == {}


def test_a_board_that_does_not_come_back_is_not_recorded(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "esp32-ESP32_GENERIC", "firmware.bin")
    host = FakeHost(DEVKIT, "esp32")
    host.comes_back = False
    with pytest.raises(FlashFailed, match="did not come back within 5s: no answer from the raw REPL"):
        host.flasher(cache).flash(DEVKIT, plan_flash("esp32", image=firmware, board="ESP32_GENERIC"))
    assert len(host.sleeps) == 10, "wait_seconds / poll_interval attempts"
    assert cache.get(DEVKIT.serial_number or "") is None
    assert not cache.path.exists()


def test_a_board_whose_port_never_returns(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "esp32-ESP32_GENERIC", "firmware.bin")
    host = FakeHost(DEVKIT, "esp32")
    host.port_after_flash = FakePort("/dev/ttyUSB1", "another board", 0x10C4, 0xEA60)
    with pytest.raises(FlashFailed, match="its serial port did not come back"):
        host.flasher(cache).flash(DEVKIT, plan_flash("esp32", image=firmware, board="ESP32_GENERIC"))


def test_bootsel_that_never_shows_up(tmp_path: Path, cache: FlashedImages) -> None:
    firmware = image(tmp_path, "rp2-RPI_PICO_W", "firmware.uf2")
    host = FakeHost(PICO, "rp2")
    host.polls_until_bootsel = 1000
    with pytest.raises(FlashFailed, match=r"gave up waiting for the board in BOOTSEL mode \(picotool info\) after 5s"):
        host.flasher(cache).flash(PICO, plan_flash("rp2", image=firmware))
    assert all(command[1] == "info" for command in host.commands)


# -- missing tools ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("family", "name", "tool", "package"), [
    ("esp32", "firmware.bin", "esptool", "pip package esptool"),
    ("rp2", "firmware.uf2", "picotool", "make picotool"),
    ("stm32", "firmware.dfu", "dfu-util", "Debian package dfu-util"),
    ("stm32", "firmware.hex", "st-flash", "Debian package stlink-tools"),
])
def test_a_missing_tool_says_its_package_before_the_board_is_touched(
        tmp_path: Path, cache: FlashedImages, family: str, name: str, tool: str, package: str) -> None:
    firmware = image(tmp_path, f"{family}-B", name)
    host = FakeHost(PICO, "rp2", tools={t: p for t, p in TOOLS.items() if t != tool})
    plan = plan_flash(family, image=firmware, method=tool, board="ESP32_GENERIC")
    with pytest.raises(ToolMissing, match=f"{tool} is not installed .* it comes with .*{package}"):
        host.flasher(cache).flash(PICO, plan, force=True)
    assert not host.board.in_bootloader and host.commands == []


def test_require_tool_and_the_real_runner(tmp_path: Path) -> None:
    assert require_tool("picotool", {"picotool": "/x/picotool"}.get) == "/x/picotool"
    with pytest.raises(ToolMissing, match="Debian package dfu-util"):
        run_command([str(tmp_path / "dfu-util"), "-l"])
    assert run_command([sys.executable, "-c", "raise SystemExit(3)"], quiet=True) == 3
    with pytest.raises(CommandTimedOut, match="did not finish within 0.2s"):
        run_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.2, quiet=True)


# -- finding the board, the cache file, the command line ------------------------------------------------------

def test_find_port_by_serial_number_or_device(cache: FlashedImages) -> None:
    flasher = FakeHost(PICO, "rp2").flasher(cache)
    assert flasher.find_port(PICO.serial_number or "") == PICO
    assert flasher.find_port("/dev/ttyACM0") == PICO
    with pytest.raises(FlashFailed, match=r"'NOPE' is connected \(connected: /dev/ttyACM0 \(E6614C311B7D5A2B\)\)"):
        flasher.find_port("NOPE")


def test_cache_file_round_trip_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "flashed.json"
    entry = FlashedImage("/b/firmware.uf2", "ab" * 32, "picotool", "2026-11-26T10:00:00+00:00", "1.28.0", "0.1.0", None)
    FlashedImages(path).record("SN1", entry)
    assert FlashedImages(path).get("SN1") == entry
    assert [p.name for p in tmp_path.iterdir()] == ["flashed.json"], "no temporary file left behind"
    path.write_text("{not json")
    damaged = FlashedImages(path)
    assert damaged.get("SN1") is None and damaged.problem is not None and "ignoring" in damaged.problem
    path.write_text(json.dumps({"format": 99, "boards": {}}))
    assert "format 99" in (FlashedImages(path).problem or "")


def test_mpssl_flash_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    firmware = image(tmp_path, "esp32-ESP32_GENERIC_S3", "firmware.bin")
    host = FakeHost(DEVKIT, "esp32")
    monkeypatch.setattr(flash, "serial_ports", host.list_ports)
    monkeypatch.setattr(flash, "open_board_link", host.open_link)
    monkeypatch.setattr(flash, "run_command", host.runner)
    monkeypatch.setattr(flash, "find_tool", host.which)
    argv = ["--device", "0001", "--family", "esp32", "--board", "ESP32_GENERIC_S3", "--build-dir",
            str(firmware.parent), "--cache", str(tmp_path / "c.json")]
    assert flash.main(argv) == 0
    assert host.commands[-1][1:3] == ["--chip", "esp32s3"]
    assert "MicroPython 1.28.0, mpssl 0.1.0" in capsys.readouterr().out
    assert flash.main(argv) == 0 and "skipped" in capsys.readouterr().out
    host.tools.pop("esptool")
    assert flash.main([*argv, "--force"]) == 1
    assert "esptool is not installed" in capsys.readouterr().err


def test_mpssl_flash_takes_family_method_and_image_from_the_rig(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    firmware = image(tmp_path, "stm32-NUCLEO_F429ZI", "firmware.hex")
    rig = tmp_path / "rig.toml"
    rig.write_text(f'[[board]]\nname = "nucleo"\nserial_number = "{NUCLEO.serial_number}"\nfamily = "stm32"\n'
                   'flash_method = "st-flash"\nfirmware = "build/stm32-NUCLEO_F429ZI/firmware.hex"\n')
    host = FakeHost(NUCLEO, "pyboard")
    monkeypatch.setattr(flash, "serial_ports", host.list_ports)
    monkeypatch.setattr(flash, "open_board_link", host.open_link)
    monkeypatch.setattr(flash, "run_command", host.runner)
    monkeypatch.setattr(flash, "find_tool", host.which)
    assert flash.main(["--device", "nucleo", "--rig", str(rig), "--cache", str(tmp_path / "c.json")]) == 0
    assert host.commands == [["/usr/bin/st-flash", "--connect-under-reset", "--reset", "--serial",
                              NUCLEO.serial_number, "--format", "ihex", "write", str(firmware)]]


def make_dry_run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), "flash", *arguments],
                          capture_output=True, text=True, check=False)


def test_make_flash_runs_mpssl_flash_on_the_build_directory() -> None:
    result = make_dry_run("PORT=rp2", "BOARD=RPI_PICO_W", "DEVICE=E6614C311B7D5A2B", "FORCE=1")
    assert result.returncode == 0, result.stderr
    command = result.stdout.replace("\\\n\t", "")
    assert re.search(r"/\.venv/bin/mpssl-flash --device 'E6614C311B7D5A2B' --family rp2 --board RPI_PICO_W "
                     r"--build-dir \S*/build/rp2-RPI_PICO_W --force$", command, re.MULTILINE), command
    missing_device = make_dry_run("PORT=rp2", "BOARD=RPI_PICO_W")
    assert missing_device.returncode != 0 and "make flash needs DEVICE=" in missing_device.stderr
    missing_board = make_dry_run("PORT=rp2", "DEVICE=/dev/ttyACM0")
    assert missing_board.returncode != 0 and "make flash needs BOARD=" in missing_board.stderr
