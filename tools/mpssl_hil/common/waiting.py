"""Waiting with a deadline: `wait_until` polls a condition until it holds or the time is up, `Deadline` is a
time budget shared by several steps (thread joins, socket timeouts). One place for the clock arithmetic
that each wait otherwise writes by hand, and one exception for a wait that ran out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A `wait_until` condition did not hold within its timeout. A TimeoutError (and so an OSError), so
    callers that handle a socket timeout handle this too; `last_error` is the exception the last try
    raised, when it was one of `retry_on` (also the `__cause__`)."""

    def __init__(self, message: str, last_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


class Deadline:
    """A time budget that starts now: `remaining()` seconds are left until `expired()`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self, floor: float = 0.0) -> float:
        """Seconds left, at least `floor` (a socket or join timeout must not be 0 or negative)."""
        return max(floor, self._end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._end


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "the condition did not hold",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns something truthy, and return that; after `timeout` seconds raise
    WaitTimeout with `message` (a callable is called then, to describe the state at the end).

    The predicate runs at least once, and once more at the deadline after the last pause, so a slow
    predicate cannot be cut short by the clock alone. `interval` is the pause between tries (0: none, for a
    predicate that waits by itself, e.g. on select). An exception of a `retry_on` type counts as a false
    result (a refused connect while a server starts); the last one is named in the WaitTimeout. Any other
    exception propagates at once."""
    deadline = Deadline(timeout)
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except retry_on as e:
            last_error = e
        else:
            if value:
                return value
            last_error = None
        if deadline.expired():
            text = message() if callable(message) else message
            text = f"{text} (waited {timeout:g} s)"
            if last_error is not None:
                text += f"; the last try raised {type(last_error).__name__}: {last_error}"
            raise WaitTimeout(text, last_error) from last_error
        if interval > 0:
            time.sleep(min(interval, deadline.remaining()))
