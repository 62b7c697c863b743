"""The byte-level fuzzers, briefly: each libFuzzer harness (tools/fuzz/) runs for a few seconds on a sample
of its seeds, after replaying tests/fuzz/regressions/<harness>/; a crash, sanitizer report, leak, timeout
or running out of memory fails the test, and libFuzzer's input stays in build/fuzz/crashes/<harness>/.

`make fuzz-bytes SECONDS=n` is the long form. The binaries and seeds are built by `make fuzz-bytes-corpus`
(minutes the first time, with clang-14; seconds after). MPSSL_FUZZ_BYTES_SECONDS sets the time per harness.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mpssl_hil.suites import fuzz_bytes

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = Path(os.environ.get("MICROPY_DIR", Path.home() / ".cache" / "mpssl" / "micropython")).expanduser()
SECONDS = int(os.environ.get("MPSSL_FUZZ_BYTES_SECONDS", "8"))
# The first run builds the fuzz binaries (clang-14, ASan: minutes on two cores) inside the fixture.
pytestmark = pytest.mark.timeout(1800)
SAMPLE = 40  # seeds per harness: running all 320 handshake seeds alone would take the whole budget


@pytest.fixture(scope="module")
def fuzz_dir() -> Path:
    if not (CHECKOUT / "py" / "mpconfig.h").is_file():
        pytest.skip(f"no MicroPython checkout at {CHECKOUT}: run `make micropython`, or set MICROPY_DIR")
    problem = fuzz_bytes.toolchain_problem()
    if problem:
        pytest.skip(problem)
    result = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", f"MICROPY_DIR={CHECKOUT}", "fuzz-bytes-corpus"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"make fuzz-bytes-corpus failed (exit {result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return ROOT / "build" / "fuzz"


def sample_seeds(fuzz_dir: Path, harness: str, directory: Path) -> Path:
    """Every n-th seed (up to SAMPLE), linked into `directory`."""
    seeds = sorted((fuzz_dir / "corpus" / harness).glob("seed-*"))
    step = max(1, len(seeds) // SAMPLE)
    directory.mkdir()
    for seed in seeds[::step][:SAMPLE]:
        (directory / seed.name).symlink_to(seed)
    return directory


@pytest.mark.parametrize("harness", fuzz_bytes.HARNESSES)
def test_fuzz_harness_finds_nothing(fuzz_dir: Path, harness: str, tmp_path: Path) -> None:
    seeds = sample_seeds(fuzz_dir, harness, tmp_path / "seeds")
    run = fuzz_bytes.run_harness(fuzz_dir, harness, SECONDS, corpus=tmp_path / "new", extra_corpora=[seeds])
    print(run.summary())
    if run.failed:
        pytest.fail(f"{run.summary()}\n\n{run.report()}", pytrace=False)
    assert run.executions, f"fuzz-{harness} ran no input:\n{run.report()}"


CRASHING_DRIVER = """
import uctypes


def setup(data_dir, epoch):
    pass


def ciphers(data):
    if data.startswith(b"CRASH"):
        uctypes.bytearray_at(16, 1)[0]  # reads address 16: SIGSEGV
"""


def test_a_crash_fails_the_run_and_keeps_the_input(fuzz_dir: Path, tmp_path: Path) -> None:
    """The failure path, with a stand-in driver (MPSSL_FUZZ_PATH) that crashes on one seed."""
    (tmp_path / "driver").mkdir()
    (tmp_path / "driver" / "mpssl_fuzz.py").write_text(CRASHING_DRIVER)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "crash").write_bytes(b"CRASH")
    run = fuzz_bytes.run_harness(fuzz_dir, "ciphers", 5, corpus=tmp_path / "new", extra_corpora=[tmp_path / "seeds"],
                                 regressions=None, crashes=tmp_path / "crashes", logs=tmp_path,
                                 env={"MPSSL_FUZZ_PATH": str(tmp_path / "driver")})
    assert run.failed and run.returncode != 0, run.report()
    assert [a.read_bytes() for a in run.artifacts] == [b"CRASH"], run.report()
    assert "SEGV" in run.report()
