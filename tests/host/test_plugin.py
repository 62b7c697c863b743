"""The pytest plugin seen from a test suite that uses it (run in-process with pytester)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from mpssl_hil.plugin import NO_MICROPYTHON

DEVICE_TESTS = """
import pytest

@pytest.mark.needs_micropython
def test_marked():
    pass

def test_fixture(micropython_bin):
    pass

def test_target(unix_target, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("from test_args import ARGS\\nprint('RESULT', ARGS['n'])\\n")
    assert unix_target.run(script, {"n": 5}).check().result() == 5

def test_free_port(free_port):
    assert 0 < free_port("udp") < 65536
"""


def test_missing_binary_skips_with_one_grouped_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest("--micropython", str(pytester.path / "nope"), "-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines([f"SKIPPED [[]3[]] *{NO_MICROPYTHON}"])


def test_binary_option_feeds_the_unix_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest("--micropython", sys.executable)
    result.assert_outcomes(passed=4)


def test_peer_fixtures_and_log_dir(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from mpssl_hil.peers import DtlsClient, tls_client_exchange

        def test_peers(pki, tls_server, dtls_server, peer_log_dir):
            tls = tls_server(pki.server_ec.chain, pki.server_ec.key)
            echoed, _, _, _ = tls_client_exchange("127.0.0.1", tls.port, pki.root_ca.cert, "localhost", b"hi")
            assert echoed == b"hi"
            dtls = dtls_server(pki.server_ec.chain, pki.server_ec.key)
            with DtlsClient("127.0.0.1", dtls.port, cafile=pki.root_ca.cert, server_hostname="localhost",
                            log_dir=peer_log_dir) as client:
                assert client.exchange(b"hi\\n").received == b"hi\\n"
        """
    )
    logs = pytester.path / "logs"
    pytester.runpytest("--peer-log-dir", str(logs)).assert_outcomes(passed=1)
    names = sorted(p.name for p in logs.rglob("*.log"))
    assert names == ["dtls_client.log", "dtls_server.log", "tls_echo_server.log"]


SELECTED_TESTS = """
import pytest

def test_runs(target):
    assert target.name == "unix"

@pytest.mark.needs("dtls")
def test_needs_dtls(target):
    pass

@pytest.mark.port("rp2", "esp32")
def test_for_boards(target):
    pass
"""


def test_a_bad_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SELECTED_TESTS)
    result = pytester.runpytest("--target", "esp32")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown target 'esp32': --target takes unix, qemu, rp2040js, stm32-qemu, port:*"])


def test_selected_targets_markers_and_junit_properties(pytester: pytest.Pytester) -> None:
    """CPython stands in for the unix build: it has no DTLS and is not an rp2 or esp32 board."""
    pytester.makepyfile(SELECTED_TESTS)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("--micropython", sys.executable, "--target", "unix", "-rs", f"--junitxml={junit}")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*unix lacks dtls*", "*unix is a unix board; the test is for rp2, esp32*"])
    cases = {case.get("name"): case for case in ElementTree.parse(junit).iter("testcase")}
    assert set(cases) == {"test_runs[unix]", "test_needs_dtls[unix]", "test_for_boards[unix]"}
    properties = {p.get("name"): p.get("value") for p in cases["test_runs[unix]"].iter("property")}
    assert properties["board"] == "unix" and properties["port"] == str(Path(sys.executable).resolve())
    assert properties["family"] == "unix"
    assert properties["micropython"] == ".".join(map(str, sys.version_info[:3]))
    assert {"firmware", "mpssl", "mbedtls", "capabilities"} <= properties.keys()


def test_only_selected_kinds_run_their_own_tests(pytester: pytest.Pytester) -> None:
    """The unix build's own tests (unix_target, or micropython_bin without a target: valgrind, upstream's
    suites) do not run when --target leaves unix out."""
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest("--micropython", sys.executable, "--target", "qemu", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*SKIPPED [[]2] *unix is not among the selected targets (--target)*"])


def test_rig_boards_become_targets_and_an_absent_board_fails(pytester: pytest.Pytester) -> None:
    """A board the rig names is asked for: absent, its tests fail and say what is missing."""
    pytester.makepyfile(SELECTED_TESTS)
    rig = pytester.path / "rig.toml"
    rig.write_text('[[board]]\nname = "pico-1"\nport = "/dev/mpssl-no-such-port"\nfamily = "rp2"\n')
    result = pytester.runpytest("--micropython", sys.executable, "--target", "unix", "--rig", str(rig), "-rs",
                                "-k", "test_runs")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*port:/dev/mpssl-no-such-port: the board's serial port cannot be opened: *"
                                 "mpssl-no-such-port*is it connected?*"])


NETWORKED_TESTS = """
import pytest

@pytest.mark.needs("network")
def test_talks_to_peers(target):
    assert target.host_address

def test_offline(target):
    pass
"""


def test_named_emulator_without_firmware_fails_every_test_that_needs_it(pytester: pytest.Pytester) -> None:
    """`--target qemu` on a checkout without the qemu firmware: errors that say what is missing, exit 1."""
    pytester.makepyfile(NETWORKED_TESTS)
    result = pytester.runpytest("--target", "qemu", "--qemu-firmware", str(pytester.path / "none.elf"), "-rE")
    result.assert_outcomes(errors=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*qemu was named (--target/--rig) but cannot be used: *none.elf*"])


def test_named_stm32_qemu_without_firmware_fails_and_says_how_to_build_it(pytester: pytest.Pytester) -> None:
    """`--target stm32-qemu` without its firmware: the offline test errors (naming the build command); the
    networked one has no target to run on (a target without a network), so pytest skips its empty set."""
    pytester.makepyfile(NETWORKED_TESTS)
    result = pytester.runpytest("--target", "stm32-qemu", "--stm32-qemu-firmware", str(pytester.path / "none.elf"),
                                "-rE")
    result.assert_outcomes(errors=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*stm32-qemu was named (--target/--rig) but cannot be used: *none.elf*"
                                 "make firmware PORT=stm32 BOARD=QEMU_NETDUINO_PLUS_2*"])


def test_named_unix_without_binary_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NETWORKED_TESTS)
    result = pytester.runpytest("--target", "unix", "--micropython", str(pytester.path / "nope"))
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([f"*--target unix was named but cannot be used: {NO_MICROPYTHON}*"])


def test_default_targets_skip_what_is_missing_with_the_reason(pytester: pytest.Pytester) -> None:
    """Without --target the emulated set runs, and a missing emulator or build is a skip with its reason;
    rp2040js (no network) is not even offered the networked test."""
    pytester.makepyfile(NETWORKED_TESTS)
    result = pytester.runpytest("--micropython", str(pytester.path / "nope"), "--qemu-firmware",
                                str(pytester.path / "none.elf"), "--rp2040-firmware", str(pytester.path / "none.uf2"),
                                "--stm32-qemu-firmware", str(pytester.path / "none-stm32.elf"), "-rs", "-v")
    result.assert_outcomes(skipped=6 if shutil.which("qemu-system-arm") else 5)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_talks_to_peers[[]unix[]]*", "*test_talks_to_peers[[]qemu[]]*",
                                 "*test_offline[[]rp2040js[]]*"])
    result.stdout.no_fnmatch_line("*test_talks_to_peers[[]rp2040js[]]*")
    result.stdout.fnmatch_lines([f"*{NO_MICROPYTHON}*", "*qemu: *none.elf*"])


UNDECLARED_NETWORK_TEST = """
import pytest

@pytest.mark.needs("network")
def test_declared(target):
    assert target.host_address == "127.0.0.1"

def test_undeclared(target):
    target.host_address
"""


def test_a_test_that_reaches_the_host_peers_without_needs_network_fails_on_every_target(
        pytester: pytest.Pytester) -> None:
    """On unix too, where the host peers are reachable, so the missing marker shows before a board
    without a network (stm32-qemu, rp2040js) fails the test instead of skipping it."""
    pytester.makepyfile(UNDECLARED_NETWORK_TEST)
    result = pytester.runpytest("--micropython", sys.executable, "--target", "unix")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['*UndeclaredNeed: the test uses the host peers*not marked needs("network")*'])


def test_a_named_board_without_host_ip_fails_networked_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NETWORKED_TESTS)
    result = pytester.runpytest("--target", "port:/dev/mpssl-no-such-port", "-k", "talks")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*give --host-ip, the address the board reaches this host by*"])


def test_a_bad_rig_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SELECTED_TESTS)
    rig = pytester.path / "rig.toml"
    rig.write_text("[[board]]\nnmae = 'typo'\n")
    result = pytester.runpytest("--rig", str(rig))
    assert result.ret == pytest.ExitCode.USAGE_ERROR


PEER_HOST_TEST = """
def test_peer_host(tls_server, pki):
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    print("PEER_HOST", server.host)
"""


@pytest.mark.parametrize(("options", "host"), [((), "127.0.0.1"), (("--host-ip", "192.0.2.7"), "0.0.0.0")])
def test_peers_listen_on_loopback_unless_boards_reach_the_host_over_a_network(
        pytester: pytest.Pytester, options: tuple[str, ...], host: str) -> None:
    pytester.makepyfile(PEER_HOST_TEST)
    result = pytester.runpytest("-s", *options)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*PEER_HOST {host}"])
