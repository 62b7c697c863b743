# One handshake, then three phases between marks (phase boundaries for callgrind), each a["bytes"] of
# data written a["chunk"] bytes at a time and read as it arrives: client to server, server to client,
# and the same loop over bare in-memory pipes (no TLS: what the harness itself costs).
from bench_common import args, cipher_name, connected_pair, contexts, mark, pipe_pair, report

a = args()
client_ctx, server_ctx = contexts(a, a.get("ciphers"))
client, server = connected_pair(client_ctx, server_ctx)
chunk = bytes(range(256)) * (a["chunk"] // 256)
buf = bytearray(a["chunk"])


def transfer(writer, reader, total):
    left = total
    received = 0
    while left > 0:
        out = chunk if left >= len(chunk) else chunk[:left]
        n = writer.write(out)
        if not n:
            raise OSError("write would block")
        left -= n
        while received < total - left:
            got = reader.readinto(buf)
            if not got:
                raise OSError("read would block with data in flight")
            received += got
    return received


mark()
c2s = transfer(client, server, a["bytes"])
mark()
s2c = transfer(server, client, a["bytes"])
mark()
plain_a, plain_b = pipe_pair()
plain = transfer(plain_a, plain_b, a["bytes"])
mark()
report(c2s=c2s, s2c=s2c, plain=plain, client_cipher=cipher_name(client), server_cipher=cipher_name(server))
