"""The qemu board behaves like a real board (issue 14): it sleeps while idle, its Ethernet follows the
link and does DHCP on request, its random numbers come from the host's entropy, and it runs boot.py and
main.py. The emulated STM32F405 (stm32-qemu) sleeps while idle too. Each test starts a board of its own
(they change its network, files or link)."""

from __future__ import annotations

import ast
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from mpremote.transport_serial import SerialTransport

from mpssl_hil.emulators.qemu import QemuBoard
from mpssl_hil.emulators.stm32_qemu import Stm32QemuBoard

IDLE_SECONDS = 5.0


class MonitoredQemuBoard(QemuBoard):
    """A qemu board whose QEMU monitor listens on a Unix socket, to pull the network cable."""

    def __init__(self, firmware: Path, monitor: Path) -> None:
        super().__init__(firmware)
        self.monitor = monitor

    def command(self) -> list[str]:
        command = super().command()
        command[command.index("-monitor") + 1] = f"unix:{self.monitor},server=on,wait=off"
        return command

    def set_link(self, up: bool) -> None:
        with socket.socket(socket.AF_UNIX) as mon:
            mon.settimeout(10)
            mon.connect(str(self.monitor))
            _read_prompt(mon)
            mon.sendall(f"set_link lan9118.0 {'on' if up else 'off'}\n".encode())
            _read_prompt(mon)


def _read_prompt(mon: socket.socket) -> None:
    seen = b""
    while not seen.endswith(b"(qemu) "):
        chunk = mon.recv(4096)
        assert chunk, f"QEMU's monitor closed: {seen!r}"
        seen += chunk


def _cpu_ticks(pid: int) -> int:
    """User plus system CPU time of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _transport(board: QemuBoard) -> SerialTransport:
    transport = SerialTransport(board.serial, baudrate=115200)
    transport.enter_raw_repl(soft_reset=False)
    return transport


def _eval(transport: SerialTransport, source: str, timeout: float = 60) -> str:
    """Runs source in the raw REPL and returns what it printed (an error raises)."""
    out = transport.exec_raw(source, timeout=timeout)
    assert not out[1], out[1].decode(errors="replace")
    return out[0].decode().strip()


# Each emulated board, with the fixture that gives its firmware.
IDLE_BOARDS = {"qemu": (QemuBoard, "qemu_firmware"), "stm32-qemu": (Stm32QemuBoard, "stm32_qemu_firmware")}
# The most of a host core an idle board may use. The qemu board measured 3 to 8 of 500 ticks, loaded or
# not (504 before, when it polled; 156 on a machine so loaded that the polling QEMU got a third of a
# core). The STM32F405 waited in WFI already, but its 1 ms SysTick woke QEMU 1000 times a second: 25-27
# of 500 ticks; with the idle REPL's slow tick, 3-4.
IDLE_SHARE = {"qemu": 1 / 5, "stm32-qemu": 1 / 40}


@pytest.mark.parametrize("kind", IDLE_BOARDS)
def test_an_idle_board_sleeps_and_keeps_time(kind: str, request: pytest.FixtureRequest) -> None:
    """At an idle REPL the board waits in WFI with a slow tick instead of polling or waking every
    millisecond: QEMU uses a few percent of a host core at most (IDLE_SHARE; the figure is printed).
    Its millisecond counter moves on across the idle time and never runs ahead of the host's clock (the
    slow tick's bookkeeping rounds up); it may fall behind on a loaded machine, where QEMU's timer skips
    periods it fires late, slow tick or not."""
    board_type, firmware_fixture = IDLE_BOARDS[kind]
    with board_type(request.getfixturevalue(firmware_fixture)) as board:
        transport = _transport(board)
        try:
            before_first = time.monotonic()
            first = int(_eval(transport, "import time; print(time.ticks_ms())"))
            after_first = time.monotonic()
            transport.exit_raw_repl()  # the friendly REPL, idle as a user leaves it
            time.sleep(1)  # past the REPL's short waits into its deep sleep
            tck = os.sysconf("SC_CLK_TCK")
            cpu_before, at = _cpu_ticks(board.pid or 0), time.monotonic()
            time.sleep(IDLE_SECONDS)
            used, wall = _cpu_ticks(board.pid or 0) - cpu_before, (time.monotonic() - at) * tck
            print(f"idle REPL: {kind}'s QEMU used {used} of {wall:.0f} CPU ticks over {IDLE_SECONDS} s")
            assert used < wall * IDLE_SHARE[kind], f"the idle board used {used} of {wall:.0f} ticks: it polls"
            transport.enter_raw_repl(soft_reset=False)
            before_second = time.monotonic()
            second = int(_eval(transport, "print(time.ticks_ms())"))
            after_second = time.monotonic()
        finally:
            transport.close()
    elapsed = (second - first) & 0x3FFFFFFF  # ticks_ms wraps at 2**30
    slack = 50  # ms: the deep sleep rounds each change of tick period up to a millisecond
    print(f"ticks_ms moved {elapsed} ms while the host's clock moved {(before_second - after_first) * 1000:.0f}"
          f" to {(after_second - before_first) * 1000:.0f} ms")
    assert 0 < elapsed <= (after_second - before_first) * 1000 + slack


def test_sleep_select_and_sockets_still_wake_in_time(qemu_firmware: Path) -> None:
    """Waits that now sleep in WFI still end when they should: time.sleep measures its time, select.poll
    times out on time, and returns when a datagram arrives (woken by the Ethernet interrupt), long
    before its timeout."""
    with QemuBoard(qemu_firmware) as board:
        transport = _transport(board)
        host_port = int(board.forwards.describe()["udp:4433"].rsplit(":", 1)[1])
        try:
            _eval(transport, (
                "import time, network, socket, select\n"
                "lan = network.LAN(); lan.active(True)\n"
                "t = time.ticks_ms()\n"
                "while not lan.isconnected() and time.ticks_diff(time.ticks_ms(), t) < 15000: time.sleep_ms(10)\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "s.bind(('0.0.0.0', 4433))\n"
                "p = select.poll(); p.register(s, select.POLLIN)\n"
            ))
            waits = _eval(transport, (
                "t = time.ticks_ms(); time.sleep(0.5); slept = time.ticks_diff(time.ticks_ms(), t)\n"
                "t = time.ticks_ms(); p.poll(300); timed_out = time.ticks_diff(time.ticks_ms(), t)\n"
                "print(lan.isconnected(), slept, timed_out)\n"
            ))
            sender = threading.Timer(1.0, _send_datagram, (host_port,))
            sender.start()
            try:
                woken = _eval(transport, (
                    "t = time.ticks_ms(); ready = p.poll(60000); waited = time.ticks_diff(time.ticks_ms(), t)\n"
                    "print(len(ready), s.recv(64), waited)\n"
                ), timeout=90)
            finally:
                sender.cancel()
        finally:
            transport.close()
    connected, slept, timed_out = waits.split()
    assert connected == "True"
    assert 500 <= int(slept) < 1500 and 300 <= int(timed_out) < 1500, waits
    count, data, waited = woken.split()
    assert (count, data) == ("1", "b'wake'") and int(waited) < 30000, woken


def _send_datagram(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"wake", ("127.0.0.1", port))


def test_boot_py_and_main_py_run(qemu_firmware: Path) -> None:
    """boot.py runs after every reset; main.py only when the friendly REPL follows, as on other boards (a
    tool's soft reset from the raw REPL skips it)."""
    with QemuBoard(qemu_firmware) as board:
        transport = _transport(board)
        try:
            _eval(transport, (
                "log = 'f = open(\"runs\", \"a\"); f.write(\"%s \"); f.close()\\n'\n"
                "open('boot.py', 'w').write('print(\"BOOT-PY-RAN\")\\n' + log % 'boot')\n"
                "open('main.py', 'w').write('print(\"MAIN-PY-RAN\")\\n' + log % 'main')\n"
            ))
            transport.exit_raw_repl()
            transport.read_until(1, b">>> ", timeout=30)  # the friendly REPL's banner
            transport.serial.write(b"\x04")  # soft reset from the friendly REPL
            friendly = transport.read_until(1, b"soft reboot", timeout=30)
            friendly = (friendly + transport.read_until(1, b">>> ", timeout=30)).decode(errors="replace")
            transport.enter_raw_repl(soft_reset=True)  # soft reset from the raw REPL, as tools do
            runs = _eval(transport, "print(open('runs').read())")
        finally:
            transport.close()
    assert "BOOT-PY-RAN" in friendly and "MAIN-PY-RAN" in friendly, friendly
    assert friendly.index("BOOT-PY-RAN") < friendly.index("MAIN-PY-RAN") < friendly.index(">>> ")
    assert runs.split() == ["boot", "main", "boot"], runs


def test_os_urandom_and_random_seed_differ_between_boots(qemu_firmware: Path) -> None:
    """os.urandom exists and random's seed comes from the host's entropy: two boots of the same image
    see different numbers (the port's fixed seed gave the same sequence every time)."""
    draws = []
    for _ in range(2):
        with QemuBoard(qemu_firmware) as board:
            transport = _transport(board)
            try:
                draws.append(_eval(transport, (
                    "import os, random\n"
                    "a, b = os.urandom(16), os.urandom(16)\n"
                    "print(a.hex(), b.hex(), random.getrandbits(32), len(os.urandom(0)))\n"
                )).split())
            finally:
                transport.close()
    for urandom_a, urandom_b, _, empty in draws:
        assert len(urandom_a) == 32 and urandom_a != urandom_b and empty == "0"
    assert draws[0][0] != draws[1][0], "os.urandom repeats across boots"
    assert draws[0][2] != draws[1][2], "random's seed repeats across boots"


def test_lan_follows_the_link_and_does_dhcp_on_request(qemu_firmware: Path, tmp_path: Path) -> None:
    """The cable is out when the interface comes up: no link, no address. Plugged in later, the board
    notices and gets its address by DHCP. ifconfig('dhcp') after a static address succeeds (it waited
    while holding lwIP's lock before, so the replies were never processed). active(True) on an active
    interface leaves it alone (no chip reset, no new DHCP exchange). The driver's counters show traffic
    and no losses."""
    board = MonitoredQemuBoard(qemu_firmware, tmp_path / "monitor.sock")
    with board:
        transport = _transport(board)
        try:
            board.set_link(False)
            unplugged = _eval(transport, (
                "import time, network\n"
                "lan = network.LAN(); lan.active(True); time.sleep(1)\n"
                "print(lan.status(), lan.isconnected())\n"
            ))
            board.set_link(True)
            plugged = _eval(transport, (
                "t = time.ticks_ms()\n"
                "while not lan.isconnected() and time.ticks_diff(time.ticks_ms(), t) < 15000: time.sleep_ms(10)\n"
                "print(lan.status(), lan.isconnected(), lan.ipconfig('addr4')[0])\n"
            ))
            dhcp = _eval(transport, (
                "lan.ipconfig(dhcp4=False)\n"
                "lan.ifconfig(('10.0.2.30', '255.255.255.0', '10.0.2.2', '10.0.2.3'))\n"
                "static = lan.ipconfig('addr4')[0]\n"
                "lan.ifconfig('dhcp')\n"
                "print(static, lan.ifconfig()[0], lan.ipconfig('has_dhcp4'))\n"
            ))
            again = _eval(transport, (
                "time.sleep(1); sent = lan.stats()['tx_frames']\n"
                "lan.active(True); time.sleep(1)\n"
                "print(lan.isconnected(), lan.stats()['tx_frames'] - sent)\n"
            ))
            stats = ast.literal_eval(_eval(transport, "print(lan.stats())"))
        finally:
            transport.close()
    assert unplugged == "0 False", unplugged
    assert plugged == "3 True 10.0.2.15", plugged
    assert dhcp == "10.0.2.30 10.0.2.15 True", dhcp
    assert again == "True 0", "active(True) on an active interface restarted it"
    assert stats["tx_frames"] > 0 and stats["rx_frames"] > 0, stats
    assert stats["tx_errors"] == stats["tx_full"] == stats["rx_errors"] == stats["rx_dropped"] == 0, stats
    assert stats["rx_overruns"] == 0, stats
