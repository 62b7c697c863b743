"""UnixTarget's contract, exercised with CPython standing in for the micropython binary: CPython also
puts the script's directory first on sys.path, so `from test_args import ARGS` works the same way."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from mpssl_hil.board.faketime import FaketimeUnavailable, find_libfaketime
from mpssl_hil.board.target import RunResult, UnixTarget

PYTHON = Path(sys.executable)


def script(tmp_path: Path, source: str, name: str = "script.py") -> Path:
    path = tmp_path / "scripts" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    return path


@pytest.fixture
def target(tmp_path: Path) -> UnixTarget:
    return UnixTarget(PYTHON, workdir_root=tmp_path)


ECHO_ARGS = """
import json, os
from test_args import ARGS
out = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in ARGS.items()}
out["ca_text"] = open(ARGS["ca"]).read()
out["cwd_has_args"] = os.path.exists("test_args.py")
out["micropypath"] = os.environ["MICROPYPATH"]
print("RESULT " + json.dumps(out))
"""


def test_args_and_files_reach_the_script(target: UnixTarget, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    args = {"s": "x", "n": 3, "b": b"\x00\xff", "t": True, "none": None, "l": [1, "a"], "d": {"k": [2]}}
    result = target.run(script(tmp_path, ECHO_ARGS), args, files={"ca": ca}).check()
    out = result.result()
    assert out["s"] == "x" and out["n"] == 3 and out["b"] == "00ff" and out["t"] is True
    assert out["none"] is None and out["l"] == [1, "a"] and out["d"] == {"k": [2]}
    assert out["ca"] == str(ca.resolve()) and out["ca_text"] == "PEM"
    assert out["cwd_has_args"]
    assert out["micropypath"].endswith(":.frozen")


def test_a_key_cannot_be_both_argument_and_file(target: UnixTarget, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both"):
        target.run(script(tmp_path, ECHO_ARGS), {"ca": 1}, files={"ca": tmp_path})


def test_args_must_be_literals_micropython_can_read(target: UnixTarget, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"ARGS\['l'\]\[0\] is a PosixPath"):
        target.run(script(tmp_path, ECHO_ARGS), {"l": [tmp_path]})


def test_results_parses_every_result_line(target: UnixTarget, tmp_path: Path) -> None:
    source = 'print("noise")\nprint("RESULT " + \'{"i": 1}\')\nprint("RESULT [2]")\n'
    result = target.run(script(tmp_path, source)).check()
    assert result.results() == [{"i": 1}, [2]]
    assert result.result() == [2]


def test_result_without_result_line_shows_output() -> None:
    with pytest.raises(AssertionError, match="printed no RESULT line(.|\n)*just noise"):
        RunResult("just noise\n", "", 0, False, "s.py").result()


def test_check_shows_the_traceback(target: UnixTarget, tmp_path: Path) -> None:
    result = target.run(script(tmp_path, "print('before')\nraise ValueError('boom')\n"))
    assert result.returncode != 0 and not result.timed_out
    with pytest.raises(AssertionError, match="exited with 1(.|\n)*before(.|\n)*ValueError: boom"):
        result.check()


def test_timeout_kills_the_script(target: UnixTarget, tmp_path: Path) -> None:
    result = target.run(script(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(60)\n"),
                        timeout=0.5)
    assert result.timed_out
    assert "started" in result.stdout
    with pytest.raises(AssertionError, match="timed out"):
        result.check()


def test_background_script_can_be_waited_for_and_killed(target: UnixTarget, tmp_path: Path) -> None:
    running = target.start(script(tmp_path, "import time\nprint('LISTENING', flush=True)\ntime.sleep(60)\n"))
    running.wait_for_output("LISTENING")
    assert running.running()
    result = running.kill()
    assert not running.running()
    assert "LISTENING" in result.stdout and not result.timed_out


def test_background_script_result(target: UnixTarget, tmp_path: Path) -> None:
    running = target.start(script(tmp_path, 'from test_args import ARGS\nprint("RESULT", ARGS["n"])\n'),
                           {"n": 7})
    assert running.wait(30).check().result() == 7


def test_every_run_gets_a_fresh_working_directory(target: UnixTarget, tmp_path: Path) -> None:
    source = "import os\nprint('RESULT \"' + os.getcwd() + '\"')\nopen('left_behind', 'w').close()\n"
    first = target.run(script(tmp_path, source)).check().result()
    second = target.run(script(tmp_path, source)).check().result()
    assert first != second


def test_host_address_is_loopback(target: UnixTarget) -> None:
    assert target.host_address == "127.0.0.1"
    assert target.name == "unix"


def faketime_available() -> bool:
    try:
        find_libfaketime()
    except FaketimeUnavailable:
        return False
    return True


needs_faketime = pytest.mark.skipif(not faketime_available(), reason="libfaketime is not installed")
PRINT_TIME = "import time\nprint('RESULT', time.time())\n"


@needs_faketime
def test_faketime_absolute_date(tmp_path: Path) -> None:
    target = UnixTarget(PYTHON, faketime="@2020-01-01 00:00:00", workdir_root=tmp_path)
    timestamp = target.run(script(tmp_path, PRINT_TIME)).check().result()
    seen = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    assert (seen.year, seen.month, seen.day) == (2020, 1, 1)


@needs_faketime
def test_faketime_relative_shift(tmp_path: Path) -> None:
    target = UnixTarget(PYTHON, faketime="-400d", workdir_root=tmp_path)
    seen = target.run(script(tmp_path, PRINT_TIME)).check().result()
    real = dt.datetime.now(dt.timezone.utc).timestamp()
    assert 399 * 86400 < real - seen < 401 * 86400


def test_missing_libfaketime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mpssl_hil.board.faketime._candidates", lambda: [Path("/nonexistent/libfaketime.so.1")])
    with pytest.raises(FaketimeUnavailable, match="faketime"):
        UnixTarget(PYTHON, faketime="-1d")
