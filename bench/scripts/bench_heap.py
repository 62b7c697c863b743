# GC heap held per established connection, default settings: a["count"] client/server pairs open at
# once, less what the same number of bare in-memory pipe pairs holds, so only the TLS state is counted.
# Then the peak during one handshake: the live heap (after gc.collect) at every read and write the
# transport sees, i.e. between handshake steps; temporaries freed within one step are not seen.
import gc

from bench_common import Pipe, args, connected_pair, contexts, pipe_pair, report

a = args()
client_ctx, server_ctx = contexts(a)
count = a["count"]

gc.collect()
base = gc.mem_alloc()
pipes = [pipe_pair() for _ in range(count)]
gc.collect()
pipe_bytes = gc.mem_alloc() - base
pipes = None

gc.collect()
base = gc.mem_alloc()
pairs = [connected_pair(client_ctx, server_ctx) for _ in range(count)]
gc.collect()
held_pairs = gc.mem_alloc() - base - pipe_bytes
for pair in pairs:
    pair[1].close()
clients = [pair[0] for pair in pairs]
pair = pairs = None
gc.collect()
held_clients = gc.mem_alloc() - base - pipe_bytes // 2
for client in clients:
    client.close()
client = clients = None

peak = [0]


class SamplingPipe(Pipe):
    def readinto(self, buf):
        gc.collect()
        peak[0] = max(peak[0], gc.mem_alloc())
        return Pipe.readinto(self, buf)

    def write(self, buf):
        gc.collect()
        peak[0] = max(peak[0], gc.mem_alloc())
        return Pipe.write(self, buf)


gc.collect()
base = gc.mem_alloc()
peak[0] = base
client, server = connected_pair(client_ctx, server_ctx, SamplingPipe)
gc.collect()
after = gc.mem_alloc() - base
report(per_pair=held_pairs // count, per_client=held_clients // count,
       per_server=(held_pairs - held_clients) // count, handshake_peak=peak[0] - base, after_handshake=after)
