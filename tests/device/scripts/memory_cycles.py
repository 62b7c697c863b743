# Heap use over many open/close cycles: each SSLSocket owns its mbedTLS state and close()
# gives it back.  On a build with mbedTLS on the GC heap, gc.mem_alloc() sees all of it.
import gc
import json

from memory_streams import connected_pair, contexts, pipe_pair
from test_args import ARGS

client_ctx, server_ctx = contexts(ARGS)


def open_close():
    a, _ = pipe_pair()
    s = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    s.close()


def handshake_close():
    client, server = connected_pair(client_ctx, server_ctx, "localhost")
    client.write(b"ping")
    assert server.read(4) == b"ping"
    client.close()
    server.close()


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


for _ in range(5):  # warm up: first-use allocations (interned strings, caches)
    open_close()
    handshake_close()
before = heap()
for _ in range(ARGS["cycles"]):
    open_close()
after_open_close = heap()
for _ in range(ARGS["handshakes"]):
    handshake_close()
after_handshakes = heap()
print("RESULT " + json.dumps({"before": before, "after_open_close": after_open_close,
                              "after_handshakes": after_handshakes}))
