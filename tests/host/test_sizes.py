"""The size table: differences are ours minus upstream, and a board not built says so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mpssl_hil.suites.sizes import Size, image_size, table


def fake_elf(tmp_path: Path, name: str, text_bytes: int) -> Path:
    """A small ELF of the host compiler with a text section of known size."""
    if shutil.which("cc") is None or shutil.which("size") is None:
        pytest.skip("no host cc/size (binutils) to make an ELF")
    src = tmp_path / f"{name}.c"
    src.write_text(f"const char blob[{text_bytes}] = {{1}};\nint main(void) {{ return blob[0]; }}\n")
    out = tmp_path / name / "firmware.elf"
    out.parent.mkdir(parents=True)
    subprocess.run(["cc", "-O0", "-o", str(out), str(src)], check=True)
    return out


def test_table_differences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "build"
    ours = fake_elf(tmp_path, "ours", 50000)
    upstream = fake_elf(tmp_path, "upstream", 10000)
    (root / "qemu-X").mkdir(parents=True)
    (root / "upstream" / "qemu-X").mkdir(parents=True)
    (root / "qemu-X" / "firmware.elf").write_bytes(ours.read_bytes())
    (root / "upstream" / "qemu-X" / "firmware.elf").write_bytes(upstream.read_bytes())
    monkeypatch.setattr("mpssl_hil.suites.sizes.image_size", lambda elf: image_size(elf, "size"))
    a, b = image_size(ours, "size"), image_size(upstream, "size")
    assert isinstance(a, Size) and a.text - b.text >= 40000
    lines = table(root, ["qemu:X", "rp2:MISSING"]).splitlines()
    assert lines[2].startswith("| qemu X |") and f"{a.text - b.text:+}" in lines[2]
    assert "not built" in lines[3] and "rp2-MISSING" in lines[3]
