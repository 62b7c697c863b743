"""`make sizes`: text/data/bss of each board's mpssl image against the upstream image of the same
board built from the same checkout, as a Markdown table."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpssl_hil.suites.elf import Size, image_size

__all__ = ["Size", "image_size", "table", "main"]


def table(build_root: Path, boards: list[str]) -> str:
    rows = ["| board | mpssl text / data / bss | upstream text / data / bss | difference text / data / bss |",
            "| --- | --- | --- | --- |"]
    for port_board in boards:
        port, board = port_board.split(":")
        ours = build_root / f"{port}-{board}" / "firmware.elf"
        upstream = build_root / "upstream" / f"{port}-{board}" / "firmware.elf"
        if not ours.is_file() or not upstream.is_file():
            missing = ours if not ours.is_file() else upstream
            rows.append(f"| {port} {board} | not built ({missing.relative_to(build_root)} missing) | | |")
            continue
        a, b = image_size(ours), image_size(upstream)
        rows.append(f"| {port} {board} | {a.text} / {a.data} / {a.bss} | {b.text} / {b.data} / {b.bss} | "
                    f"{a.text - b.text:+} / {a.data - b.data:+} / {a.bss - b.bss:+} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpssl-sizes", description=__doc__)
    parser.add_argument("build_root", type=Path)
    parser.add_argument("boards", nargs="+", help="port:BOARD")
    args = parser.parse_args(argv)
    print(table(args.build_root, args.boards))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
