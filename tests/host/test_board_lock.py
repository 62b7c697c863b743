"""One process per board: a second holder is refused with the first holder's pid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mpssl_hil.board.lock import BoardBusy, BoardLock, lock_path

HOLD = """
import sys, time
from pathlib import Path
from mpssl_hil.board.lock import BoardLock
lock = BoardLock(sys.argv[1], Path(sys.argv[2]))
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_a_board_held_by_another_process_is_busy(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "E6614C311B7B5F2B", str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BoardBusy, match=f"in use by pid {holder.pid}"):
            BoardLock("E6614C311B7B5F2B", tmp_path).acquire(timeout=0.3)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    lock = BoardLock("E6614C311B7B5F2B", tmp_path)
    lock.acquire()  # free again once the holder ended
    assert lock.path.read_text() == str(os.getpid())
    lock.release()


def test_lock_names_are_safe_file_names(tmp_path: Path) -> None:
    assert lock_path("/dev/ttyACM0", tmp_path).name == "mpssl-board-_dev_ttyACM0.lock"
