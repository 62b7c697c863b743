"""The runner's command-line options, where their defaults point, and what a target the user named
but that cannot be used turns into: an error for every test that needed it (never a quiet skip)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

from mpssl_hil.emulators.rp2040js import BOOTROM_ENV, BUILT_BOOTROM, bootrom_from
from mpssl_hil.emulators.stm32_qemu import DEFAULT_FIRMWARE as DEFAULT_STM32_QEMU_FIRMWARE
from mpssl_hil.plugin.selection import USAGE, TargetKind, TargetSpec

NO_MICROPYTHON = "no build/unix/micropython: run `make` with a MicroPython checkout (MICROPY_DIR)"
NO_GC_HEAP_BUILD = "no build/unix-gc/micropython: run `make firmware PORT=unix MBEDTLS_HEAP=gc`"
TARGETS = pytest.StashKey[list[TargetSpec]]()
NAMED = pytest.StashKey[bool]()  # the user chose the targets (--target or --rig): they must work


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mpssl")
    group.addoption("--micropython", type=Path, default=None,
                    help="the unix MicroPython binary (default: <rootdir>/build/unix/micropython)")
    group.addoption("--qemu-firmware", type=Path, default=None,
                    help="the qemu board's firmware (default: <rootdir>/build/qemu-MPS2_AN385/firmware.elf)")
    group.addoption("--rp2040-bootrom", type=Path, default=None,
                    help=f"the RP2040 B1 bootrom image the rp2040js target boots (default: ${BOOTROM_ENV}, "
                         f"else <rootdir>/{BUILT_BOOTROM} when `make rp2040-bootrom` has built it)")
    group.addoption("--rp2040-firmware", type=Path, default=None,
                    help="the rp2040js target's firmware (default: <rootdir>/build/rp2-RPI_PICO_W/firmware.uf2)")
    group.addoption("--stm32-qemu-firmware", type=Path, default=None,
                    help="the stm32-qemu target's firmware "
                         "(default: <rootdir>/build/stm32-QEMU_NETDUINO_PLUS_2/firmware.elf)")
    group.addoption("--peer-log-dir", type=Path, default=None,
                    help="write every host peer's log to a file in this directory")
    group.addoption("--target", action="append", default=None, metavar="TARGET",
                    help=f"run the device tests on this target (repeatable): {USAGE.split(' takes ')[1]}; "
                         "default: unix, qemu, rp2040js and (with qemu-system-arm) stm32-qemu, each skipped with the "
                         "reason when it is missing; "
                         "a target named here that cannot be used fails every test that needs it")
    group.addoption("--rig", type=Path, default=None,
                    help="run the device tests on every board rig.toml lists (see tools/rig.example.toml)")
    group.addoption("--flash", action="store_true",
                    help="flash each board (--target/--rig) at session start, unless it already runs the image")
    group.addoption("--host-ip", default=None,
                    help="the host address a real board reaches the host peers by (networked tests on boards)")
    group.addoption("--board-log-dir", type=Path, default=None,
                    help="write each test's REPL transcript per board to <dir>/<test>/<board>.log")


def micropython_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--micropython")
    return given if given is not None else config.rootpath / "build" / "unix" / "micropython"


def gc_heap_micropython_path(config: pytest.Config) -> Path:
    """The unix build with mbedTLS on the GC heap, beside the unix binary's build directory."""
    return micropython_path(config).resolve().parent.parent / "unix-gc" / "micropython"


def qemu_firmware_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--qemu-firmware")
    return given if given is not None else config.rootpath / "build" / "qemu-MPS2_AN385" / "firmware.elf"


def rp2040_firmware_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--rp2040-firmware")
    return given if given is not None else config.rootpath / "build" / "rp2-RPI_PICO_W" / "firmware.uf2"


def stm32_qemu_firmware_path(config: pytest.Config) -> Path:
    given: Path | None = config.getoption("--stm32-qemu-firmware")
    return given if given is not None else config.rootpath / DEFAULT_STM32_QEMU_FIRMWARE


def rp2040_bootrom_path(config: pytest.Config) -> Path | None:
    """--rp2040-bootrom, else $MPSSL_RP2040_BOOTROM, else the image `make rp2040-bootrom` built, if any."""
    return bootrom_from(config.getoption("--rp2040-bootrom"), built=config.rootpath / BUILT_BOOTROM)


def selected(config: pytest.Config, kind: TargetKind) -> bool:
    return TargetSpec(kind) in config.stash[TARGETS]


def named(config: pytest.Config) -> bool:
    """Whether the user named the targets; without --target/--rig the default emulated set runs."""
    return config.stash.get(NAMED, False)


def unusable(config: pytest.Config, what: str, reason: str) -> NoReturn:
    """A target that cannot be used: an error when the user named it, else a skip with the reason."""
    if named(config):
        pytest.fail(f"{what} was named (--target/--rig) but cannot be used: {reason}", pytrace=False)
    pytest.skip(f"{what}: {reason}")
