# A DTLS server that serves every client from one unconnected UDP socket: each datagram goes to the session of
# its source address, and a ClientHello from an address without a session gets a new SSLSocket with that
# address as client_id. A ClientHello without a valid cookie ends in "Hello Verify Required": the socket is
# closed at once, so a flood of them leaves no state behind (that is what HelloVerify cookies are for). Serves
# ARGS["connections"] clients that complete a handshake (one datagram echoed in upper case each), printing a
# RESULT with the heap after each, then DONE. With ARGS["firsts"] = n the final RESULT also tells, per source
# port, what the first datagram of each of the first n sessions came to ("hello_verify", "waiting" or the error).
import gc
import io
import json
import select
import socket
import ssl
import time

from test_args import ARGS

HELLO_VERIFY_REQUIRED = -0x6A80
MP_STREAM_POLL = 3
POLLIN = 1
POLLOUT = 4


class Peer(io.IOBase):
    """One client as a datagram stream for mpssl: the datagrams that came from its address, and writes sent
    back to that address through the shared socket."""

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.inbox = []
        self.last = time.ticks_ms()
        self.first = True

    def readinto(self, buf):
        if not self.inbox:
            return None
        datagram = self.inbox.pop(0)
        n = min(len(buf), len(datagram))
        buf[:n] = datagram[:n]
        return n

    def write(self, buf):
        self.sock.sendto(buf, self.addr)
        return len(buf)

    def setblocking(self, flag):
        pass

    def ioctl(self, req, arg):
        if req == MP_STREAM_POLL:
            return (arg & POLLIN if self.inbox else 0) | (arg & POLLOUT)
        return 0


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def is_client_hello(datagram):
    # DTLS record header (13 bytes): type 22 (handshake); then handshake type 1 (ClientHello)
    return len(datagram) > 13 and datagram[0] == 22 and datagram[13] == 1


ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
poller = select.poll()
poller.register(sock, select.POLLIN)

sessions = {}  # repr(address) -> [Peer, SSLSocket, handshake done]
counts = {"datagrams": 0, "client_hellos": 0, "hello_verify": 0, "ignored": 0, "failed": 0, "expired": 0,
          "served": 0, "max_sessions": 0}
errors = []
firsts = {}  # source port -> what the session's first datagram came to (the first ARGS["firsts"] sessions)
FIRSTS = ARGS.get("firsts", 0)
SESSION_TIMEOUT_MS = ARGS.get("session_timeout_s", 20) * 1000
deadline = time.ticks_add(time.ticks_ms(), ARGS.get("deadline_s", 600) * 1000)


def source_port(addr):
    # lwIP gives (ip, port); the unix port a sockaddr_in as bytes (family, port big-endian, address)
    return addr[1] if isinstance(addr, tuple) else addr[2] << 8 | addr[3]


def first(entry, what):
    peer = entry[0]
    if peer.first and len(firsts) < FIRSTS:
        firsts[str(source_port(peer.addr))] = what
    peer.first = False


def drop(key, entry):
    entry[1].close()
    del sessions[key]


def step(key, entry):
    peer, s, done = entry
    try:
        if not done and s.do_handshake():
            entry[2] = done = True
        if done:
            data = s.recv(1500)  # one datagram, or None: nothing yet
            if data:
                s.write(data.upper())
                drop(key, entry)
                counts["served"] += 1
                print("RESULT " + json.dumps({"served": counts["served"], "received": data.decode(),
                                              "heap": heap(), "counts": counts}))
        first(entry, "waiting")
    except OSError as e:
        drop(key, entry)
        if e.args[0] == HELLO_VERIFY_REQUIRED:
            first(entry, "hello_verify")
            counts["hello_verify"] += 1
        else:
            first(entry, repr(e.args))
            counts["failed"] += 1
            if len(errors) < 10:
                errors.append([a if isinstance(a, (int, str)) else repr(a) for a in e.args])


print("LISTENING", ARGS["port"])
while counts["served"] < ARGS.get("connections", 1) and time.ticks_diff(deadline, time.ticks_ms()) > 0:
    if poller.poll(50):
        data, addr = sock.recvfrom(2048)
        counts["datagrams"] += 1
        key = repr(addr)
        entry = sessions.get(key)
        if entry is None:
            if not is_client_hello(data):
                counts["ignored"] += 1  # e.g. a late close_notify of a session already closed
                continue
            counts["client_hellos"] += 1
            peer = Peer(sock, addr)
            peer.inbox.append(data)
            s = ctx.wrap_socket(peer, server_side=True, client_id=key.encode(), do_handshake_on_connect=False)
            s.setblocking(False)
            entry = sessions[key] = [peer, s, False]
        else:
            entry[0].inbox.append(data)
        entry[0].last = time.ticks_ms()
        step(key, entry)
    else:  # quiet: run the retransmission timers, expire what a client abandoned
        for key, entry in list(sessions.items()):
            if time.ticks_diff(time.ticks_ms(), entry[0].last) > SESSION_TIMEOUT_MS:
                drop(key, entry)
                counts["expired"] += 1
            else:
                step(key, entry)
    counts["max_sessions"] = max(counts["max_sessions"], len(sessions))
for key, entry in list(sessions.items()):
    drop(key, entry)
sock.close()
print("RESULT " + json.dumps({"final": True, "counts": counts, "errors": errors, "heap": heap(), "firsts": firsts}))
print("DONE")
