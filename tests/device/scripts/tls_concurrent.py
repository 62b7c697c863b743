# Several TLS connections open at once: connect them all, then talk on each in turn (so every one
# is in use while the others stay open), then close them all.
import gc
import json
import socket
import ssl

from test_args import ARGS

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ARGS["cafile"])
gc.collect()
free_before = gc.mem_free()
conns = []
for _ in range(ARGS["count"]):
    sock = socket.socket()
    sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
    conns.append(ctx.wrap_socket(sock, server_hostname="localhost"))
gc.collect()
free_open = gc.mem_free()
echoes = []
for rnd in range(ARGS.get("rounds", 3)):
    for i, s in enumerate(conns):
        message = b"connection %d round %d" % (i, rnd)
        s.write(message)
        got = b""
        while len(got) < len(message):
            got += s.read(len(message) - len(got))
        echoes.append(got == message)
for s in conns:
    s.close()
print("RESULT " + json.dumps({"open": len(conns), "echoes_ok": sum(echoes), "echoes": len(echoes),
                              "heap_per_connection": (free_before - free_open) // len(conns)}))
