"""Where board-side servers listen and where host clients reach them."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from mpssl_hil.board.target import UnixTarget
from mpssl_hil.common.ports import Forwards, ServerPort


def test_forwards_hand_out_ports_in_turn() -> None:
    forwards = Forwards({"tcp": [(4433, 40001), (4434, 40002)], "udp": [(4433, 40003)]})
    assert forwards.take("tcp") == ServerPort("0.0.0.0", 4433, "127.0.0.1", 40001)
    assert forwards.take("tcp") == ServerPort("0.0.0.0", 4434, "127.0.0.1", 40002)
    assert forwards.take("tcp").board_port == 4433, "wraps around"
    assert forwards.take("udp") == ServerPort("0.0.0.0", 4433, "127.0.0.1", 40003)


def test_forwards_describe_and_qemu_options() -> None:
    forwards = Forwards({"tcp": [(4433, 40001)], "udp": [(4433, 40003)]})
    assert forwards.describe() == {"tcp:4433": "127.0.0.1:40001", "udp:4433": "127.0.0.1:40003"}
    assert forwards.qemu_hostfwd() == "hostfwd=tcp:127.0.0.1:40001-:4433,hostfwd=udp:127.0.0.1:40003-:4433"


def test_allocated_forwards_use_free_host_ports() -> None:
    forwards = Forwards.allocate([4433, 4434])
    for transport, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        pairs = forwards.table[transport]  # type: ignore[index]
        assert [board for board, _ in pairs] == [4433, 4434]
        for _, host_port in pairs:
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", host_port))  # free a moment ago, free now


def test_missing_forwards_are_an_error() -> None:
    with pytest.raises(RuntimeError, match="no udp port forwards"):
        Forwards({"tcp": [(4433, 40001)]}).take("udp")


def test_unix_target_servers_listen_on_loopback() -> None:
    port = UnixTarget(Path(sys.executable)).server_port("udp")
    assert port.board_host == port.host == "127.0.0.1" and port.board_port == port.host_port > 0
