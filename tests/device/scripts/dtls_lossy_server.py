# A DTLS server over a lossy link (tests/device/test_lossy_links.py): the documented HelloVerify flow for one
# client on a socket with a timeout, then it echoes every datagram upper-cased until close_notify or a read
# times out. One RESULT: "completed" (the handshake and at least one echo), "timeout" (OSError ETIMEDOUT or
# MBEDTLS_ERR_SSL_TIMEOUT before that), or "other", with the stage and how long it took.
import errno
import json
import socket
import ssl
import time

from test_args import ARGS

SSL_TIMEOUT = -0x6800  # MBEDTLS_ERR_SSL_TIMEOUT: the handshake's retransmissions ran out
HELLO_VERIFY_REQUIRED = -0x6A80


def outcome_of(e):
    if isinstance(e, OSError) and e.args and e.args[0] in (errno.ETIMEDOUT, SSL_TIMEOUT):
        return "timeout"
    return "other"


def report(**kw):
    print("RESULT " + json.dumps(kw))


def error(stage, e, started, **kw):
    report(outcome=outcome_of(e), stage=stage, type=type(e).__name__,
           args=[a if isinstance(a, (int, str)) else repr(a) for a in e.args],
           ms=time.ticks_diff(time.ticks_ms(), started), **kw)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_SERVER)
    ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
    sock.settimeout(ARGS["timeout_s"])
    print("LISTENING", ARGS["port"])
    started = time.ticks_ms()
    try:
        _, client = sock.recvfrom(1, socket.MSG_PEEK)
    except OSError as e:
        sock.close()
        error("listen", e, started)
        return
    sock.connect(client)
    hello_verify = 0
    s = None
    while s is None:
        try:
            s = ctx.wrap_socket(sock, server_side=True, client_id=repr(client).encode())
        except OSError as e:
            # HelloVerify again: a cookie-less hello repeated, copied or late. Bounded by the client's patience.
            if e.args[0] == HELLO_VERIFY_REQUIRED and hello_verify < ARGS.get("hello_verify_max", 30):
                hello_verify += 1
                continue
            sock.close()
            error("handshake", e, started, hello_verify=hello_verify)
            return
    handshake_ms = time.ticks_diff(time.ticks_ms(), started)
    version = s.version()
    echoed = []
    end = "max echoes"
    while len(echoed) < ARGS.get("max_echoes", 10):
        try:
            data = s.recv(1500)  # one datagram
        except OSError as e:
            if echoed and outcome_of(e) == "timeout":
                end = "read timeout"  # the client is done, its close_notify lost
                break
            s.close()
            error("echo", e, started, hello_verify=hello_verify, handshake_ms=handshake_ms, echoed=echoed)
            return
        if not data:
            end = "close_notify"
            break
        s.write(data.upper())
        echoed.append(data.decode())
    report(outcome="completed" if echoed else "other", stage="echo", echoed=echoed, end=end,
           hello_verify=hello_verify, handshake_ms=handshake_ms, ms=time.ticks_diff(time.ticks_ms(), started),
           version=version)
    s.close()


main()
print("DONE")
