"""probe_board keeps mpremote's chatter out of the caller's output (`mpssl-rig list --json`)."""

from __future__ import annotations

import pytest
from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.probe import ProbeFailed, probe_board


class SilentPort:
    """A serial port with no MicroPython behind it: mpremote prints what it read, then gives up."""

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        print(b"garbage")
        raise TransportError("could not enter raw repl")

    def exit_raw_repl(self) -> None:
        pass

    def exec_raw(self, command: str, timeout: float | None = 10, data_consumer: object = None) -> tuple[bytes, bytes]:
        raise AssertionError("not reached")


def test_a_silent_port_fails_the_probe_without_printing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProbeFailed, match=r"could not enter raw repl \(it sent b'garbage'\)"):
        probe_board(SilentPort())
    assert capsys.readouterr().out == ""
