"""The run directory in a board's own filesystem ("copy" delivery, serial.py): a run's files are
written there before the script starts, each only when its content changed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

RUN_DIRECTORY = "/mpssl-run"
WRITE_CHUNK = 1024  # bytes per raw-REPL command while writing a file (mpremote's default is 256)
S_IFDIR = 0x4000


class DirectoryEntry(Protocol):
    """One entry of `fs_listdir` (mpremote's `dir_result`)."""

    @property
    def name(self) -> str: ...

    @property
    def st_mode(self) -> int: ...


class BoardFilesystem(Protocol):
    """The file operations of an mpremote transport that `BoardDirectory` uses (SerialTransport's, in
    raw REPL mode). Filesystem errors on the board come out as OSError, e.g. FileNotFoundError."""

    def fs_listdir(self, src: str = "") -> Sequence[DirectoryEntry]: ...

    def fs_mkdir(self, path: str) -> None: ...

    def fs_writefile(self, dest: str, data: bytes, chunk_size: int = 256) -> None: ...

    def fs_hashfile(self, path: str, algo: str, chunk_size: int = 256) -> bytes: ...


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BoardDirectory:
    """A directory in the board's own filesystem that receives a run's files.

    `sync(workdir)` writes a file only when its content differs from what the board holds at that path,
    as far as this object knows: `known` maps a board path to the sha256 of its content.  The map starts
    unknown; the first `sync` reads the directory back from the board (hashing each file there with
    mpremote's `fs_hashfile`, which hashes on the board when it has hashlib), so a real board, whose
    filesystem outlives the session and which other tools may have written to, is never trusted blindly,
    and unchanged files are not rewritten (flash wear).  The emulator's flash is fresh per emulator
    process: the directory is missing, it is created, and everything is written once.  After that the map
    is kept up to date by the writes themselves; it assumes nothing else writes into the directory while
    this object is in use (the test scripts only read their files).  A write that fails leaves its path
    unknown, so it is written again next time."""

    def __init__(self, board: BoardFilesystem, path: str = RUN_DIRECTORY, chunk_size: int = WRITE_CHUNK) -> None:
        self.board = board
        self.path = path
        self.chunk_size = chunk_size
        self.known: dict[str, str] | None = None

    def board_path(self, name: str) -> str:
        return f"{self.path}/{name}"

    def sync(self, workdir: Path) -> list[str]:
        """Make the directory hold every file of `workdir` under its own name; return the board paths
        that were written (the board must be in raw REPL mode)."""
        known = self.known if self.known is not None else self.read_board()
        written = []
        for file in sorted(workdir.iterdir()):
            if not file.is_file():
                continue
            data = file.read_bytes()
            digest = content_digest(data)
            path = self.board_path(file.name)
            if known.get(path) == digest:
                continue
            known.pop(path, None)  # until the write completes the board's content is unknown
            self.board.fs_writefile(path, data, chunk_size=self.chunk_size)
            known[path] = digest
            written.append(path)
        return written

    def read_board(self) -> dict[str, str]:
        """What the directory holds on the board now (creating it when it is missing); it becomes `known`."""
        try:
            entries = self.board.fs_listdir(self.path)
        except FileNotFoundError:
            self.board.fs_mkdir(self.path)
            entries = []
        known = {}
        for entry in entries:
            if entry.st_mode & S_IFDIR:
                continue
            path = self.board_path(entry.name)
            known[path] = self.board.fs_hashfile(path, "sha256").hex()
        self.known = known
        return known

    def enter_source(self) -> str:
        """MicroPython code that makes the directory the working directory and `import` look there."""
        return f"import os, sys\nos.chdir({self.path!r})\nif '' not in sys.path:\n    sys.path.insert(0, '')\n"
