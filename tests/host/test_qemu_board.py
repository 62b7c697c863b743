"""Runner self-tests against the emulated board (it starts its own QEMU; `--target` without qemu skips
them, `--target qemu` without the firmware fails them). By hand, as README describes it: `mpssl-qemu
--json` prints where its REPL is and how the board reaches the host, and mpremote talks to it there,
clock setting included; recovery ends in a power cycle; network.LAN on a board of its own."""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from mpssl_hil.emulators.qemu import QemuBoard
from mpssl_hil.plugin import prepare_networked_board, qemu_board_target


def test_mpssl_qemu_json_and_mpremote(qemu_firmware: Path) -> None:
    firmware = qemu_firmware
    command = Path(sys.executable).parent / "mpssl-qemu"
    proc = subprocess.Popen([str(command), "--json", "--firmware", str(firmware)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["serial"].startswith("/dev/pts/") and info["host_address"] == "10.0.2.2"
        assert {"tcp:4433", "udp:4433"} <= info["forwards"].keys()
        out = subprocess.run([str(Path(sys.executable).parent / "mpremote"), "connect", info["serial"], "exec",
                              "import ssl, tls, sys; print(sys.platform, ssl is tls, ssl.MBEDTLS_VERSION)"],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.split()[:4] == ["qemu", "True", "Mbed", "TLS"], out
        # `mpremote rtc --set` writes the host's local time into machine.RTC; time.time() follows it.
        mpremote = str(Path(sys.executable).parent / "mpremote")
        set_at = calendar.timegm(time.localtime())
        subprocess.run([mpremote, "connect", info["serial"], "rtc", "--set"], check=True, timeout=60)
        shown = subprocess.run([mpremote, "connect", info["serial"], "exec",
                                "import time, machine; print(time.time(), machine.RTC().datetime())"],
                               capture_output=True, text=True, timeout=60, check=True).stdout.split(maxsplit=1)
        read_at = calendar.timegm(time.localtime())
        # The board's clock lies between the host's before the set and after the read (each mpremote
        # call can take seconds on a loaded machine), give or take the RTC's one-second steps.
        assert set_at - 1 <= int(shown[0]) <= read_at + 1, (set_at, shown, read_at)
        assert shown[1].startswith(f"({time.localtime().tm_year}, "), shown
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_board_that_dies_mid_run_is_power_cycled_and_the_run_retried(qemu_firmware: Path, tmp_path: Path) -> None:
    """The board's process is killed while a script runs: the link breaks, the recovery ladder ends in a
    power cycle (a new QEMU), the board is prepared again (network, clock), and the run is retried once
    and reported as retried."""
    script = tmp_path / "slow_script.py"
    script.write_text("import time\nprint('started')\ntime.sleep(2)\nprint('RESULT {\"ok\": true}')\n")
    with QemuBoard(qemu_firmware) as board:
        target = qemu_board_target(board)
        target.workdir_root = tmp_path
        target.transcript = tmp_path / "logs" / "qemu.log"  # what --board-log-dir sets per test
        with target.idle_transport() as transport:
            prepare_networked_board(transport)
        first_pid = board.pid
        power_loss = threading.Timer(1.0, board.cut_power)
        power_loss.start()
        try:
            result = target.run(script, timeout=120).check()  # recovery and the retry, on a loaded machine
        finally:
            power_loss.cancel()
            target.close()
        assert result.result() == {"ok": True}
        assert board.starts == 2 and board.pid != first_pid, "the emulator was restarted"
        assert result.retried_after is not None and "hard reset: the board answers" in result.retried_after
        assert target.retries == [f"slow_script.py: {result.retried_after}"]
        assert target.health.quarantined is None
    transcript = target.transcript.read_text()
    assert transcript.count("import slow_script") == 2, "both attempts are in the board's transcript"
    assert "ARGS = {}" in transcript and "started" in transcript and "RESULT {\"ok\": true}" in transcript
    assert f"=== retried slow_script.py after: {result.retried_after}" in transcript


def test_lan_interface_up_down_static(qemu_firmware: Path, tmp_path: Path) -> None:
    """network.LAN on its own board (it changes the address): DHCP, down and up again, a static
    address through ifconfig(), and clear errors for bad arguments."""
    scripts = Path(__file__).parents[1] / "device" / "scripts"
    with QemuBoard(qemu_firmware) as board:
        target = qemu_board_target(board)
        target.workdir_root = tmp_path
        try:
            result = target.run(scripts / "lan_interface.py", timeout=60).check().result()
        finally:
            target.close()
    assert result["same_object"] and len(result["mac"]) == 12 and result["mac"] != "000000000000"
    assert result["dhcp"] and result["up"] == [True, 3, "10.0.2.15"]
    assert result["down"] == [False, 0, False]
    assert result["dhcp_again"]
    assert result["static"] == ["10.0.2.30", True]
    assert result["errors"] == ["ValueError", "ValueError", "TypeError"]
