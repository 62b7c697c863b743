"""wait_until and Deadline: the value returned, the exception and its message, retried exceptions, pauses."""

from __future__ import annotations

import itertools
import time

import pytest

from mpssl_hil.common.waiting import Deadline, WaitTimeout, wait_until


def test_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", [], {"ready": True}])
    assert wait_until(lambda: next(values), timeout=5, interval=0) == {"ready": True}


def test_a_condition_that_never_holds_raises_a_timeout_error_with_the_message() -> None:
    calls = itertools.count()
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"^the port stayed closed \(waited 0\.3 s\)$") as caught:
        wait_until(lambda: next(calls) < 0, timeout=0.3, interval=0.05, message="the port stayed closed")
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, OSError)
    assert caught.value.last_error is None
    assert 0.3 <= time.monotonic() - started < 3
    assert 2 <= next(calls) <= 8  # the first try, one every interval (fewer on a busy machine), one at the end


def test_the_predicate_runs_at_least_once_and_once_more_at_the_deadline() -> None:
    calls: list[float] = []
    with pytest.raises(WaitTimeout):
        wait_until(lambda: calls.append(time.monotonic()), timeout=0)
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(WaitTimeout):
        wait_until(lambda: calls.append(time.monotonic()), timeout=0.2, interval=10)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.19  # the pause is cut to the deadline


def test_a_callable_message_describes_the_state_at_the_end() -> None:
    state = {"bytes": 0}

    def step() -> bool:
        state["bytes"] += 10
        return False

    with pytest.raises(WaitTimeout, match=r"stopped after \d+ bytes"):
        wait_until(step, timeout=0.1, interval=0.01, message=lambda: f"stopped after {state['bytes']} bytes")
    assert state["bytes"] > 10


def test_retried_exceptions_count_as_false_and_the_last_is_named() -> None:
    attempts = itertools.count(1)

    def connect() -> str:
        n = next(attempts)
        if n < 3:
            raise ConnectionRefusedError(111, f"refused {n}")
        return "connected"

    assert wait_until(connect, timeout=5, interval=0, retry_on=(ConnectionRefusedError,)) == "connected"

    def refused() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(WaitTimeout, match=r"the last try raised ConnectionRefusedError: .*Connection refused$") as e:
        wait_until(refused, timeout=0.1, interval=0.02, message="nobody listens", retry_on=(ConnectionRefusedError,))
    assert isinstance(e.value.last_error, ConnectionRefusedError) and e.value.__cause__ is e.value.last_error


def test_a_false_result_after_an_exception_forgets_the_exception() -> None:
    results = iter([ConnectionResetError("reset"), *[False] * 1000])

    def predicate() -> bool:
        r = next(results)
        if isinstance(r, Exception):
            raise r
        return r

    with pytest.raises(WaitTimeout) as e:
        wait_until(predicate, timeout=0.05, interval=0.01, retry_on=(ConnectionResetError,))
    assert e.value.last_error is None and "last try" not in str(e.value)


def test_other_exceptions_propagate_at_once() -> None:
    calls = itertools.count()

    def broken() -> bool:
        next(calls)
        raise ValueError("bad header")

    with pytest.raises(ValueError, match="bad header"):
        wait_until(broken, timeout=5, retry_on=(ConnectionRefusedError,))
    assert next(calls) == 1


def test_deadline_counts_down() -> None:
    budget = Deadline(0.2)
    assert not budget.expired() and 0.1 < budget.remaining() <= 0.2
    time.sleep(0.25)
    assert budget.expired() and budget.remaining() == 0 and budget.remaining(floor=0.5) == 0.5
