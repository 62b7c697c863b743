# network.LAN as a user drives it: up with DHCP, down, up again, a static address, and the errors.
import json
import time

import network


def wait_connected(lan, ms=10000):
    start = time.ticks_ms()
    while not lan.isconnected():
        if time.ticks_diff(time.ticks_ms(), start) > ms:
            return False
        time.sleep_ms(10)
    return True


lan = network.LAN()
report = {"same_object": network.LAN() is lan, "mac": lan.config("mac").hex()}
lan.active(True)
report["dhcp"] = wait_connected(lan)
report["up"] = [lan.active(), lan.status(), lan.ipconfig("addr4")[0]]
lan.active(False)
report["down"] = [lan.active(), lan.status(), lan.isconnected()]
lan.active(True)
report["dhcp_again"] = wait_connected(lan)
lan.ipconfig(dhcp4=False)
lan.ifconfig(("10.0.2.30", "255.255.255.0", "10.0.2.2", "10.0.2.3"))
report["static"] = [lan.ipconfig("addr4")[0], lan.isconnected()]
errors = []
for bad in (lambda: lan.config("bogus"), lambda: lan.status("rssi"), lambda: network.LAN(1)):
    try:
        bad()
        errors.append(None)
    except (ValueError, TypeError) as e:
        errors.append(type(e).__name__)
report["errors"] = errors
print("RESULT " + json.dumps(report))
