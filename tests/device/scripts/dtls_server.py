# A DTLS server as ssl-api.rst describes it: peek at the client's address, connect back, wrap
# with client_id; the first attempt raises "Hello Verify Required", the second succeeds.
import json
import socket
import ssl

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
hello_verify = 0
HELLO_VERIFY_REQUIRED = -0x6A80  # MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED
for _ in range(ARGS.get("connections", 1)):
    s = None
    while s is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
        _, client_addr = sock.recvfrom(1, socket.MSG_PEEK)
        sock.connect(client_addr)
        try:
            s = ctx.wrap_socket(sock, server_side=True, client_id=repr(client_addr).encode())
        except OSError as e:
            if e.args[0] != HELLO_VERIFY_REQUIRED or hello_verify >= 5:
                raise
            hello_verify += 1
            print("HELLO_VERIFY", e.args)
            # The ClientHello that was answered is consumed; the retry arrives on a fresh socket.
            sock.close()
    data = s.read(1500)
    s.write(data.upper())
    print("RESULT " + json.dumps({"ok": True, "received": data.decode(), "hello_verify": hello_verify,
                                  "version": s.version()}))
    s.close()
