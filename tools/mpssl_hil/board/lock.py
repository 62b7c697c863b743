"""One process at a time per real board: a lock file per board (by USB serial number or device path),
held by the test worker that opened it for as long as it uses it.  With `pytest -n N` (xdist) the
runner also groups each board's tests onto one worker (`--dist loadgroup`), so boards run in
parallel and no two workers share one; the lock also keeps a second pytest run, or `mpssl-flash`,
off a board a run is using.

The lock itself is `filelock`'s (flock on `<name>.lock.flock`, released by the kernel when the holder's
process ends, however it ends). The holder writes its pid into `<name>.lock`, a file of its own: filelock 3
truncates the file it locks on every try, so a waiter would erase the pid it wants to name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout


class BoardBusy(RuntimeError):
    pass


def lock_path(board_key: str, directory: Path | None = None) -> Path:
    """The file that names the holder's pid while a process holds the board."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in board_key)
    return (directory or Path(tempfile.gettempdir())) / f"mpssl-board-{safe}.lock"


class BoardLock:
    def __init__(self, board_key: str, directory: Path | None = None) -> None:
        self.path = lock_path(board_key, directory)
        # thread_local=False: the session may release from another thread than the one that acquired
        self._lock = FileLock(self.path.with_name(self.path.name + ".flock"), thread_local=False)

    def acquire(self, timeout: float = 0.0) -> None:
        """Take the lock, waiting up to `timeout` seconds; BoardBusy names the holder's pid."""
        try:
            self._lock.acquire(timeout=timeout, poll_interval=0.2)
        except Timeout:
            try:
                holder = self.path.read_text(errors="replace").strip()
            except FileNotFoundError:
                holder = ""
            raise BoardBusy(f"the board is in use by pid {holder or 'another process'} ({self.path})") from None
        self.path.write_text(str(os.getpid()))

    def release(self) -> None:
        if self._lock.is_locked:
            self.path.write_text("")
            self._lock.release()
