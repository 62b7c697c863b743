"""The emulated board by hand, as README describes it: `mpssl-qemu --json` prints where its REPL
is and how the board reaches the host, and mpremote talks to it there, clock setting included."""

from __future__ import annotations

import calendar
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


def test_mpssl_qemu_json_and_mpremote(pytestconfig: pytest.Config) -> None:
    firmware = pytestconfig.rootpath / "build" / "qemu-MPS2_AN385" / "firmware.elf"
    if not firmware.is_file() or shutil.which("qemu-system-arm") is None:
        pytest.skip("no build/qemu-MPS2_AN385/firmware.elf or qemu-system-arm: run `make firmware PORT=qemu`")
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
        subprocess.run([mpremote, "connect", info["serial"], "rtc", "--set"], check=True, timeout=60)
        shown = subprocess.run([mpremote, "connect", info["serial"], "exec",
                                "import time, machine; print(time.time(), machine.RTC().datetime())"],
                               capture_output=True, text=True, timeout=60, check=True).stdout.split(maxsplit=1)
        host_local = calendar.timegm(time.localtime())
        assert abs(int(shown[0]) - host_local) <= 5, shown
        assert shown[1].startswith(f"({time.localtime().tm_year}, "), shown
    finally:
        proc.terminate()
        proc.wait(10)
