"""The flash breakdown of make bench (suites/linker_map.py) reads GNU ld map files: input sections on one
line or two, fill and other output sections left out, merged strings counted once."""

from __future__ import annotations

from pathlib import Path

from mpssl_hil.suites.linker_map import breakdown, bytes_by_object, group_of

MAP = """\
Discarded input sections

 .text.unused   0x00000000       0x40 /b/mpssl/socket.o

Linker script and memory map

LOAD /b/mpssl/socket.o
.text           0x00000000      0x1a0
 *(.text*)
 .text.socket_read
                0x00000000       0x2c /b/mpssl/socket.o
 .text.f        0x0000002c       0x54 /b/lib/mbedtls/library/pem.o
 *fill*         0x00000080        0x4
 .rodata.a.str1.1
                0x00000084       0x20 /b/lib/mbedtls/library/pem.o
 .rodata.b.str1.1
                0x00000094       0x10 /b/extmod/modtls_mbedtls.o
 .text.g        0x000000a4       0xfc /b/py/obj.o

.data           0x20000000        0x8
 .data.x        0x20000000        0x8 /b/py/obj.o
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sections_are_summed_per_object(tmp_path: Path) -> None:
    sizes = bytes_by_object(write(tmp_path, "a.map", MAP))
    # the discarded section, the fill and .data do not count; pem.o's merged strings stop where the
    # next section starts (0x10 of their 0x20)
    assert sizes == {"/b/mpssl/socket.o": 0x2c, "/b/lib/mbedtls/library/pem.o": 0x54 + 0x10,
                     "/b/extmod/modtls_mbedtls.o": 0x10, "/b/py/obj.o": 0xfc}


def test_breakdown_groups_what_differs(tmp_path: Path) -> None:
    ours = write(tmp_path, "ours.map", MAP)
    theirs = write(tmp_path, "theirs.map", MAP.replace("/b/mpssl/socket.o", "/b/extmod/modtls_mbedtls.o"))
    rows = breakdown(ours, theirs)
    assert rows[-1][0] == "total" and rows[-1][1] == rows[-1][2]
    assert dict((g, (a, b)) for g, a, b in rows[:-1]) == {
        "mpssl (usermod/mpssl)": (0x2c, 0),
        "the built-in tls (extmod/modtls_mbedtls.c)": (0x10, 0x10 + 0x2c)}
    assert group_of("/b/lib/mbedtls/library/chacha20.o") == "mbedTLS chacha20.c"
