"""The fake MicroPython board of the host tests (probe, rig, flashing, clock, network): an mpremote
transport whose `exec` runs the code it is sent in CPython, where `import` sees only the stand-in modules
the board was given (a module the board lacks raises ImportError as on the board), plus fake serial port
listings. Tests give it the modules their code needs (`module()` makes one)."""

from __future__ import annotations

import builtins
import contextlib
import io
import traceback
import types
from dataclasses import dataclass, field
from typing import Any

from mpremote.transport import TransportError, TransportExecError


@dataclass(frozen=True)
class FakePort:
    """What pyserial's ListPortInfo gives for one port."""

    device: str
    serial_number: str | None = None
    vid: int | None = None
    pid: int | None = None
    description: str = "n/a"


def module(name: str, **attributes: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(m, key, value)
    return m


def fake_ssl(version: str | None = "0.1.0", dtls: bool = True, ciphers: tuple[str, ...] | None = (
        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",), **extra: Any) -> types.ModuleType:
    """mpssl's module surface as far as the probe looks (`ciphers` None: no get_ciphers, as upstream)."""
    attributes: dict[str, Any] = {"PROTOCOL_TLS_CLIENT": 0, **extra}
    if version is not None:
        attributes["__version__"] = version
    if dtls:
        attributes["PROTOCOL_DTLS_CLIENT"] = 2

    class SSLContext:
        def __init__(self, protocol: int) -> None:
            self.protocol = protocol

    if ciphers is not None:
        SSLContext.get_ciphers = lambda self: list(ciphers)  # type: ignore[attr-defined]
    attributes["SSLContext"] = SSLContext
    return module("ssl", **attributes)


def board_modules(platform: str = "rp2", version: tuple[Any, ...] = (1, 28, 0, ""),
                  build: str = "v1.28.0 on 2026-11-26", ssl: types.ModuleType | None = None,
                  network: tuple[str, ...] | None = ("WLAN",), rtc: bool = True) -> dict[str, types.ModuleType | None]:
    """The modules of a MicroPython board (by default a Pico W running mpssl)."""
    machine = module("machine")
    if rtc:
        machine.RTC = object  # type: ignore[attr-defined]
    return {
        "sys": module("sys", platform=platform, implementation=types.SimpleNamespace(version=version)),
        "os": module("os", uname=lambda: types.SimpleNamespace(version=build)),
        "ssl": fake_ssl() if ssl is None else ssl,
        "network": None if network is None else module("network", **{name: object for name in network}),
        "machine": machine,
    }


@dataclass
class FakeBoard:
    """One board behind a serial port.  `answers` False: the raw REPL never comes (a busy or dead board);
    `chatter` is what mpremote prints of what it read from such a port before it gives up."""

    modules: dict[str, types.ModuleType | None] = field(default_factory=board_modules)
    answers: bool = True
    chatter: bytes = b""
    in_raw_repl: bool = False
    in_bootloader: bool = False
    closed: bool = False
    executed: list[str] = field(default_factory=list)
    answer_timeouts: list[float | None] = field(default_factory=list)  # exec_raw's deadline for each snippet

    def __post_init__(self) -> None:
        machine = self.modules.get("machine")
        if machine is not None:
            machine.bootloader = self._bootloader  # type: ignore[attr-defined]

    def _bootloader(self) -> None:
        self.in_bootloader = True

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        assert not soft_reset, "probing and flashing must not soft-reset the board"
        if not self.answers or self.in_bootloader:
            if self.chatter:
                print(self.chatter)
            raise TransportError("could not enter raw repl")
        self.in_raw_repl = True

    def exit_raw_repl(self) -> None:
        self.in_raw_repl = False

    def _board_import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                      level: int = 0) -> types.ModuleType:
        found = self.modules.get(name)
        if found is None:
            raise ImportError(f"no module named '{name}'")
        return found

    def _run(self, command: str) -> bytes:
        assert self.in_raw_repl
        self.executed.append(command)
        out = io.StringIO()
        env = {"__builtins__": {**vars(builtins), "__import__": self._board_import}}
        try:
            with contextlib.redirect_stdout(out):
                exec(command, env)
        except Exception:
            raise TransportExecError(out.getvalue().encode(), traceback.format_exc()) from None
        return out.getvalue().replace("\n", "\r\n").encode()

    def exec(self, command: str) -> bytes:
        return self._run(command)

    def exec_raw(self, command: str, timeout: float | None = 10, data_consumer: Any = None) -> tuple[bytes, bytes]:
        self.answer_timeouts.append(timeout)
        try:
            return self._run(command), b""
        except TransportExecError as e:
            return bytes(e.status_code), str(e.error_output).encode()  # mpremote passes the output first

    def exec_raw_no_follow(self, command: str) -> None:
        self._run(command)

    def close(self) -> None:
        self.closed = True
