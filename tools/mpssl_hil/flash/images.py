"""What was last flashed onto each board, so that flashing an unchanged image again can be skipped.

The cache is one JSON file, by default ~/.cache/mpssl/flashed.json (`MPSSL_FLASH_CACHE` or
`mpssl-flash --cache` put it elsewhere):

    {"format": 1,
     "boards": {"E6614C311B7D5A2B": {"image": "/…/build/rp2-RPI_PICO_W/firmware.uf2",
                                     "sha256": "…", "method": "picotool",
                                     "flashed_at": "2026-11-26T10:00:00+00:00",
                                     "micropython": "1.28.0", "mpssl": "0.1.0",
                                     "build": "v1.28.0 on 2026-11-26"}}}

A board is keyed by its USB serial number (port names change between plug-ins; a board without a
serial number is keyed "port:<device>").  An entry is written only after the board came back from a
flash and answered its REPL, and holds the versions it answered then; the entry is removed before
flashing starts, so a flash that fails half-way leaves the board unknown rather than trusted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

CACHE_ENV = "MPSSL_FLASH_CACHE"
CACHE_FORMAT = 1


def default_cache_path() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "mpssl" / "flashed.json"


def image_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def board_key(serial_number: str | None, port: str) -> str:
    return serial_number if serial_number else f"port:{port}"


@dataclass(frozen=True)
class FlashedImage:
    image: str
    sha256: str
    method: str
    flashed_at: str  # ISO 8601, UTC
    micropython: str | None
    mpssl: str | None
    build: str | None

    def versions(self) -> dict[str, str | None]:
        return {"micropython": self.micropython, "mpssl": self.mpssl, "build": self.build}

    @staticmethod
    def now() -> str:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class FlashedImages:
    """The cache file.  Each change is written at once (atomically: a temporary file, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None  # why an existing file was not read, if it was not
        self.boards = self._read()

    def _read(self) -> dict[str, FlashedImage]:
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") != CACHE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {CACHE_FORMAT}")
            return {key: FlashedImage(**entry) for key, entry in data["boards"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            self.problem = f"ignoring the flash cache {self.path}: {e}"
            return {}

    def get(self, key: str) -> FlashedImage | None:
        return self.boards.get(key)

    def forget(self, key: str) -> None:
        if self.boards.pop(key, None) is not None:
            self._write()

    def record(self, key: str, flashed: FlashedImage) -> None:
        self.boards[key] = flashed
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": CACHE_FORMAT, "boards": {key: asdict(entry) for key, entry in sorted(self.boards.items())}}
        fd, temporary = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise
