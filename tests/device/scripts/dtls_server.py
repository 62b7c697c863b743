# A DTLS server as MicroPython's ssl documentation describes it: peek at the client's address, connect back, wrap
# with client_id; the first attempt raises "Hello Verify Required", the second succeeds.
import errno
import json
import socket
import ssl

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
hello_verify = 0
HELLO_VERIFY_REQUIRED = -0x6A80  # MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED


def accept(sock, client_addr):
    """wrap_socket until the client has repeated its hello with the cookie."""
    global hello_verify
    while True:
        try:
            return ctx.wrap_socket(sock, server_side=True, client_id=repr(client_addr).encode())
        except OSError as e:
            if e.args[0] != HELLO_VERIFY_REQUIRED:
                raise
            # The client repeats its hello with the cookie on the same address: wrap again.
            hello_verify += 1
            print("HELLO_VERIFY", e.args)


served = 0
while served < ARGS.get("connections", 1):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
    print("LISTENING", ARGS["port"])
    _, client_addr = sock.recvfrom(1, socket.MSG_PEEK)
    sock.connect(client_addr)  # connect back: this socket now talks to this client only
    if ARGS.get("timeout_s"):
        # A client that never repeats its hello with the cookie (a spoofed or abandoned one) would hold the
        # server in the next wrap for ever: give up on it after this long (OSError ETIMEDOUT, dropped below).
        sock.settimeout(ARGS["timeout_s"])
    try:
        s = accept(sock, client_addr)
    except OSError as e:
        # Not a handshake: e.g. a late close_notify of the previous client. Drop it, listen again. The
        # board's own errno module names a timeout (its number differs between C libraries).
        print("DROPPED", e.args, "ETIMEDOUT" if e.args[0] == errno.ETIMEDOUT else "")
        sock.close()
        continue
    data = s.recv(1500)  # one datagram: read() would wait for all 1500 bytes
    s.write(data.upper())
    print("RESULT " + json.dumps({"ok": True, "received": data.decode(), "hello_verify": hello_verify,
                                  "version": s.version()}))
    s.close()
    served += 1
