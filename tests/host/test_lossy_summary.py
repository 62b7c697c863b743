"""`make lossy`'s summary (tools/mpssl_hil/suites/lossy.py): per direction, how many seeds completed, timed out or
ended otherwise, and what the proxy did to that direction's datagrams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpssl_hil.suites.lossy import main, table


def seed(direction: str, n: int, outcome: str, dropped: int) -> dict[str, object]:
    counts = {"received": 10, "dropped": dropped, "duplicated": 1, "reordered": 2, "held_alone": 0, "delayed": 9}
    return {"direction": direction, "seed": n, "outcome": outcome, "proxy": {"to_server": counts, "to_client": counts}}


def test_outcomes_are_counted_per_direction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [seed("a", 1, "completed", 1), seed("a", 2, "timeout", 3), seed("b", 1, "completed", 0),
               seed("b", 2, "crashed", 0)]
    rows = table(records).splitlines()
    assert rows[2] == "| a | 2 | 1 | 1 | 0 | 20, 4, 2, 4 (+0), 18 / 20, 4, 2, 4 (+0), 18 |"
    assert rows[3] == "| b | 2 | 1 | 0 | 1 | 20, 0, 2, 4 (+0), 18 / 20, 0, 2, 4 (+0), 18 |"
    report = tmp_path / "results.jsonl"
    report.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main([str(report)]) == 0
    assert "| a | 2 | 1 | 1 | 0 |" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.jsonl")]) == 1
