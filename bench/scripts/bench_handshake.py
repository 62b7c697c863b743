# a["count"] full handshakes between two in-memory endpoints, the client verifying the server, each
# between two marks (phase boundaries for callgrind): wrap, handshake and close of one connection. With
# a["collect"], each starts from a collected heap (gc.collect() outside its phase): how long the GC heap's
# allocator searches for free blocks depends on where the garbage of earlier work left holes.
import gc

from bench_common import args, cipher_name, connected_pair, contexts, mark, report

a = args()
client_ctx, server_ctx = contexts(a, a.get("ciphers"))
suites = []
for _ in range(a["count"]):
    if a.get("collect"):
        gc.collect()
    mark()
    client, server = connected_pair(client_ctx, server_ctx)
    suites.append((cipher_name(client), cipher_name(server)))
    client.close()
    server.close()
    client = server = None
mark()
report(handshakes=len(suites), client_cipher=suites[0][0] if suites else None,
       server_cipher=suites[0][1] if suites else None)
