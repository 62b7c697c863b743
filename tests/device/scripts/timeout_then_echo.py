# A read that times out is not the connection's end (tests/device/test_lossy_links.py): over TLS or DTLS
# (ARGS["dtls"]) handshake with the host's echo server, read with nothing on the way until the socket's timeout
# runs out, then send a line and read its echo on the same SSLSocket. Over DTLS that is how an application
# notices a lost datagram and sends again.
import errno
import json
import socket
import ssl

from test_args import ARGS

dtls = ARGS["dtls"]
ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT if dtls else ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if dtls else socket.socket()
sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
sock.settimeout(ARGS["timeout_s"])
s = ctx.wrap_socket(sock, server_hostname="localhost")
timeouts = []
for _ in range(2):  # twice: the second wait is as long as the first, and ends the same way
    try:
        s.recv(1500)
        timeouts.append("returned")
    except OSError as e:
        timeouts.append("ETIMEDOUT" if e.args[0] == errno.ETIMEDOUT else repr(e.args))
try:
    s.write(b"after a timeout\n")
    echo = s.recv(1500).decode()
    version = s.version()
except OSError as e:
    echo = version = None
    timeouts.append("then " + repr(e.args))
s.close()
print("RESULT " + json.dumps({"timeouts": timeouts, "echo": echo, "version": version}))
