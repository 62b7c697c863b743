"""Getting a hung board back: the recovery ladder, and quarantine for a board that keeps failing.

The ladder tries each step until the board answers at the raw REPL again:
Ctrl-C → soft reset → `machine.reset()` → hard reset (DTR/RTS, esptool, or restarting an emulator) →
power cycle (uhubctl switching the board's port of a USB hub, board/power.py).
After a reset that drops the USB link the port is found again by its USB serial number, since the
operating system may give it another name.  A board whose recovery fails `limit` times is quarantined
for the rest of the run: its tests skip with the reason instead of each waiting for a dead board."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mpssl_hil.board.link import BoardLink
from mpssl_hil.board.target import RunResult


@dataclass
class Recovery:
    recovered: bool
    steps: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(self.steps)


@dataclass(frozen=True)
class Rung:
    name: str
    act: Callable[[BoardLink], bool | None]  # False: this board cannot take this step
    drops_link: bool


LADDER = (
    Rung("Ctrl-C", lambda link: link.interrupt(), drops_link=False),
    Rung("soft reset", lambda link: link.soft_reset(), drops_link=False),
    Rung("machine.reset()", lambda link: link.machine_reset(), drops_link=True),
    Rung("hard reset", lambda link: link.hard_reset(), drops_link=True),
    Rung("power cycle", lambda link: link.power_cycle(), drops_link=True),
)


def recover(link: BoardLink, answer_timeout: float = 5.0, ladder: tuple[Rung, ...] = LADDER) -> Recovery:
    """Climb the ladder until the board answers; every step and its outcome is in `steps`."""
    recovery = Recovery(False)
    for rung in ladder:
        try:
            if rung.act(link) is False:
                recovery.steps.append(f"{rung.name}: not available on this board")
                continue
            if rung.drops_link:
                link.reconnect()
        except Exception as e:  # a step that fails is reported, and the next one tried
            recovery.steps.append(f"{rung.name}: failed ({type(e).__name__}: {e})")
            continue
        if link.responsive(answer_timeout):
            recovery.steps.append(f"{rung.name}: the board answers")
            recovery.recovered = True
            return recovery
        recovery.steps.append(f"{rung.name}: no answer")
    return recovery


class Quarantined(RuntimeError):
    """The board is out of this run; the message says why."""


@dataclass
class BoardHealth:
    """Failed recoveries of one board; at `limit` it is quarantined for the run."""

    name: str
    limit: int = 2
    failures: list[str] = field(default_factory=list)

    @property
    def quarantined(self) -> str | None:
        if len(self.failures) < self.limit:
            return None
        return f"{self.name} is quarantined for this run after {len(self.failures)} failed recoveries: " \
               f"{self.failures[-1]}"

    def check(self) -> None:
        reason = self.quarantined
        if reason:
            raise Quarantined(reason)

    def record(self, cause: str, recovery: Recovery) -> None:
        if not recovery.recovered:
            self.failures.append(f"{cause} → {recovery.describe()}")


def run_with_retry(attempt: Callable[[], RunResult], recover_board: Callable[[str], Recovery]) -> tuple[
        RunResult, str | None]:
    """Run `attempt`; when it fails for an infrastructure reason (never for the script's own failure),
    recover the board and run it once more.  Returns the result and, when retried, why."""
    result = attempt()
    if result.infrastructure_error is None:
        return result, None
    cause = result.infrastructure_error.splitlines()[0]
    recovery = recover_board(cause)
    if not recovery.recovered:
        result.infrastructure_error += f" (recovery failed: {recovery.describe()})"
        return result, None
    retry = attempt()
    retry.retried_after = f"{cause} ({recovery.describe()})"
    return retry, retry.retried_after
