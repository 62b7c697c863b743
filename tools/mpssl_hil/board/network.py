"""Bringing a board's network up before networked tests: network.LAN with DHCP (the emulated qemu
board, Ethernet boards such as NUCLEO_F429ZI) or network.WLAN with credentials from the environment
(Pico W, ESP32, PYBD)."""

from __future__ import annotations

import ast

from mpremote.transport import TransportError  # type: ignore[import-untyped]

from mpssl_hil.board.repl import RawRepl, run_raw

LAN_UP_SOURCE = """
import network, time
lan = network.LAN()
lan.active(True)
start = time.ticks_ms()
while not lan.isconnected() and time.ticks_diff(time.ticks_ms(), start) < {timeout_ms}:
    time.sleep_ms(20)
print(repr((lan.isconnected(), lan.status(), lan.ipconfig('addr4')[0])))
"""


ANSWER_MARGIN = 15.0  # seconds beyond the board's own wait for its answer to arrive


class NetworkUnavailable(RuntimeError):
    pass


def bring_up_lan(transport: RawRepl, timeout: float = 20.0) -> str:
    """Activate network.LAN, wait for DHCP and return the board's IPv4 address."""
    return _run_up(transport, LAN_UP_SOURCE.format(timeout_ms=int(timeout * 1000)), "network.LAN", timeout)


def _run_up(transport: RawRepl, source: str, interface: str, timeout: float) -> str:
    try:  # the board waits up to `timeout` itself: the answer's deadline leaves room for that
        output = run_raw(transport, source, timeout=timeout + ANSWER_MARGIN)
    except TransportError as e:  # e.g. the firmware has no such interface
        raise NetworkUnavailable(f"{interface} failed on the board: {e}") from e
    try:
        connected, status, address = ast.literal_eval(output.decode(errors="replace").strip())
    except (ValueError, SyntaxError) as e:
        raise NetworkUnavailable(f"{interface} did not answer: {output!r}") from e
    if not connected:
        raise NetworkUnavailable(f"{interface} got no address within {timeout:g}s (status {status})")
    return str(address)


WLAN_UP_SOURCE = """
import network, time
wlan = network.WLAN(network.STA_IF)
wlan.active(True)
if not wlan.isconnected():
    wlan.connect({ssid!r}, {password!r})
start = time.ticks_ms()
while not wlan.isconnected() and time.ticks_diff(time.ticks_ms(), start) < {timeout_ms}:
    time.sleep_ms(100)
print(repr((wlan.isconnected(), wlan.status(), wlan.ipconfig('addr4')[0])))
"""

WIFI_ENV = ("MPSSL_WIFI_SSID", "MPSSL_WIFI_PASSWORD")


def bring_up_wlan(transport: RawRepl, ssid: str, password: str, timeout: float = 30.0) -> str:
    """Join the Wi-Fi network `ssid` as a station and return the board's IPv4 address."""
    return _run_up(transport, WLAN_UP_SOURCE.format(ssid=ssid, password=password, timeout_ms=int(timeout * 1000)),
                   "network.WLAN", timeout)


def bring_up_board_network(transport: RawRepl, capabilities: frozenset[str], environ: dict[str, str]) -> str:
    """A real board's network for the networked tests: its LAN, or its Wi-Fi with the credentials in
    MPSSL_WIFI_SSID / MPSSL_WIFI_PASSWORD.  Returns the board's address."""
    if "lan" in capabilities:
        return bring_up_lan(transport)
    ssid = environ.get(WIFI_ENV[0])
    if "wlan" in capabilities and ssid:
        return bring_up_wlan(transport, ssid, environ.get(WIFI_ENV[1], ""))
    if "wlan" in capabilities:
        raise NetworkUnavailable(f"the board has Wi-Fi: set {WIFI_ENV[0]} and {WIFI_ENV[1]} to join a network")
    raise NetworkUnavailable("the board has neither network.LAN nor network.WLAN")
