"""Paths the package finds by its own location still point into the repository (moving a module into a
subpackage changes how many parents up the repository is)."""

from __future__ import annotations

from mpssl_hil.emulators.rp2040js import WRAPPER, WRAPPER_DIR
from mpssl_hil.suites import fuzz_bytes


def test_the_rp2040js_wrapper_is_where_the_emulator_looks() -> None:
    assert (WRAPPER_DIR / WRAPPER).is_file() and (WRAPPER_DIR / "package.json").is_file()


def test_the_fuzzers_repository_paths_are_the_repository() -> None:
    assert (fuzz_bytes.REPO / "Makefile").is_file() and (fuzz_bytes.REPO / "tests" / "fuzz").is_dir()
    assert fuzz_bytes.REGRESSIONS.parent == fuzz_bytes.REPO / "tests" / "fuzz"
    assert fuzz_bytes.DEFAULT_FUZZ_DIR == fuzz_bytes.REPO / "build" / "fuzz"
