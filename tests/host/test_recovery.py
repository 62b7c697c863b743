"""The recovery ladder and quarantine against fake boards that hang, drop the link, or are dead."""

from __future__ import annotations

import pytest

from mpssl_hil.board.recovery import BoardHealth, Quarantined, Recovery, recover, run_with_retry
from mpssl_hil.board.target import RunResult


class FakeBoard:
    """A board that answers again only after `recovers_at` (a step name), or never (None).

    `can_hard_reset` and `can_power_cycle` say whether those steps are available; `reconnect_fails` makes
    the port disappear after a reset (the USB serial number is not found again)."""

    def __init__(self, recovers_at: str | None, can_hard_reset: bool = True, reconnect_fails: bool = False,
                 can_power_cycle: bool = False) -> None:
        self.recovers_at = recovers_at
        self.can_hard_reset = can_hard_reset
        self.can_power_cycle = can_power_cycle
        self.reconnect_fails = reconnect_fails
        self.log: list[str] = []
        self.alive = False
        self.connected = True

    def _did(self, step: str) -> None:
        self.log.append(step)
        if step == self.recovers_at:
            self.alive = True

    def responsive(self, timeout: float) -> bool:
        self.log.append("probe")
        return self.alive and self.connected

    def interrupt(self) -> None:
        self._did("Ctrl-C")

    def soft_reset(self) -> None:
        self._did("soft reset")

    def machine_reset(self) -> None:
        self.connected = False
        self._did("machine.reset()")

    def hard_reset(self) -> bool:
        if not self.can_hard_reset:
            return False
        self.connected = False
        self._did("hard reset")
        return True

    def power_cycle(self) -> bool:
        if not self.can_power_cycle:
            return False
        self.connected = False
        self._did("power cycle")
        return True

    def reconnect(self) -> None:
        self.log.append("reconnect")
        if self.reconnect_fails:
            raise OSError("no port with USB serial number E661")
        self.connected = True


def test_a_hung_script_stops_at_ctrl_c() -> None:
    board = FakeBoard("Ctrl-C")
    recovery = recover(board)
    assert recovery.recovered and board.log == ["Ctrl-C", "probe"]
    assert recovery.steps == ["Ctrl-C: the board answers"]


def test_each_rung_is_tried_in_order_until_the_board_answers() -> None:
    board = FakeBoard("hard reset")
    recovery = recover(board)
    assert recovery.recovered
    assert board.log == ["Ctrl-C", "probe", "soft reset", "probe", "machine.reset()", "reconnect", "probe",
                         "hard reset", "reconnect", "probe"]
    assert recovery.steps[-1] == "hard reset: the board answers"


def test_a_reset_that_drops_the_link_reconnects_before_probing() -> None:
    board = FakeBoard("machine.reset()")
    assert recover(board).recovered
    assert board.log[-3:] == ["machine.reset()", "reconnect", "probe"]


def test_a_board_without_hard_reset_says_so() -> None:
    recovery = recover(FakeBoard(None, can_hard_reset=False))
    assert not recovery.recovered
    assert recovery.steps[-2:] == ["hard reset: not available on this board",
                                   "power cycle: not available on this board"]


def test_the_power_cycle_is_the_last_rung() -> None:
    board = FakeBoard("power cycle", can_power_cycle=True)
    recovery = recover(board)
    assert recovery.recovered
    assert board.log[-6:] == ["hard reset", "reconnect", "probe", "power cycle", "reconnect", "probe"]
    assert recovery.steps == ["Ctrl-C: no answer", "soft reset: no answer", "machine.reset(): no answer",
                              "hard reset: no answer", "power cycle: the board answers"]


def test_a_port_that_does_not_come_back_is_reported() -> None:
    recovery = recover(FakeBoard("machine.reset()", reconnect_fails=True))
    assert not recovery.recovered
    assert "machine.reset(): failed (OSError: no port with USB serial number E661)" in recovery.steps


def test_quarantine_after_repeated_failed_recoveries() -> None:
    health = BoardHealth("pico-1", limit=2)
    health.record("timeout", Recovery(True, ["Ctrl-C: the board answers"]))
    health.check()  # a recovery that worked does not count
    health.record("timeout", Recovery(False, ["hard reset: no answer"]))
    health.check()
    health.record("transport: could not enter raw repl", Recovery(False, ["hard reset: no answer"]))
    with pytest.raises(Quarantined, match="pico-1 is quarantined .* 2 failed recoveries: transport: could not"):
        health.check()


def result(stderr: str = "", infrastructure_error: str | None = None, returncode: int | None = 0) -> RunResult:
    return RunResult("RESULT {}\n", stderr, returncode, False, "s.py", infrastructure_error=infrastructure_error)


def test_a_script_failure_is_never_retried() -> None:
    attempts = [result("AssertionError: bad echo", returncode=1)]
    recoveries: list[str] = []
    got, retried = run_with_retry(lambda: attempts.pop(0), lambda cause: recoveries.append(cause) or Recovery(True))
    assert got.returncode == 1 and retried is None and recoveries == []


def test_an_infrastructure_failure_is_retried_once_on_a_recovered_board() -> None:
    attempts = [result(infrastructure_error="transport: could not enter raw repl\nmore"), result()]
    recoveries: list[str] = []

    def recover_board(cause: str) -> Recovery:
        recoveries.append(cause)
        return Recovery(True, ["Ctrl-C: no answer", "soft reset: the board answers"])

    got, retried = run_with_retry(lambda: attempts.pop(0), recover_board)
    assert got.returncode == 0 and not attempts
    assert recoveries == ["transport: could not enter raw repl"]
    assert retried == got.retried_after == "transport: could not enter raw repl (Ctrl-C: no answer; " \
                                            "soft reset: the board answers)"
    assert "retried once on a recovered board" in got.describe()


def test_a_second_infrastructure_failure_is_reported_not_retried_again() -> None:
    attempts = [result(infrastructure_error="the board did not finish in time"),
                result(infrastructure_error="the board did not finish in time")]
    got, _ = run_with_retry(lambda: attempts.pop(0), lambda cause: Recovery(True, ["Ctrl-C: the board answers"]))
    assert not attempts and got.infrastructure_error == "the board did not finish in time"


def test_no_retry_when_the_board_does_not_come_back() -> None:
    attempts = [result(infrastructure_error="transport: timeout")]
    got, retried = run_with_retry(lambda: attempts.pop(0), lambda cause: Recovery(False, ["hard reset: no answer"]))
    assert retried is None
    assert got.infrastructure_error == "transport: timeout (recovery failed: hard reset: no answer)"
