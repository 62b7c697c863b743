"""Bringing a board's wired network interface up before networked tests (network.LAN with DHCP, as
on the emulated qemu board and Ethernet boards such as NUCLEO_F429ZI)."""

from __future__ import annotations

import ast

from mpremote.transport import TransportError  # type: ignore[import-untyped]

from .clock import RawRepl

LAN_UP_SOURCE = """
import network, time
lan = network.LAN()
lan.active(True)
start = time.ticks_ms()
while not lan.isconnected() and time.ticks_diff(time.ticks_ms(), start) < {timeout_ms}:
    time.sleep_ms(20)
print(repr((lan.isconnected(), lan.status(), lan.ipconfig('addr4')[0])))
"""


class NetworkUnavailable(RuntimeError):
    pass


def bring_up_lan(transport: RawRepl, timeout: float = 20.0) -> str:
    """Activate network.LAN, wait for DHCP and return the board's IPv4 address."""
    transport.enter_raw_repl(soft_reset=False)
    try:
        output = transport.exec(LAN_UP_SOURCE.format(timeout_ms=int(timeout * 1000)))
    except TransportError as e:  # e.g. the firmware has no network.LAN
        raise NetworkUnavailable(f"network.LAN failed on the board: {e}") from e
    finally:
        transport.exit_raw_repl()
    try:
        connected, status, address = ast.literal_eval(output.decode(errors="replace").strip())
    except (ValueError, SyntaxError) as e:
        raise NetworkUnavailable(f"network.LAN did not answer: {output!r}") from e
    if not connected:
        raise NetworkUnavailable(f"network.LAN got no address within {timeout:g}s (status {status})")
    return str(address)
