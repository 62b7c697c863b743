"""The size table (differences are ours minus upstream, and a board not built says so) and the ELF reading
behind it and the image checks of tests/firmware/, on small ELF files of the host compiler."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mpssl_hil.suites.elf import bytes_at, symbols
from mpssl_hil.suites.sizes import Size, image_size, table


def fake_elf(tmp_path: Path, name: str, text_bytes: int) -> Path:
    """A small ELF of the host compiler with a read-only `blob` of known size and contents, an initialised
    `counter` (data) and a zeroed `scratch` (bss)."""
    if shutil.which("cc") is None:
        pytest.skip("no host cc to make an ELF")
    src = tmp_path / f"{name}.c"
    src.write_text(f"const char blob[{text_bytes}] = {{1, 2, 3, 4}};\nint counter = 0x5a5a5a5a;\n"
                   "char scratch[8192];\n"
                   "int main(void) { return blob[0] + counter + scratch[0]; }\n")
    out = tmp_path / name / "firmware.elf"
    out.parent.mkdir(parents=True)
    subprocess.run(["cc", "-O0", "-o", str(out), str(src)], check=True)
    return out


def test_table_differences(tmp_path: Path) -> None:
    root = tmp_path / "build"
    ours = fake_elf(tmp_path, "ours", 50000)
    upstream = fake_elf(tmp_path, "upstream", 10000)
    (root / "qemu-X").mkdir(parents=True)
    (root / "upstream" / "qemu-X").mkdir(parents=True)
    (root / "qemu-X" / "firmware.elf").write_bytes(ours.read_bytes())
    (root / "upstream" / "qemu-X" / "firmware.elf").write_bytes(upstream.read_bytes())
    a, b = image_size(ours), image_size(upstream)
    assert isinstance(a, Size) and a.text - b.text >= 40000
    lines = table(root, ["qemu:X", "rp2:MISSING"]).splitlines()
    assert lines[2].startswith("| qemu X |") and f"{a.text - b.text:+}" in lines[2]
    assert "not built" in lines[3] and "rp2-MISSING" in lines[3]


def test_image_size_counts_as_binutils_size_does(tmp_path: Path) -> None:
    elf = fake_elf(tmp_path, "image", 30000)
    size = image_size(elf)
    assert size.text >= 30000 and size.data >= 4 and size.bss >= 8192
    if shutil.which("size") is None:
        pytest.skip("no binutils `size` to compare with")
    fields = subprocess.run(["size", str(elf)], capture_output=True, text=True, check=True).stdout.splitlines()[1]
    assert size == Size(*map(int, fields.split()[:3]))


def test_symbols_and_the_bytes_at_their_address(tmp_path: Path) -> None:
    elf = fake_elf(tmp_path, "image", 1000)
    found = symbols(elf)
    assert found["blob"][1] == 1000 and found["counter"][1] == 4 and found["scratch"][1] == 8192
    assert "main" in found
    address, _ = found["blob"]
    assert bytes_at(elf, address, 6) == b"\x01\x02\x03\x04\x00\x00"
    assert bytes_at(elf, found["counter"][0], 4) == b"\x5a" * 4
    with pytest.raises(LookupError, match="no section"):
        bytes_at(elf, found["scratch"][0], 4)  # bss: no bytes in the file
