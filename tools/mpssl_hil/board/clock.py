"""Setting and verifying a board's clock in UTC.

`mpremote rtc --set` writes the host's *local* time; certificate checks on the board compare against
UTC, so the runner writes UTC with `machine.RTC().datetime(...)` (the tuple order every MicroPython
port with an RTC uses), reads it back and fails when the two disagree by more than a bound.  A board
without `machine.RTC` raises `ClockUnavailable`, whose message is the reason to skip clock tests."""

from __future__ import annotations

import ast
import datetime as dt

from mpssl_hil.board.repl import RawRepl, run_raw

UTC = dt.timezone.utc
DEFAULT_MAX_SKEW = dt.timedelta(seconds=5)
_NO_RTC = "NO_RTC"


class ClockUnavailable(RuntimeError):
    """The board has no machine.RTC."""


class ClockSkewError(AssertionError):
    """The board's clock did not take the time it was given."""


def rtc_fields(utc: dt.datetime) -> tuple[int, ...]:
    """`machine.RTC().datetime()`'s tuple: (year, month, day, weekday (Monday 0), h, m, s, subseconds)."""
    t = utc.astimezone(UTC)
    return (t.year, t.month, t.day, t.weekday(), t.hour, t.minute, t.second, 0)


def set_source(utc: dt.datetime) -> str:
    return ("try:\n    from machine import RTC\nexcept ImportError:\n    RTC = None\n"
            f"if RTC is None:\n    print({_NO_RTC!r})\nelse:\n    RTC().datetime({rtc_fields(utc)!r})\n")


READ_SOURCE = ("try:\n    from machine import RTC\n    print(RTC().datetime())\n"
               f"except ImportError:\n    print({_NO_RTC!r})\n")


def parse_rtc_output(output: bytes) -> dt.datetime:
    text = output.decode(errors="replace").strip()
    if text == _NO_RTC:
        raise ClockUnavailable("the board has no machine.RTC, so its clock cannot be set")
    try:
        fields = ast.literal_eval(text)
        year, month, day, _weekday, hour, minute, second = fields[:7]
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, SyntaxError, TypeError) as e:
        raise ClockSkewError(f"the board's RTC answered {text!r}, not a datetime tuple") from e


def read_clock(transport: RawRepl) -> dt.datetime:
    """The board's RTC, read as UTC."""
    return parse_rtc_output(run_raw(transport, READ_SOURCE))


def set_clock(transport: RawRepl, utc: dt.datetime | None = None,
              max_skew: dt.timedelta = DEFAULT_MAX_SKEW) -> dt.datetime:
    """Set the board's RTC to `utc` (default: now), read it back and return what the board shows.
    Raises ClockSkewError when the read-back is off by more than `max_skew` (allowing for the time the
    round trip took), ClockUnavailable when the board has no RTC."""
    target = (utc or dt.datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    started = dt.datetime.now(UTC)
    if run_raw(transport, set_source(target)).strip() == _NO_RTC.encode():
        raise ClockUnavailable("the board has no machine.RTC, so its clock cannot be set")
    shown = read_clock(transport)
    elapsed = dt.datetime.now(UTC) - started
    check_skew(target, shown, elapsed, max_skew)
    return shown


def check_skew(expected: dt.datetime, shown: dt.datetime, elapsed: dt.timedelta, max_skew: dt.timedelta) -> None:
    """`shown` was read at most `elapsed` after the clock was set to `expected`."""
    if not (expected - max_skew <= shown <= expected + elapsed + max_skew):
        raise ClockSkewError(f"board clock set to {expected.isoformat()} reads back {shown.isoformat()} "
                             f"(allowed skew {max_skew.total_seconds():g}s)")
