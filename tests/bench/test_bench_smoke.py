"""The bench scripts (bench/scripts/, `make bench`) still run on both bench binaries: each once, natively,
with tiny counts. No timing or size is asserted here; `make bench` measures. A binary that `make bench-build`
has not built skips with a one-line reason (make test does not build them: two more full unix builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpssl_hil.certs import generate_pki
from mpssl_hil.suites import bench

ROOT = Path(__file__).resolve().parents[2]
BINARIES = bench.binaries(ROOT / "build")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> bench.Runner:
    work = tmp_path_factory.mktemp("bench")
    return bench.Runner(work, generate_pki(work / "pki"), callgrind=False, timeout=120)


@pytest.mark.needs_micropython
@pytest.mark.parametrize("variant", bench.VARIANTS)
def test_bench_scripts_run(variant: str, runner: bench.Runner) -> None:
    binary = BINARIES[variant]
    if not binary.is_file():
        pytest.skip(f"no {binary.relative_to(ROOT)}: run make bench-build")
    reports = bench.smoke(binary, runner)
    assert reports["handshake ecdsa"]["handshakes"] == 2
    assert "ECDSA" in reports["handshake ecdsa"]["client_cipher"]
    assert "-RSA-" in reports["handshake rsa"]["client_cipher"]
    for key in ("bulk default", "bulk aead"):
        assert reports[key]["c2s"] == reports[key]["s2c"] == reports[key]["plain"] == 40000
        assert reports[key]["client_cipher"] == reports[key]["server_cipher"]
    assert reports["bulk aead"]["client_cipher"] == reports["aead"]["name"]
    heap = reports["heap"]
    assert heap["per_pair"] > 0 and heap["per_client"] > 0 and heap["handshake_peak"] > 0
