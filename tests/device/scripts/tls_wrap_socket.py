# The module-level ssl.wrap_socket() exactly as MicroPython's ssl documentation has it: DER cadata, key and
# cert given as bytes, cert_reqs, server_hostname, do_handshake.
import json
import socket
import ssl

from test_args import ARGS


def load(path):
    with open(path, "rb") as f:
        return f.read()


sock = socket.socket()
sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
kwargs = {"cert_reqs": ssl.CERT_REQUIRED, "cadata": load(ARGS["ca_der"]),
          "server_hostname": ARGS["server_hostname"], "do_handshake": ARGS.get("do_handshake", True)}
if ARGS.get("keyfile"):
    kwargs["key"] = load(ARGS["keyfile"])
    kwargs["cert"] = load(ARGS["certfile"])
s = ssl.wrap_socket(sock, **kwargs)
s.write(b"wrapped")
echo = s.read(7)
print("RESULT " + json.dumps({"echo": echo.decode(), "cipher": s.cipher()}))
s.close()
