"""The MCU firmware images, read from build/<port>-<BOARD>/firmware.elf (with pyelftools: no binutils
of the image's architecture needed): mpssl and mbedTLS are in, the built-in `tls` module is out, and no
micropython-lib ssl.py is frozen. A board whose image was not built skips with a one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpssl_hil.suites.elf import bytes_at, symbols

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"

RP2_BOARDS = ["RPI_PICO_W", "RPI_PICO2_W"]
STM32_BOARDS = ["NUCLEO_F429ZI", "PYBD_SF2"]

# What mpssl brings (its module objects), what mbedTLS must provide with mpssl's configuration
# (TLS, DTLS cookies, ChaCha20-Poly1305) and the port's entropy hook that mbedTLS uses on rp2.
MPSSL_SYMBOLS = ["mp_module_ssl", "mpssl_socket_type"]
MBEDTLS_SYMBOLS = ["mbedtls_ssl_handshake", "mbedtls_ssl_cookie_setup", "mbedtls_chachapoly_init"]
RP2_PORT_HOOKS = ["mbedtls_hardware_poll"]
STM32_PORT_HOOKS = ["mbedtls_hardware_poll", "stm32_rtctime_seconds"]
# The emulation board's stand-ins for what QEMU's netduinoplus2 does not model (boards/stm32/
# QEMU_NETDUINO_PLUS_2/board_qemu.c): host entropy for the RNG, the host clock for the RTC, both through
# semihosting, and a clock setup that does not wait for oscillators.
STM32_QEMU_STAND_INS = ["__wrap_rng_get", "__wrap_HAL_RTC_GetTime", "__wrap_HAL_RTC_SetTime",
                        "__wrap_mp_hal_time_ns", "mpssl_qemu_time_ns"]
# The port's own frozen modules, which the emulation board keeps (it has no networking bundle).
STM32_PORT_FROZEN = ["asyncio/__init__.py", "onewire.py", "dht.py"]
# Frozen by every networking board, with or without ssl.py.
NETWORKING_FROZEN = ["requests/__init__.py", "mip/__init__.py", "ntptime.py", "webrepl.py"]
# The built-in module (extmod/modtls_mbedtls.c): its module object and one of its static functions.
BUILTIN_TLS_SYMBOLS = ["mp_module_tls", "ssl_sock_cert_verify"]


def firmware_elf(port: str, board: str) -> Path:
    elf = BUILD / f"{port}-{board}" / "firmware.elf"
    if not elf.is_file():
        pytest.skip(f"no build/{port}-{board}/firmware.elf: run make firmware PORT={port} BOARD={board}")
    return elf


def frozen_module_names(elf: Path, found: dict[str, tuple[int, int]]) -> list[str]:
    """The file names of the frozen modules, from MicroPython's mp_frozen_names table."""
    assert "mp_frozen_names" in found, "the image has no frozen modules table (mp_frozen_names)"
    address, size = found["mp_frozen_names"]
    raw = bytes_at(elf, address, size)
    return [name.decode() for name in raw.split(b"\0") if name]


def check_mpssl_in_builtin_tls_out(port: str, board: str, port_hooks: list[str]) -> None:
    found = symbols(firmware_elf(port, board))
    missing = [s for s in MPSSL_SYMBOLS + MBEDTLS_SYMBOLS + port_hooks if s not in found]
    assert not missing, f"{port}-{board} lacks {missing}"
    builtin = [s for s in BUILTIN_TLS_SYMBOLS if s in found]
    assert not builtin, f"{port}-{board} still contains the built-in tls module: {builtin}"


def check_no_frozen_ssl(port: str, board: str, kept: list[str]) -> None:
    elf = firmware_elf(port, board)
    names = frozen_module_names(elf, symbols(elf))
    # The rest of what the board freezes is still there...
    lost = [k for k in kept if k not in names]
    assert not lost, f"{port}-{board} no longer freezes {lost}: {names}"
    # ...but no ssl.py that would shadow or duplicate the built-in ssl.
    assert not [n for n in names if n == "ssl.py" or n.startswith("ssl/")], f"{port}-{board} freezes ssl: {names}"


@pytest.mark.parametrize("board", RP2_BOARDS)
def test_rp2_image_has_mpssl_and_not_the_builtin_tls(board: str) -> None:
    check_mpssl_in_builtin_tls_out("rp2", board, RP2_PORT_HOOKS)


@pytest.mark.parametrize("board", RP2_BOARDS)
def test_rp2_image_freezes_no_ssl_py(board: str) -> None:
    check_no_frozen_ssl("rp2", board, NETWORKING_FROZEN + ["aioble/__init__.py"])


@pytest.mark.parametrize("board", STM32_BOARDS)
def test_stm32_image_has_mpssl_and_not_the_builtin_tls(board: str) -> None:
    check_mpssl_in_builtin_tls_out("stm32", board, STM32_PORT_HOOKS)


@pytest.mark.parametrize("board", STM32_BOARDS)
def test_stm32_image_freezes_no_ssl_py(board: str) -> None:
    check_no_frozen_ssl("stm32", board, NETWORKING_FROZEN)


def test_qemu_image_has_mpssl_and_its_platform_layer() -> None:
    check_mpssl_in_builtin_tls_out("qemu", "MPS2_AN385", ["mbedtls_hardware_poll", "mpssl_qemu_time"])


def test_stm32_qemu_image_has_mpssl_and_its_stand_ins() -> None:
    check_mpssl_in_builtin_tls_out("stm32", "QEMU_NETDUINO_PLUS_2", STM32_PORT_HOOKS + STM32_QEMU_STAND_INS)


def test_stm32_qemu_image_freezes_no_ssl_py() -> None:
    check_no_frozen_ssl("stm32", "QEMU_NETDUINO_PLUS_2", STM32_PORT_FROZEN)
