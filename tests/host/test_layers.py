"""The runner package's layers: a subpackage imports only from itself and from lower layers, so a board
never depends on the pytest plugin, and a peer never on a board (docs/design.md draws the same map)."""

from __future__ import annotations

import ast
from pathlib import Path

import mpssl_hil

PACKAGE = Path(mpssl_hil.__file__).parent
LAYERS: dict[str, int] = {
    "common": 0,  # ports, child processes, waiting
    "certs": 0,  # the test PKI
    "board": 1,  # targets, the serial board, its link, recovery, probe, clock, network
    "peers": 1,  # host TLS/DTLS peers
    "emulators": 2,  # qemu, rp2040js: boards behind a process
    "rig": 2,  # rig.toml and mpssl-rig
    "flash": 3,  # flashing real boards (reads the rig)
    "suites": 3,  # upstream suites, sanitizers, fuzzing, sizes, benchmarks (the MCU's on an emulator)
    "plugin": 4,  # pytest options, target selection, fixtures
}


def part_of(module: str) -> str:
    """`mpssl_hil.board.serial` -> "board"; a module file's own dotted name the same way."""
    return module.split(".")[1]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """The mpssl_hil modules `path` imports, with line numbers (relative imports resolved)."""
    own = "mpssl_hil." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    if own.endswith(".__init__"):
        own = own[: -len(".__init__")] + ".__init__"  # a package's relative imports start at itself
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("mpssl_hil.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("mpssl_hil."):
                found.append((name, node.lineno))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", *LAYERS)]
    parts = {part_of("mpssl_hil." + ".".join(p.relative_to(PACKAGE).parts)) for p in PACKAGE.rglob("*.py")
             if p.parent != PACKAGE}
    assert not loose, f"modules outside the subpackages: {loose}"
    assert parts <= set(LAYERS), f"subpackages without a layer: {parts - set(LAYERS)}"


def test_no_module_imports_from_a_higher_layer_or_a_sibling() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE:
            continue
        mine = part_of("mpssl_hil." + ".".join(path.relative_to(PACKAGE).parts))
        for name, line in imports_of(path):
            theirs = part_of(name)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({mine}, layer {LAYERS[mine]}) imports "
                             f"{name} ({theirs}, layer {LAYERS[theirs]})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The scan itself: an upward import in a board module is found."""
    global PACKAGE
    fake = tmp_path / "mpssl_hil"
    (fake / "board").mkdir(parents=True)
    (fake / "board" / "x.py").write_text("from mpssl_hil.plugin import fixtures\nfrom ..common import ports\n")
    saved, PACKAGE = PACKAGE, fake
    try:
        assert imports_of(fake / "board" / "x.py") == [("mpssl_hil.plugin", 1), ("mpssl_hil.common", 2)]
    finally:
        PACKAGE = saved
