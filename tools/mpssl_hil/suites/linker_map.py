"""Flash by object file, read from a GNU ld map file (firmware.map, which MicroPython's make ports write
beside firmware.elf): the input sections the linker kept in the image's code output section, summed per
object. `make bench` compares two images of one board this way, to say what each part costs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

# An input section on one line: " .text.f  0x00001234  0x2c  /path/obj.o"; a long name takes two lines,
# the address, size and object on the second.
_ONE_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
_NAME_ONLY = re.compile(r"^ (\S+)$")
_REST = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
_OUTPUT_SECTION = re.compile(r"^(\.\S+)")
CODE_SECTIONS = (".text", ".rodata")  # output sections that live in flash on these boards


def bytes_by_object(map_file: Path, output_sections: tuple[str, ...] = CODE_SECTIONS) -> Counter[str]:
    """Bytes of each object file in the given output sections (alignment fill not counted). Merged string
    sections (.rodata.*.str1.1) are listed at their size before the linker shared equal strings, so each
    input section counts only up to where the next one starts."""
    placed: list[tuple[int, int, str]] = []  # (address, size, object)
    in_map = False
    current: str | None = None
    pending = False
    for line in map_file.read_text(errors="replace").splitlines():
        if not in_map:
            in_map = line.startswith("Linker script and memory map")
            continue
        out = _OUTPUT_SECTION.match(line)
        if out:
            current = out.group(1) if out.group(1) in output_sections else None
            pending = False
            continue
        if current is None:
            continue
        rest = _REST.match(line) if pending else None
        pending = False
        if rest:
            placed.append((int(rest.group(1), 16), int(rest.group(2), 16), rest.group(3)))
            continue
        one = _ONE_LINE.match(line)
        if one and one.group(1) != "*fill*":
            placed.append((int(one.group(2), 16), int(one.group(3), 16), one.group(4)))
        elif _NAME_ONLY.match(line) and not line.lstrip().startswith("*"):  # not a pattern like *(.text*)
            pending = True
    placed.sort()
    sizes: Counter[str] = Counter()
    for (address, size, obj), following in zip(placed, [*placed[1:], None], strict=True):
        sizes[obj] += size if following is None else max(0, min(size, following[0] - address))
    return sizes


# What each group of objects is, for the breakdown: (label, how to recognise the object's path).
GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mpssl (usermod/mpssl)", re.compile(r"/mpssl/[^/]+\.o$")),
    ("the built-in tls (extmod/modtls_mbedtls.c)", re.compile(r"extmod/modtls_mbedtls\.o$")),
    ("frozen modules (the built-in's ssl.py among them)", re.compile(r"frozen_content\.o$")),
    ("mbedTLS error names (lib/mbedtls_errors)", re.compile(r"lib/mbedtls_errors/")),
)
MBEDTLS_OBJECT = re.compile(r"lib/mbedtls/library/([^/]+)\.o$")


def group_of(obj: str) -> str:
    for label, pattern in GROUPS:
        if pattern.search(obj):
            return label
    m = MBEDTLS_OBJECT.search(obj)
    if m:
        return f"mbedTLS {m.group(1)}.c"
    return "everything else"


def breakdown(ours: Path, theirs: Path) -> list[tuple[str, int, int]]:
    """(group, bytes in `ours`, bytes in `theirs`) for every group whose size differs, largest
    difference first, then the total."""
    a: Counter[str] = Counter()
    b: Counter[str] = Counter()
    for obj, n in bytes_by_object(ours).items():
        a[group_of(obj)] += n
    for obj, n in bytes_by_object(theirs).items():
        b[group_of(obj)] += n
    rows = [(g, a[g], b[g]) for g in set(a) | set(b) if a[g] != b[g]]
    rows.sort(key=lambda r: -abs(r[1] - r[2]))
    return [*rows, ("total", sum(a.values()), sum(b.values()))]
