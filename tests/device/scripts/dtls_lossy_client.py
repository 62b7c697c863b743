# A DTLS client over a lossy link (tests/device/test_lossy_links.py): the handshake on a socket with a timeout,
# then numbered lines, each sent again under a new number after a read that timed out, until an echo comes back.
# One RESULT: "completed" (an echo whose every line is one we sent), "timeout" (OSError ETIMEDOUT or
# MBEDTLS_ERR_SSL_TIMEOUT), or "other", with the stage and how long it took.
import errno
import json
import socket
import ssl
import time

from test_args import ARGS

SSL_TIMEOUT = -0x6800  # MBEDTLS_ERR_SSL_TIMEOUT: the handshake's retransmissions ran out


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
    ctx = ssl.SSLContext(ssl.PROTOCOL_DTLS_CLIENT)
    ctx.load_verify_locations(cafile=ARGS["cafile"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1])
    sock.settimeout(ARGS["timeout_s"])
    started = time.ticks_ms()
    try:
        s = ctx.wrap_socket(sock, server_hostname=ARGS["server_hostname"])
    except Exception as e:
        sock.close()
        error("handshake", e, started)
        return
    handshake_ms = time.ticks_diff(time.ticks_ms(), started)
    sent = []
    attempts = ARGS.get("attempts", 5)
    for k in range(attempts):
        line = "{} {}\n".format(ARGS["message"], k)
        try:
            s.write(line.encode())
            sent.append(line.upper() if ARGS.get("upper") else line)
            reply = s.recv(1500)  # one datagram
        except OSError as e:
            if outcome_of(e) == "timeout" and k + 1 < attempts:
                print("RESEND after", e.args)
                continue
            s.close()
            error("echo", e, started, handshake_ms=handshake_ms, sent=len(sent))
            return
        lines = reply.decode().split("\n")
        intact = lines[-1] == "" and len(lines) > 1 and all(x + "\n" in sent for x in lines[:-1])
        report(outcome="completed" if intact else "other", stage="echo", reply=reply.decode(), sent=len(sent),
               handshake_ms=handshake_ms, ms=time.ticks_diff(time.ticks_ms(), started), version=s.version())
        s.close()
        return


main()
print("DONE")
