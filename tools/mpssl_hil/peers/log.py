"""The log every host peer keeps: lines in memory, mirrored to a file when a log directory is given."""

from __future__ import annotations

import threading
import time
from pathlib import Path


class PeerLog:
    def __init__(self, name: str, log_dir: Path | None = None) -> None:
        self.name = name
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.path: Path | None = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.path = _unused_path(log_dir, name)
            self.path.write_text("")

    def add(self, line: str) -> None:
        stamped = f"{time.monotonic() - self._started:8.3f} {line.rstrip()}"
        with self._lock:
            self.lines.append(stamped)
            if self.path is not None:
                with self.path.open("a") as f:
                    f.write(stamped + "\n")

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)


def _unused_path(log_dir: Path, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = log_dir / f"{safe}.log"
    n = 1
    while path.exists():
        n += 1
        path = log_dir / f"{safe}.{n}.log"
    return path
