"""The bench scripts (bench/scripts/, `make bench`) still run on both sides, each once with tiny counts: on the
two unix binaries, natively, and on the two images of the emulated MCU (the qemu board under -icount). No
timing or size is asserted here; `make bench` measures.

`make test` builds the built-in side (build/bench/builtin, build/bench/qemu-builtin); mpssl's side is the bench
build when `make bench-build` made one, else the build of the same configuration `make test` makes anyway
(build/unix-gc, build/qemu-MPS2_AN385). A side that was not built skips with a one-line reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mpssl_hil.certs import Pki, generate_pki
from mpssl_hil.suites import bench, bench_mcu

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
# The same configuration as the bench build, for when only `make test` has run.
SAME_AS_BENCH = {"mpssl": BUILD / "unix-gc" / "micropython"}
SAME_AS_BENCH_MCU = {"mpssl": BUILD / "qemu-MPS2_AN385" / "firmware.elf"}


def built(variant: str, bench_path: Path, fallback: dict[str, Path]) -> Path:
    for path in (bench_path, fallback.get(variant)):
        if path is not None and path.is_file():
            return path
    pytest.skip(f"no {bench_path.relative_to(ROOT)}: run make test or make bench-build")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("bench-pki"))


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> bench.Runner:
    return bench.Runner(tmp_path_factory.mktemp("bench"), pki, callgrind=False, timeout=120)


@pytest.mark.needs_micropython
@pytest.mark.parametrize("variant", bench.VARIANTS)
def test_bench_scripts_run(variant: str, runner: bench.Runner) -> None:
    reports = bench.smoke(built(variant, bench.binaries(BUILD)[variant], SAME_AS_BENCH), runner)
    assert reports["handshake ecdsa"]["handshakes"] == 2
    assert "ECDSA" in reports["handshake ecdsa"]["client_cipher"]
    assert "-RSA-" in reports["handshake rsa"]["client_cipher"]
    assert len(reports["handshake ecdsa"]["phase_us"]) == 2  # one phase per handshake, between marks
    for key in ("bulk default", "bulk aead"):
        assert reports[key]["c2s"] == reports[key]["s2c"] == reports[key]["plain"] == 40000
        assert reports[key]["client_cipher"] == reports[key]["server_cipher"]
        assert len(reports[key]["phase_us"]) == 3
    assert reports["bulk aead"]["client_cipher"] == reports["aead"]["name"]
    heap = reports["heap"]
    assert heap["per_pair"] > 0 and heap["per_client"] > 0 and heap["handshake_peak"] > 0


@pytest.mark.parametrize("variant", bench_mcu.VARIANTS)
def test_bench_scripts_run_on_the_emulated_mcu(variant: str, pki: Pki) -> None:
    image = built(variant, bench_mcu.images(BUILD)[variant], SAME_AS_BENCH_MCU)
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm is not installed (Debian package qemu-system-arm)")
    reports = bench_mcu.smoke(image, pki)
    handshake = reports["handshake"]
    assert handshake["handshakes"] == 1 and "ECDSA" in handshake["client_cipher"]
    # Under -icount a handshake pair is hundreds of millions of instructions: far more than 1 µs.
    assert len(handshake["phase_us"]) == 1 and handshake["phase_us"][0] > 1000
    bulk = reports["bulk"]
    assert bulk["c2s"] == bulk["s2c"] == bulk["plain"] == 4096 and len(bulk["phase_us"]) == 3
    assert reports["heap"]["per_client"] > 0
    # The two images are really the two modules: only mpssl's configuration adds ChaCha20-Poly1305.
    offered = " ".join(reports["ciphers"]["ciphers"])
    assert ("CHACHA20" in offered) == (variant == "mpssl"), offered
