# A TLS client against links that stall (tests/device/test_lossy_links.py): per case in ARGS["cases"]
# ([name, port]) connect, set the socket's timeout, handshake, then send 4 bytes and read them back. A stalled
# link must end the call that waited with a timeout; the same call again must end the same way (the socket does
# not hang afterwards either). Then a good handshake straight to the server (ARGS["good_port"]) shows the
# interpreter still works. One RESULT per case: outcome "timeout" or what happened, the stage ("handshake" or
# "read") and what the repeated call did ("again").
import errno
import json
import socket
import ssl

from test_args import ARGS

SSL_TIMEOUT = -0x6800


def outcome_of(e):
    if isinstance(e, OSError) and e.args and e.args[0] in (errno.ETIMEDOUT, SSL_TIMEOUT):
        return "timeout"
    return f"{type(e).__name__}{e.args}"


def connect(port):
    sock = socket.socket()
    sock.connect(socket.getaddrinfo(ARGS["host"], port)[0][-1])
    sock.settimeout(ARGS["timeout_s"])
    return sock


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ARGS["cafile"])
    return ctx


def repeat(call):
    try:
        call()
    except Exception as e:
        return outcome_of(e)
    return "returned"


def run_case(name, port):
    sock = connect(port)
    s = context().wrap_socket(sock, server_hostname=ARGS["server_hostname"], do_handshake_on_connect=False)
    try:
        try:
            s.do_handshake()
        except Exception as e:
            return {"case": name, "outcome": outcome_of(e), "stage": "handshake", "again": repeat(s.do_handshake)}
        s.write(b"ping")
        try:
            got = s.read(4)
        except Exception as e:
            return {"case": name, "outcome": outcome_of(e), "stage": "read", "again": repeat(lambda: s.read(4))}
        return {"case": name, "outcome": "completed", "stage": "read", "got": repr(got)}
    finally:
        s.close()


for name, port in ARGS["cases"]:
    print("RESULT " + json.dumps(run_case(name, port)))

sock = connect(ARGS["good_port"])
s = context().wrap_socket(sock, server_hostname=ARGS["server_hostname"])
s.write(b"after the stalls")
got = s.read(16)
s.close()
print("RESULT " + json.dumps({"case": "good", "outcome": "completed" if got == b"after the stalls" else repr(got)}))
print("DONE")
