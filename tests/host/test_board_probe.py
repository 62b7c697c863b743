"""probe_board keeps mpremote's chatter out of the caller's output (`mpssl-rig list --json`)."""

from __future__ import annotations

import pytest
from fake_micropython_board import FakeBoard

from mpssl_hil.board.probe import ProbeFailed, probe_board


def test_a_silent_port_fails_the_probe_without_printing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProbeFailed, match=r"could not enter raw repl \(it sent b'garbage'\)"):
        probe_board(FakeBoard(answers=False, chatter=b"garbage"))  # no MicroPython behind the port
    assert capsys.readouterr().out == ""
