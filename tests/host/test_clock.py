"""clock.py against the fake board: the MicroPython code it sends runs in CPython with a stand-in
`machine` module, so the set/read-back round trip and the skew check are exercised for real."""

from __future__ import annotations

import datetime as dt

import pytest
from fake_micropython_board import FakeBoard, module

from mpssl_hil.board.clock import (
    ClockSkewError,
    ClockUnavailable,
    check_skew,
    read_clock,
    rtc_fields,
    set_clock,
)

UTC = dt.timezone.utc


class FakeRtc:
    """A board RTC: `datetime()` reads, `datetime(tuple)` sets; `lag` shifts what it reads back."""

    def __init__(self, lag: dt.timedelta = dt.timedelta(0), ignores_writes: bool = False) -> None:
        self.now = dt.datetime(2000, 1, 1, tzinfo=UTC)  # never set
        self.lag = lag
        self.ignores_writes = ignores_writes
        self.writes: list[tuple[int, ...]] = []

    def datetime(self, fields: tuple[int, ...] | None = None) -> tuple[int, ...] | None:
        if fields is None:
            t = self.now + self.lag
            return (t.year, t.month, t.day, t.weekday(), t.hour, t.minute, t.second, 0)
        self.writes.append(tuple(fields))
        if not self.ignores_writes:
            year, month, day, _wd, hour, minute, second, _sub = fields
            self.now = dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        return None


def clock_board(rtc: FakeRtc | None) -> FakeBoard:
    """A board whose machine.RTC is `rtc` (None: a machine module without RTC). The fake board refuses a
    soft reset: setting the clock must not reset the board."""
    machine = module("machine") if rtc is None else module("machine", RTC=lambda: rtc)
    return FakeBoard(modules={"machine": machine})


def test_rtc_fields_are_utc_with_monday_zero() -> None:
    local = dt.datetime(2025, 3, 4, 7, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 05:05:06 UTC
    assert rtc_fields(local) == (2025, 3, 4, 1, 5, 5, 6, 0)


def test_set_clock_writes_utc_and_reads_it_back() -> None:
    rtc = FakeRtc()
    board = clock_board(rtc)
    when = dt.datetime(2026, 11, 26, 23, 59, 58, 900000, tzinfo=UTC)
    shown = set_clock(board, when)
    assert rtc.writes == [(2026, 11, 26, 3, 23, 59, 58, 0)]
    assert shown == when.replace(microsecond=0)
    assert read_clock(board) == shown
    assert not board.in_raw_repl, "the raw REPL is left after each step"


def test_set_clock_defaults_to_now() -> None:
    board = clock_board(FakeRtc())
    before = dt.datetime.now(UTC).replace(microsecond=0)
    shown = set_clock(board)
    assert before <= shown <= dt.datetime.now(UTC)


def test_a_clock_that_does_not_take_the_time_fails_clearly() -> None:
    board = clock_board(FakeRtc(ignores_writes=True))
    with pytest.raises(ClockSkewError, match=r"reads back 2000-01-01T00:00:00\+00:00"):
        set_clock(board, dt.datetime(2026, 1, 1, tzinfo=UTC))


def test_a_clock_off_by_more_than_the_bound_fails() -> None:
    board = clock_board(FakeRtc(lag=dt.timedelta(seconds=-30)))
    with pytest.raises(ClockSkewError, match="allowed skew 5s"):
        set_clock(board, dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert set_clock(clock_board(FakeRtc(lag=dt.timedelta(seconds=-30))), dt.datetime(2026, 1, 1, tzinfo=UTC),
                     max_skew=dt.timedelta(minutes=1))


def test_a_board_without_rtc_says_so() -> None:
    board = clock_board(None)
    with pytest.raises(ClockUnavailable, match="no machine.RTC"):
        set_clock(board)
    with pytest.raises(ClockUnavailable):
        read_clock(board)


def test_skew_window_allows_the_round_trip() -> None:
    set_to = dt.datetime(2026, 1, 1, tzinfo=UTC)
    check_skew(set_to, set_to + dt.timedelta(seconds=8), dt.timedelta(seconds=4), dt.timedelta(seconds=5))
    with pytest.raises(ClockSkewError):
        check_skew(set_to, set_to + dt.timedelta(seconds=10), dt.timedelta(seconds=4), dt.timedelta(seconds=5))
    with pytest.raises(ClockSkewError):
        check_skew(set_to, set_to - dt.timedelta(seconds=6), dt.timedelta(seconds=4), dt.timedelta(seconds=5))
