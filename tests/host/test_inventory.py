"""inventory.py, board_probe.py and usb_ids.py against fake serial port listings and fake boards: the
probe's MicroPython code runs in CPython with stand-in modules (fake_micropython_board.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_micropython_board import FakeBoard, FakePort, board_modules, fake_ssl
from mpremote.transport import TransportError

from mpssl_hil.board.probe import ProbeFailed, parse_probe_output, probe_board
from mpssl_hil.board.usb_ids import identify_usb, vid_pid
from mpssl_hil.rig import inventory
from mpssl_hil.rig.inventory import Rig, RigError, discover_boards, format_table

ROOT = Path(__file__).resolve().parents[2]
PICO_SERIAL = "E6614C311B7D5A2B"


class FakeSerialPorts:
    """The host's serial ports: a listing, and boards behind some of them (opening others fails)."""

    def __init__(self, ports: list[FakePort], boards: dict[str, FakeBoard]) -> None:
        self.ports = ports
        self.boards = boards
        self.opened: list[str] = []

    def list_ports(self) -> list[FakePort]:
        return list(self.ports)

    def open(self, device: str) -> FakeBoard:
        self.opened.append(device)
        if device not in self.boards:
            raise OSError(16, "Device or resource busy")
        return self.boards[device]


def test_probe_reads_versions_and_capabilities_without_resetting() -> None:
    board = FakeBoard()
    probe = probe_board(board)
    assert (probe.platform, probe.family, probe.micropython, probe.mpssl) == ("rp2", "rp2", "1.28.0", "0.1.0")
    assert probe.build == "v1.28.0 on 2026-11-26"
    assert probe.capabilities == {"dtls", "wlan", "rtc"}
    assert not board.in_raw_repl, "the raw REPL is left after the probe"


@pytest.mark.parametrize(("ssl_module", "has_tls13"), [
    (fake_ssl(ciphers=("TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",)), False),
    (fake_ssl(ciphers=("TLS1-3-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256")), True),
    (fake_ssl(ciphers=("TLS1-3-AES-128-GCM-SHA256",), HAS_TLSv1_3=False), False),  # the constant wins
    (fake_ssl(ciphers=None, HAS_TLSv1_3=True), True),
])
def test_tls13_is_what_the_module_offers(ssl_module: object, has_tls13: bool) -> None:
    probe = probe_board(FakeBoard(board_modules(ssl=ssl_module)))  # type: ignore[arg-type]
    assert ("tls13" in probe.capabilities) is has_tls13


def test_firmware_without_mpssl_and_without_network_or_rtc() -> None:
    """Upstream's ssl.py: DTLS constants, no __version__, no get_ciphers (the failure is kept as a note)."""
    modules = board_modules(platform="pyboard", ssl=fake_ssl(version=None, ciphers=None), network=None, rtc=False)
    probe = probe_board(FakeBoard(modules))
    assert probe.mpssl is None
    assert probe.family == "stm32"
    assert probe.capabilities == {"dtls"}
    assert probe.ssl_problem is not None and "get_ciphers" in probe.ssl_problem


def test_lan_board() -> None:
    probe = probe_board(FakeBoard(board_modules(platform="pyboard", network=("LAN",))))
    assert probe.capabilities == {"dtls", "lan", "rtc"}


def test_a_silent_board_and_garbage_answers_raise_probe_failed() -> None:
    with pytest.raises(ProbeFailed, match="could not enter raw repl"):
        probe_board(FakeBoard(answers=False))
    with pytest.raises(ProbeFailed, match="not the probe's dict"):
        parse_probe_output(b"Traceback (most recent call last):\r\n")
    with pytest.raises(ProbeFailed, match="the probe raised on the board: ImportError: no module named 'sys'"):
        probe_board(FakeBoard(board_modules() | {"sys": None}))


@pytest.mark.parametrize(("vid", "pid", "family", "link"), [
    (0x2E8A, 0x0005, "rp2", "native"),
    (0xF055, 0x9800, "stm32", "native"),
    (0xF055, 0x9802, "unknown", "native"),  # stm32, samd, nrf and mimxrt share it
    (0x0483, 0x374B, "stm32", "st-link"),
    (0x303A, 0x1001, "esp32", "usb-serial-jtag"),
    (0x303A, 0x4001, "esp32", "native"),
    (0x303A, 0x8123, "esp32", "native"),  # any Espressif id
    (0x10C4, 0xEA60, "esp32", "bridge"),
    (0x1A86, 0x7523, "esp32", "bridge"),
    (0x0403, 0x6001, "unknown", "bridge"),
])
def test_usb_ids(vid: int, pid: int, family: str, link: str) -> None:
    identity = identify_usb(vid, pid)
    assert identity is not None and (identity.family, identity.link) == (family, link)


def test_unknown_and_missing_usb_ids() -> None:
    assert identify_usb(0x1234, 0x5678) is None
    assert identify_usb(None, None) is None
    assert vid_pid(0x2E8A, 5) == "2e8a:0005"
    assert vid_pid(None, 5) is None


def write_rig(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


def test_the_example_rig_file_loads() -> None:
    rig = Rig.load(ROOT / "tools" / "rig.example.toml")
    assert len(rig.boards) >= 3
    assert {b.family for b in rig.boards} >= {"rp2", "esp32", "stm32"}
    for board in rig.boards:
        assert rig.find(board.name) is board
        assert board.firmware is None or board.firmware.name.startswith("firmware")


def test_rig_load_find_and_overrides(tmp_path: Path) -> None:
    path = write_rig(tmp_path, f"""
[[board]]
name = "pico-w"
serial_number = "{PICO_SERIAL}"
family = "rp2"
flash_method = "picotool"
firmware = "build/rp2-RPI_PICO_W/firmware.uf2"
capabilities = {{ lan = true, dtls = false }}

[[board]]
name = "nucleo"
port = "/dev/ttyACM3"
""")
    rig = Rig.load(path)
    pico = rig.find(PICO_SERIAL)
    assert pico is not None and pico is rig.find("pico-w")
    assert pico.firmware == tmp_path / "build/rp2-RPI_PICO_W/firmware.uf2"
    assert pico.apply_overrides(frozenset({"dtls", "wlan"})) == {"wlan", "lan"}
    assert rig.find("/dev/ttyACM3") is rig.find("nucleo")
    assert rig.find("nothing") is None
    assert rig.board_for("/dev/ttyACM9", PICO_SERIAL) is pico, "found by serial number whatever the port"
    assert rig.board_for("/dev/ttyACM3", "OTHER") is rig.find("nucleo")
    assert rig.board_for("/dev/ttyACM0", None) is None


@pytest.mark.parametrize(("text", "message"), [
    ('[[board]]\nname = "a"\nport = "/dev/x"\nflsh_method = "uf2"\n', r"unknown key\(s\) flsh_method"),
    ('[[board]]\nport = "/dev/x"\n', "needs a name"),
    ('[[board]]\nname = "a"\n', "serial_number \\(preferred\\) or port"),
    ('[[board]]\nname = "a"\nport = "/dev/x"\nflash_method = "jtag"\n', "flash_method 'jtag' is not one of"),
    ('[[board]]\nname = "a"\nport = "/dev/x"\ncapabilities = { dtls = "yes" }\n', "name = true/false"),
    ('[[board]]\nname = "a"\nport = "/dev/x"\n[[board]]\nname = "a"\nport = "/dev/y"\n', "unique: a"),
    ('[[board]]\nname = "a"\nport = 3\n', "port must be a string"),
    ("[boards]\n", r"unknown top-level key\(s\) boards"),
    ("[[board]\n", "not valid TOML"),
])
def test_rig_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RigError, match=message):
        Rig.load(write_rig(tmp_path, text))


def test_a_missing_rig_file_is_a_rig_error(tmp_path: Path) -> None:
    with pytest.raises(RigError, match="No such file"):
        Rig.load(tmp_path / "absent.toml")


def a_rig_with_boards(tmp_path: Path) -> tuple[Rig, FakeSerialPorts, FakeBoard]:
    rig = Rig.load(write_rig(tmp_path, f"""
[[board]]
name = "pico-w"
serial_number = "{PICO_SERIAL}"
capabilities = {{ lan = true }}

[[board]]
name = "s3"
serial_number = "NOT-PLUGGED-IN"
family = "esp32"
"""))
    pico = FakeBoard()
    ports = FakeSerialPorts(
        [FakePort("/dev/ttyUSB0", "0001", 0x10C4, 0xEA60),  # an ESP32 board that does not answer
         FakePort("/dev/ttyACM0", PICO_SERIAL, 0x2E8A, 0x0005),
         FakePort("/dev/ttyACM1", "3868", 0xF055, 0x9802),  # held open by someone else
         FakePort("/dev/ttyS0")],  # the PC's own UART: no USB ids
        {"/dev/ttyACM0": pico, "/dev/ttyUSB0": FakeBoard(answers=False)})
    return rig, ports, pico


def test_discover_lists_every_usb_board_and_says_why_one_did_not_answer(tmp_path: Path) -> None:
    rig, ports, pico = a_rig_with_boards(tmp_path)
    boards = discover_boards(rig, list_ports=ports.list_ports, open_transport=ports.open)
    by_port = {b.port: b for b in boards}
    assert list(by_port) == ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyUSB0", None]
    assert "/dev/ttyS0" not in ports.opened, "ports without USB ids are not written to"

    pico_info = by_port["/dev/ttyACM0"]
    assert (pico_info.name, pico_info.family, pico_info.usb_id) == ("pico-w", "rp2", "2e8a:0005")
    assert (pico_info.micropython, pico_info.mpssl, pico_info.problem) == ("1.28.0", "0.1.0", None)
    assert pico_info.capabilities == {"dtls", "wlan", "rtc", "lan"}, "the rig's override adds lan"
    assert pico.closed

    busy = by_port["/dev/ttyACM1"]
    assert busy.problem is not None and busy.problem.startswith("could not open /dev/ttyACM1")
    assert busy.family == "unknown", "f055:9802 alone does not say the port"

    silent = by_port["/dev/ttyUSB0"]
    assert silent.family == "esp32", "a CP210x bridge is taken for an ESP32 board until it answers"
    assert silent.problem is not None and "could not enter raw repl" in silent.problem
    assert silent.micropython is None and silent.capabilities == frozenset()

    missing = by_port[None]
    assert (missing.name, missing.family, missing.problem) == ("s3", "esp32", "not connected")


def test_the_board_s_own_platform_beats_the_usb_guess() -> None:
    ports = FakeSerialPorts([FakePort("/dev/ttyACM1", "3868", 0xF055, 0x9802)],
                            {"/dev/ttyACM1": FakeBoard(board_modules(platform="pyboard", network=("LAN",)))})
    (board,) = discover_boards(list_ports=ports.list_ports, open_transport=ports.open)
    assert board.family == "stm32"
    assert board.capabilities == {"dtls", "lan", "rtc"}


def test_no_probe_and_all_ports(tmp_path: Path) -> None:
    rig, ports, _ = a_rig_with_boards(tmp_path)
    boards = discover_boards(rig, list_ports=ports.list_ports, open_transport=ports.open, probe=False,
                             all_ports=True)
    assert ports.opened == []
    assert [b.port for b in boards] == ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyS0", "/dev/ttyUSB0", None]
    assert all(b.micropython is None for b in boards)


def test_the_table_and_json_show_each_board(tmp_path: Path) -> None:
    rig, ports, _ = a_rig_with_boards(tmp_path)
    boards = discover_boards(rig, list_ports=ports.list_ports, open_transport=ports.open)
    table = format_table(boards).splitlines()
    assert table[0].split() == ["PORT", "NAME", "FAMILY", "USB", "SERIAL", "MICROPYTHON", "MPSSL", "CAPABILITIES"]
    assert table[1].split() == ["/dev/ttyACM0", "pico-w", "rp2", "2e8a:0005", PICO_SERIAL, "1.28.0", "0.1.0",
                                "dtls,", "lan,", "rtc,", "wlan"]
    assert "(not connected)" in table[4]
    assert "/dev/ttyUSB0: CP210x USB-UART bridge" in table
    record = boards[0].as_json()
    assert json.loads(json.dumps(record)) == record
    assert record["capabilities"] == ["dtls", "lan", "rtc", "wlan"]


def test_mpssl_rig_list_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    rig, ports, _ = a_rig_with_boards(tmp_path)
    monkeypatch.setattr(inventory, "serial_ports", ports.list_ports)
    monkeypatch.setattr(inventory, "open_serial_transport", ports.open)
    assert inventory.main(["list", "--rig", str(rig.path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(b["name"], b["family"], b["problem"] is None) for b in listed] == [
        ("pico-w", "rp2", True), (None, "unknown", False), (None, "esp32", False), ("s3", "esp32", False)]


def test_mpssl_rig_list_with_a_broken_rig_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert inventory.main(["list", "--rig", str(write_rig(tmp_path, "[[board]]\n"))]) == 2
    assert "every board needs a name" in capsys.readouterr().err


def test_a_transport_error_while_opening_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(device: str) -> FakeBoard:
        raise TransportError(f"failed to access {device}")

    (board,) = discover_boards(list_ports=lambda: [FakePort("/dev/ttyACM0", "X", 0x2E8A, 5)], open_transport=refuse)
    assert board.problem == "could not open /dev/ttyACM0: failed to access /dev/ttyACM0"
