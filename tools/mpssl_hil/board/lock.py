"""One process at a time per real board: a lock file per board (by USB serial number or device path),
held by the test worker that opened it for as long as it uses it.  With `pytest -n N` (xdist) the
runner also groups each board's tests onto one worker (`--dist loadgroup`), so boards run in
parallel and no two workers share one; the lock also keeps a second pytest run, or `mpssl-flash`,
off a board a run is using."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path


class BoardBusy(RuntimeError):
    pass


def lock_path(board_key: str, directory: Path | None = None) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in board_key)
    return (directory or Path(tempfile.gettempdir())) / f"mpssl-board-{safe}.lock"


class BoardLock:
    def __init__(self, board_key: str, directory: Path | None = None) -> None:
        self.path = lock_path(board_key, directory)
        self._fd: int | None = None

    def acquire(self, timeout: float = 0.0) -> None:
        """Take the lock, waiting up to `timeout` seconds; BoardBusy names the holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                    os.close(fd)
                    raise BoardBusy(f"the board is in use by pid {holder} ({self.path})") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
