"""The libFuzzer driver's second look at timeouts and slow units: an input that runs in time when
replayed (the machine was busy) is kept apart and does not fail the run; one that burns CPU fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mpssl_hil.suites import fuzz_bytes
from mpssl_hil.suites.fuzz_bytes import FuzzRun, recheck_timeouts


def fake_fuzzer(tmp_path: Path, body: str) -> str:
    """An executable that takes libFuzzer's replay arguments and runs `body` (Python)."""
    exe = tmp_path / "fake-fuzzer"
    exe.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    exe.chmod(0o755)
    return str(exe)


def run_with(tmp_path: Path, *names: str) -> tuple[FuzzRun, Path]:
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    artifacts = []
    for name in names:
        (crashes / name).write_bytes(b"input")
        artifacts.append(crashes / name)
    log = tmp_path / "log.txt"
    log.write_text("")
    run = FuzzRun("certs", fuzz_bytes.TIMEOUT_EXIT, 1.0, log)
    run.artifacts = artifacts
    return run, crashes


def test_inputs_that_replay_in_time_are_set_apart(tmp_path: Path) -> None:
    run, crashes = run_with(tmp_path, "timeout-aa", "slow-unit-bb", "crash-cc")
    recheck_timeouts(run, fake_fuzzer(tmp_path, "sys.exit(0)"), {}, crashes)
    assert [a.name for a in run.artifacts] == ["crash-cc"], "a crash is never judged again"
    assert sorted(p.name for p in (crashes / "unreproduced").iterdir()) == ["slow-unit-bb", "timeout-aa"]
    assert run.failed, "the crash still fails the run"


def test_a_timeout_alone_that_replays_in_time_does_not_fail_the_run(tmp_path: Path) -> None:
    run, crashes = run_with(tmp_path, "timeout-aa")
    recheck_timeouts(run, fake_fuzzer(tmp_path, "sys.exit(0)"), {}, crashes)
    assert not run.failed and run.returncode == 0
    assert "three runs" in run.log.read_text()


def test_an_input_that_burns_cpu_again_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fuzz_bytes, "TIMEOUT", 0.3)
    run, crashes = run_with(tmp_path, "slow-unit-bb")
    recheck_timeouts(run, fake_fuzzer(tmp_path, "import time\nend = time.process_time() + 0.5\n"
                                                "while time.process_time() < end:\n    pass\n"), {}, crashes)
    assert [a.name for a in run.artifacts] == ["slow-unit-bb"] and run.failed
    assert not (crashes / "unreproduced").exists()


def test_an_input_that_fails_on_replay_stays(tmp_path: Path) -> None:
    run, crashes = run_with(tmp_path, "timeout-aa")
    recheck_timeouts(run, fake_fuzzer(tmp_path, "sys.exit(70)"), {}, crashes)
    assert [a.name for a in run.artifacts] == ["timeout-aa"] and run.failed
