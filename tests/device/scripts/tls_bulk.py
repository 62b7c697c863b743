# A large transfer both ways: send `size` bytes to an echo server in chunks, read each echo back,
# and report the sha256 of what was sent and of what came back.
import hashlib
import json
import socket
import ssl
import time

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
sock = socket.socket()
sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
s = ctx.wrap_socket(sock, server_hostname="localhost")
size = ARGS["size"]
chunk = bytearray(ARGS.get("chunk", 4096))
back = bytearray(len(chunk))
sent = hashlib.sha256()
received = hashlib.sha256()
done = 0
start = time.ticks_ms()
while done < size:
    n = min(len(chunk), size - done)
    for i in range(0, n, 256):  # content that changes with position, so reordering shows
        chunk[i] = (done + i) >> 8 & 0xFF
    view = memoryview(chunk)[:n]
    s.write(view)
    sent.update(view)
    got = 0
    while got < n:
        k = s.readinto(memoryview(back)[got:n])
        if not k:
            raise OSError("echo ended early")
        got += k
    received.update(memoryview(back)[:n])
    done += n
elapsed = time.ticks_diff(time.ticks_ms(), start)
s.close()
print("RESULT " + json.dumps({"bytes": done, "sent_sha256": sent.digest().hex(),
                              "received_sha256": received.digest().hex(), "ms": elapsed}))
