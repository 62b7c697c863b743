"""board_network.bring_up_lan against the fake board: the code it sends runs in CPython with a fake
`network` module whose interface connects after a number of polls, or never."""

from __future__ import annotations

import time

import pytest
from fake_micropython_board import FakeBoard, module

from mpssl_hil.board.network import NetworkUnavailable, bring_up_board_network, bring_up_lan


class FakeLan:
    def __init__(self, connects_after: int | None) -> None:
        self.connects_after = connects_after
        self.polls = 0
        self.active_calls: list[bool] = []

    def active(self, on: bool) -> None:
        self.active_calls.append(on)

    def isconnected(self) -> bool:
        self.polls += 1
        return self.connects_after is not None and self.polls > self.connects_after

    def status(self) -> int:
        return 3 if self.isconnected() else 2

    def ipconfig(self, key: str) -> tuple[str, str]:
        assert key == "addr4"
        return ("10.0.2.15", "255.255.255.0") if self.polls > (self.connects_after or 0) else ("0.0.0.0", "0.0.0.0")


def lan_board(lan: FakeLan) -> FakeBoard:
    """A board with `lan` as its network.LAN and MicroPython's millisecond ticks."""
    board_time = module("time", ticks_ms=lambda: int(time.monotonic() * 1000), ticks_diff=lambda a, b: a - b,
                        sleep_ms=lambda ms: time.sleep(ms / 1000))
    return FakeBoard(modules={"network": module("network", LAN=lambda: lan), "time": board_time})


def test_waits_for_dhcp_and_returns_the_address() -> None:
    lan = FakeLan(connects_after=3)
    assert bring_up_lan(lan_board(lan), timeout=5) == "10.0.2.15"
    assert lan.active_calls == [True] and lan.polls >= 4


def test_no_address_in_time_is_a_clear_error() -> None:
    with pytest.raises(NetworkUnavailable, match=r"no address within 0.2s \(status 2\)"):
        bring_up_lan(lan_board(FakeLan(connects_after=None)), timeout=0.2)


def test_a_board_with_lan_uses_it() -> None:
    assert bring_up_board_network(lan_board(FakeLan(connects_after=0)), frozenset({"lan", "wlan"}), {}) == "10.0.2.15"


def test_wifi_without_credentials_says_which_variables_to_set() -> None:
    with pytest.raises(NetworkUnavailable, match="set MPSSL_WIFI_SSID and MPSSL_WIFI_PASSWORD"):
        bring_up_board_network(lan_board(FakeLan(connects_after=0)), frozenset({"wlan"}), {})
    with pytest.raises(NetworkUnavailable, match="neither network.LAN nor network.WLAN"):
        bring_up_board_network(lan_board(FakeLan(connects_after=0)), frozenset({"dtls"}), {})


def test_the_answer_deadline_covers_the_boards_own_wait() -> None:
    """mpremote's default answer deadline is 10 s: a 30 s Wi-Fi join (or a 20 s DHCP wait) must get its
    whole wait plus a margin, or the join is cut short on the host side."""
    board = lan_board(FakeLan(connects_after=0))
    bring_up_lan(board, timeout=25)
    assert board.answer_timeouts and all(t is not None and t >= 25 for t in board.answer_timeouts)
