"""The rp2040js target without the emulator running: why it skips, and the Node wrapper's argument
handling and image loading (the wrapper's tests need node and `npm ci --prefix tools/rp2040js`)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mpssl_hil.emulators.rp2040js import (
    BOOTROM_ENV,
    BUILT_BOOTROM,
    WRAPPER,
    WRAPPER_DIR,
    Rp2040jsBoard,
    Rp2040jsUnavailable,
    bootrom_from,
    unavailable_reason,
)

WRAPPER_READY = shutil.which("node") is not None and (WRAPPER_DIR / "node_modules" / "rp2040js").is_dir()
needs_wrapper = pytest.mark.skipif(not WRAPPER_READY,
                                   reason="needs node and `npm ci --prefix tools/rp2040js`")


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A wrapper directory that looks installed."""
    package = tmp_path / "wrapper" / "node_modules" / "rp2040js"
    package.mkdir(parents=True)
    (package / "package.json").write_text("{}")
    return tmp_path / "wrapper"


def test_bootrom_comes_from_the_option_then_the_environment(tmp_path: Path) -> None:
    assert bootrom_from(tmp_path / "a.bin", {BOOTROM_ENV: "/b.bin"}) == tmp_path / "a.bin"
    assert bootrom_from(None, {BOOTROM_ENV: "/b.bin"}) == Path("/b.bin")
    assert bootrom_from(None, {BOOTROM_ENV: ""}) is None
    assert bootrom_from(None, {}) is None


def test_the_built_bootrom_is_the_last_default(tmp_path: Path) -> None:
    built = tmp_path / "b1-bootrom.bin"
    assert bootrom_from(None, {}, built) is None, "not built yet: no default"
    built.write_bytes(b"")
    assert bootrom_from(None, {}, built) == built
    assert bootrom_from(None, {BOOTROM_ENV: ""}, built) == built
    assert bootrom_from(None, {BOOTROM_ENV: "/b.bin"}, built) == Path("/b.bin")
    assert bootrom_from(tmp_path / "a.bin", {BOOTROM_ENV: "/b.bin"}, built) == tmp_path / "a.bin"
    assert BUILT_BOOTROM == Path("build/rp2040-bootrom/b1-bootrom.bin"), "where `make rp2040-bootrom` writes it"


BOOTROM_PATH_TEST = """
from mpssl_hil.plugin.options import rp2040_bootrom_path

def test_bootrom_path(pytestconfig):
    print("BOOTROM", rp2040_bootrom_path(pytestconfig))
"""


def test_plugin_boots_the_built_bootrom_unless_told_otherwise(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BOOTROM_ENV, raising=False)
    pytester.makepyfile(BOOTROM_PATH_TEST)
    pytester.runpytest("-s").stdout.fnmatch_lines(["*BOOTROM None"])
    built = pytester.path / BUILT_BOOTROM
    built.parent.mkdir(parents=True)
    built.write_bytes(b"")
    pytester.runpytest("-s").stdout.fnmatch_lines([f"*BOOTROM {built}"])
    pytester.runpytest("-s", "--rp2040-bootrom", "/option.bin").stdout.fnmatch_lines(["*BOOTROM /option.bin"])
    monkeypatch.setenv(BOOTROM_ENV, "/env.bin")
    pytester.runpytest("-s").stdout.fnmatch_lines(["*BOOTROM /env.bin"])


def test_reasons_are_one_line_and_name_the_fix(tmp_path: Path, installed: Path) -> None:
    firmware = tmp_path / "firmware.uf2"
    bootrom = tmp_path / "b1.bin"
    assert "node is not installed" in str(unavailable_reason(firmware, bootrom, installed, node=None))
    assert "npm ci --prefix" in str(unavailable_reason(firmware, bootrom, tmp_path / "empty", node="sh"))
    absent = unavailable_reason(firmware, None, installed, node="sh")
    assert absent is not None and "make rp2040-bootrom" in absent
    assert "--rp2040-bootrom" in absent and BOOTROM_ENV in absent
    assert f"no RP2040 bootrom image at {bootrom}" in str(unavailable_reason(firmware, bootrom, installed, node="sh"))
    bootrom.write_bytes(b"\0" * 16384)
    assert "make firmware PORT=rp2 BOARD=RPI_PICO_W" in str(
        unavailable_reason(firmware, bootrom, installed, node="sh"))
    firmware.write_bytes(b"")
    assert unavailable_reason(firmware, bootrom, installed, node="sh") is None
    assert "\n" not in absent


def test_board_without_bootrom_raises_the_skip_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BOOTROM_ENV, raising=False)
    if not WRAPPER_READY:
        pytest.skip("needs node and `npm ci --prefix tools/rp2040js` to reach the bootrom check")
    with pytest.raises(Rp2040jsUnavailable, match="no RP2040 bootrom image: run `make rp2040-bootrom`"):
        Rp2040jsBoard(tmp_path / "firmware.uf2")


DEVICE_TEST = """
def test_on_rp2040js(rp2040js_target):
    pass
"""


def test_rp2040js_target_skips_without_bootrom(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BOOTROM_ENV, raising=False)
    if not WRAPPER_READY:
        pytest.skip("needs node and `npm ci --prefix tools/rp2040js` to reach the bootrom check")
    pytester.makepyfile(DEVICE_TEST)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * no RP2040 bootrom image: run `make rp2040-bootrom`, or pass "
                                 f"--rp2040-bootrom or set {BOOTROM_ENV}*"])


def node_call(function: str, *args: object) -> object:
    """Call an exported function of run.mjs with JSON arguments; return its JSON result."""
    code = (f"import * as w from {json.dumps(str(WRAPPER_DIR / WRAPPER))};"
            "const a = JSON.parse(process.argv[1]);"
            f"try {{ console.log(JSON.stringify({{ok: await w.{function}(...a)}})); }}"
            "catch (e) { console.log(JSON.stringify({error: e.message})); }")
    out = subprocess.run(["node", "--input-type=module", "-e", code, json.dumps(list(args))],
                         capture_output=True, text=True, check=True, timeout=30, cwd=WRAPPER_DIR)
    return json.loads(out.stdout)


@needs_wrapper
def test_wrapper_arguments() -> None:
    assert node_call("parseArgs", ["--bootrom", "/b", "--firmware=/f.uf2"], {}) == {
        "ok": {"bootrom": "/b", "firmware": "/f.uf2", "bootTimeout": 120}}
    assert node_call("parseArgs", ["--firmware", "/f.bin", "--boot-timeout", "30"], {BOOTROM_ENV: "/env"}) == {
        "ok": {"bootrom": "/env", "firmware": "/f.bin", "bootTimeout": 30}}
    assert "MPSSL_RP2040_BOOTROM" in str(node_call("parseArgs", ["--firmware", "/f"], {})["error"])  # type: ignore[index]
    assert node_call("parseArgs", ["--bootrom", "/b", "--firmware", "/f", "--boot-timeout=2.5"], {}) == {
        "ok": {"bootrom": "/b", "firmware": "/f", "bootTimeout": 2.5}}
    errors = {tuple(argv): str(node_call("parseArgs", argv, {})["error"])  # type: ignore[index]
              for argv in (["--nope"], ["--bootrom"], ["--firmware", "/f", "stray"], ["--boot-timeout", "x"],
                           ["--help"], ["-h"])}
    assert "Unknown option '--nope'" in errors[("--nope",)] and "usage: run.mjs" in errors[("--nope",)]
    assert "'--bootrom <value>' argument missing" in errors[("--bootrom",)]
    assert "Unexpected argument 'stray'" in errors[("--firmware", "/f", "stray")]
    assert "positive" in errors[("--boot-timeout", "x")]
    assert errors[("--help",)] == errors[("-h",)] and errors[("-h",)].startswith("usage: run.mjs")
    assert all("\n" not in e for e in errors.values()), "one line each"


@needs_wrapper
def test_wrapper_exits_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bootrom.bin"
    bad.write_bytes(b"\0" * 100)
    env = {"PATH": str(Path(shutil.which("node") or "node").parent)}
    missing = subprocess.run(["node", str(WRAPPER_DIR / WRAPPER), "--firmware", "x.uf2"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "MPSSL_RP2040_BOOTROM" in missing.stderr
    short = subprocess.run(["node", str(WRAPPER_DIR / WRAPPER), "--bootrom", str(bad), "--firmware", "x.uf2"],
                           env=env, capture_output=True, text=True, timeout=30)
    assert short.returncode == 2 and "is 100 bytes" in short.stderr


def uf2_block(address: int, payload: bytes, number: int, total: int) -> bytes:
    header = struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, address, len(payload), number, total, 0xE48BFF56)
    return header + payload.ljust(476, b"\0") + struct.pack("<I", 0x0AB16F30)


@needs_wrapper
@pytest.mark.parametrize("kind", ["uf2", "bin", "hex"])
def test_wrapper_loads_firmware_into_flash(tmp_path: Path, kind: str) -> None:
    image = tmp_path / f"firmware.{kind}"
    if kind == "uf2":
        image.write_bytes(uf2_block(0x10000000, b"\x01\x02", 0, 2) + uf2_block(0x10000100, b"\x03", 1, 2))
        expected = {0: 1, 1: 2, 2: 255, 256: 3}
    elif kind == "bin":
        image.write_bytes(b"\x01\x02")
        expected = {0: 1, 1: 2, 2: 255}
    else:  # Intel HEX: an extended linear address record, then two data bytes at 0x1000_0100
        image.write_text(":020000041000EA\n:020100000102FA\n:00000001FF\n")
        expected = {0x100: 1, 0x101: 2, 0: 255}
    code = (f"import {{ loadFirmware }} from {json.dumps(str(WRAPPER_DIR / WRAPPER))};"
            "const flash = new Uint8Array(4096).fill(0xff);"
            f"loadFirmware({json.dumps(str(image))}, flash);"
            "console.log(JSON.stringify(Array.from(flash.subarray(0, 512))));")
    flash = json.loads(subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True,
                                      text=True, check=True, timeout=30, cwd=WRAPPER_DIR).stdout)
    assert {offset: flash[offset] for offset in expected} == expected


@needs_wrapper
def test_wrapper_finds_rom_functions_in_the_table(tmp_path: Path) -> None:
    rom = bytearray(64)
    struct.pack_into("<H", rom, 0x14, 0x20)  # function table pointer
    struct.pack_into("<4H", rom, 0x20, ord("R") | ord("E") << 8, 0x101, ord("R") | ord("P") << 8, 0x201)
    code = (f"import {{ romFunction }} from {json.dumps(str(WRAPPER_DIR / WRAPPER))};"
            f"const rom = new Uint32Array(new Uint8Array({list(rom)}).buffer);"
            "console.log(JSON.stringify([romFunction(rom, 'RE'), romFunction(rom, 'RP')]));"
            "try { romFunction(rom, 'XX'); } catch (e) { console.log(JSON.stringify(e.message)); }")
    lines = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True, text=True,
                           check=True, timeout=30, cwd=WRAPPER_DIR).stdout.splitlines()
    assert json.loads(lines[0]) == [0x100, 0x200]
    assert "no XX function" in json.loads(lines[1])
