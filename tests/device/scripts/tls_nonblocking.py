# A non-blocking client driven by select.poll, as an event loop would drive it: the deferred
# handshake progresses inside write/read, and poll reports data mbedTLS holds already.
import json
import select
import socket
import ssl
import time

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
sock = socket.socket()
sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
sock.setblocking(False)
s = ctx.wrap_socket(sock, server_hostname=ARGS["server_hostname"], do_handshake_on_connect=False)
s.setblocking(False)
poller = select.poll()
poller.register(s, select.POLLIN | select.POLLOUT)
deadline = time.time() + 20

payload = b"0123456789" * 10
sent = 0
waits = 0
while sent < len(payload):  # the handshake happens inside these writes
    n = s.write(payload[sent:])
    if n is None:
        waits += 1
        poller.poll(1000)
    else:
        sent += n
    assert time.time() < deadline, "no progress"

poller.modify(s, select.POLLIN)
first = None
while first is None:
    poller.poll(1000)
    first = s.read(1)
    assert time.time() < deadline, "no echo"
# The rest of the echoed record is inside mbedTLS now, not in the kernel's socket buffer.
events = poller.poll(0)
buffered_readable = bool(events) and bool(events[0][1] & select.POLLIN)
rest = b""
while len(first + rest) < len(payload):
    chunk = s.read(len(payload))
    if chunk is None:
        poller.poll(1000)
        continue
    rest += chunk
    assert time.time() < deadline, "no echo"
print("RESULT " + json.dumps({"echo_ok": first + rest == payload, "buffered_readable": buffered_readable,
                              "waited": waits, "version": s.version()}))
s.close()
