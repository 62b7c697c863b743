"""Asking a board over its raw REPL what it runs and what it can do, without resetting it.

Capabilities, as the test runner names them (`needs("dtls")`):
- "dtls": `ssl.PROTOCOL_DTLS_CLIENT` exists;
- "tls13": the module offers TLS 1.3 (`ssl.HAS_TLSv1_3` where a module has it; mpssl has no such
  constant, so: a client context's `get_ciphers()` lists mbedTLS' TLS 1.3 suites, "TLS1-3-...", which
  mbedTLS only has when built with MBEDTLS_SSL_PROTO_TLS1_3);
- "lan" / "wlan": `network.LAN` / `network.WLAN` exist;
- "rtc": `machine.RTC` exists (the board's clock can be set, see clock.py)."""

from __future__ import annotations

import ast
import contextlib
import io
from dataclasses import dataclass

from mpremote.transport import TransportError, TransportExecError  # type: ignore[import-untyped]

from mpssl_hil.board.repl import RawRepl, run_raw

CAPABILITIES = ("dtls", "tls13", "lan", "wlan", "rtc")

# sys.platform → the port family name the rest of the runner uses (the make PORT= name).
PLATFORM_FAMILIES = {"pyboard": "stm32", "linux": "unix", "darwin": "unix"}

PROBE_SOURCE = """
import sys
r = {'platform': sys.platform, 'micropython': '%d.%d.%d' % tuple(sys.implementation.version[:3])}
c = []
try:
    import os
    r['build'] = os.uname().version
except Exception:
    pass
try:
    import ssl
    r['mpssl'] = getattr(ssl, '__version__', None)
    if hasattr(ssl, 'PROTOCOL_DTLS_CLIENT'):
        c.append('dtls')
    t = getattr(ssl, 'HAS_TLSv1_3', None)
    if t is None:
        t = any(n.startswith('TLS1-3-') for n in ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).get_ciphers())
    if t:
        c.append('tls13')
except Exception as e:
    r['ssl_problem'] = repr(e)
try:
    import network
    if hasattr(network, 'LAN'):
        c.append('lan')
    if hasattr(network, 'WLAN'):
        c.append('wlan')
except ImportError:
    pass
try:
    from machine import RTC
    c.append('rtc')
except ImportError:
    pass
r['capabilities'] = c
print(repr(r))
"""


class ProbeFailed(RuntimeError):
    """The board did not answer the probe; the message says how."""


@dataclass(frozen=True)
class BoardProbe:
    platform: str  # sys.platform: "rp2", "esp32", "pyboard" (stm32), ...
    micropython: str  # "1.28.0"
    build: str | None  # os.uname().version: "v1.28.0 on 2026-11-26", tells two builds of one release apart
    mpssl: str | None  # ssl.__version__; None on firmware without mpssl
    capabilities: frozenset[str]
    ssl_problem: str | None = None  # why `import ssl` or its checks failed on the board, if they did

    @property
    def family(self) -> str:
        return PLATFORM_FAMILIES.get(self.platform, self.platform)

    def versions(self) -> dict[str, str | None]:
        """What identifies the firmware, for comparing a board with what was flashed onto it."""
        return {"micropython": self.micropython, "mpssl": self.mpssl, "build": self.build}


def parse_probe_output(output: bytes) -> BoardProbe:
    text = output.decode(errors="replace").strip()
    try:
        answer = ast.literal_eval(text)
        return BoardProbe(
            platform=str(answer["platform"]),
            micropython=str(answer["micropython"]),
            build=answer.get("build"),
            mpssl=answer.get("mpssl"),
            capabilities=frozenset(str(c) for c in answer.get("capabilities", ())),
            ssl_problem=answer.get("ssl_problem"),
        )
    except (ValueError, SyntaxError, TypeError, KeyError, AttributeError) as e:
        raise ProbeFailed(f"the board answered {text[:200]!r}, not the probe's dict") from e


def probe_board(transport: RawRepl) -> BoardProbe:
    """Run the probe in the raw REPL (no soft reset: the board's state is left as it was)."""
    chatter = io.StringIO()  # mpremote prints what it read when the raw REPL does not come up
    try:
        with contextlib.redirect_stdout(chatter):
            output = run_raw(transport, PROBE_SOURCE)
    except TransportExecError as e:
        last_line = (str(e.error_output).strip().splitlines() or ["?"])[-1]
        raise ProbeFailed(f"the probe raised on the board: {last_line}") from e
    except TransportError as e:  # no raw REPL prompt, or the link broke
        seen = chatter.getvalue().strip()
        raise ProbeFailed(f"no answer from the raw REPL: {e}" + (f" (it sent {seen})" if seen else "")) from e
    except OSError as e:  # the port went away or refused us (pyserial's SerialException is an OSError)
        raise ProbeFailed(f"serial port error: {e}") from e
    return parse_probe_output(output)
