"""The sanitizer plugin (make test-sanitize) seen from a test suite, with CPython scripts standing in for a
sanitized MicroPython that writes reports where ASan (its log_path) and UBSan (stderr) write them."""

from __future__ import annotations

import sys

import pytest

FAKE_REPORTS = f"""
import os
import pytest
from pathlib import Path
from mpssl_hil.board.target import UnixTarget

ASAN = '''
import os, sys
path = dict(o.split("=", 1) for o in os.environ["ASAN_OPTIONS"].split(":"))["log_path"]
with open(f"{{path}}.{{os.getpid()}}", "w") as f:
    f.write("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\\\\n")
sys.exit(1)
'''
UBSAN = "import sys; sys.stderr.write('../../py/obj.c:12:5: runtime error: shift exponent 70\\\\n')"

def run(tmp_path, source):
    script = tmp_path / "s.py"
    script.write_text(source)
    return UnixTarget(Path({sys.executable!r}), workdir_root=tmp_path).run(script)

def test_asan_report_in_a_run_whose_failure_is_accepted(tmp_path):
    assert run(tmp_path, ASAN).returncode != 0

def test_ubsan_report_on_stderr_of_a_run_that_exits_0(tmp_path):
    run(tmp_path, UBSAN).check()

@pytest.mark.xfail(reason="known difference")
def test_asan_report_in_an_expected_failure(tmp_path):
    assert run(tmp_path, ASAN).returncode == 0

def test_clean(tmp_path):
    assert run(tmp_path, "print('RESULT 1')").check().result() == 1

def test_zz_environment_of_this_test_only():  # after the others: their log_path was taken out again
    options = os.environ["ASAN_OPTIONS"]
    assert options.startswith("halt_on_error=1:log_path=") and options.count(":log_path=") == 1, options
    assert "test_zz_environment_of_this_test_only" in options, options
"""


def test_each_report_fails_its_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASAN_OPTIONS", "halt_on_error=1")
    pytester.makepyfile(FAKE_REPORTS)
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("-p", "mpssl_hil.suites.sanitizers", f"--sanitizer-reports={reports}")
    result.assert_outcomes(failed=3, passed=2)
    result.stdout.fnmatch_lines(["*sanitizer report(s) during call:*", "*ERROR: AddressSanitizer: heap-use-after-free*",
                                 "*stderr.txt ---", "*runtime error: shift exponent 70*"])
    assert len(list(reports.rglob("asan.*"))) == 2


def test_without_the_plugin_those_tests_pass(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASAN_OPTIONS", f"log_path={pytester.path / 'asan'}")
    pytester.makepyfile(FAKE_REPORTS)
    pytester.runpytest_subprocess("-k", "not environment").assert_outcomes(passed=3, xfailed=1)

