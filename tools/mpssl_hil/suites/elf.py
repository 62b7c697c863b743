"""Reading firmware images (ELF) with pyelftools: symbols, initialised bytes at an address, and the
text/data/bss sums `size` prints. No binutils of the image's architecture needed (arm-none-eabi-nm,
-size), and any ELF class or byte order."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


class Size(NamedTuple):
    text: int
    data: int
    bss: int


def symbols(elf: Path) -> dict[str, tuple[int, int]]:
    """Every named symbol of the image (global and local) as name -> (address, size); where a name occurs
    more than once (static functions of several files), the first with a size wins."""
    found: dict[str, tuple[int, int]] = {}
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for symbol in section.iter_symbols():
                if not symbol.name or symbol["st_info"]["type"] in ("STT_SECTION", "STT_FILE"):
                    continue
                value = (symbol["st_value"], symbol["st_size"])
                if symbol.name not in found or (found[symbol.name][1] == 0 and value[1]):
                    found[symbol.name] = value
    return found


def bytes_at(elf: Path, address: int, size: int) -> bytes:
    """The initialised bytes at `address` (from the allocated section with contents that holds them)."""
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            start = section["sh_addr"]
            if (section["sh_flags"] & SH_FLAGS.SHF_ALLOC and section["sh_type"] != "SHT_NOBITS"
                    and start <= address and address + size <= start + section["sh_size"]):
                return section.data()[address - start : address - start + size]
    raise LookupError(f"no section of {elf} holds 0x{address:08x}+{size}")


def image_size(elf: Path) -> Size:
    """text, data, bss as binutils' `size` counts them (its default, Berkeley, format): of the allocated
    sections, code and read-only ones are text, the other ones with contents data, the rest bss."""
    text = data = bss = 0
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            flags = section["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC:
                continue
            if flags & SH_FLAGS.SHF_EXECINSTR or not flags & SH_FLAGS.SHF_WRITE:
                text += section["sh_size"]
            elif section["sh_type"] != "SHT_NOBITS":
                data += section["sh_size"]
            else:
                bss += section["sh_size"]
    return Size(text, data, bss)
