# A TLS client as a user writes it: connect, verify, send a payload, read the echo back.
import hashlib
import json
import socket
import ssl

from test_args import ARGS


def report(**kw):
    print("RESULT " + json.dumps(kw))


def error_report(e):
    report(
        ok=False,
        type=type(e).__name__,
        args=[a if isinstance(a, (int, str)) else repr(a) for a in e.args],
        is_oserror=isinstance(e, OSError),
        is_valueerror=isinstance(e, ValueError),
        verify_message=getattr(e, "verify_message", None),
        verify_code=getattr(e, "verify_code", None),
        reason=getattr(e, "reason", None),
    )


def load(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = getattr(ssl, ARGS.get("verify_mode", "CERT_REQUIRED"))
    if "check_hostname" in ARGS:
        ctx.check_hostname = ARGS["check_hostname"]
    if ARGS.get("cafile"):
        # Paths and bytes are both documented; the test chooses which.
        if ARGS.get("ca_as_bytes"):
            ctx.load_verify_locations(cadata=load(ARGS["cafile"]))
        else:
            ctx.load_verify_locations(cafile=ARGS["cafile"])
    if ARGS.get("certfile"):
        ctx.load_cert_chain(ARGS["certfile"], ARGS["keyfile"])
    if ARGS.get("ciphers"):
        ctx.set_ciphers(ARGS["ciphers"])
    if ARGS.get("alpn") is not None:
        ctx.set_alpn_protocols(ARGS["alpn"])
    addr = socket.getaddrinfo(ARGS["host"], ARGS["port"])[0][-1]
    sock = socket.socket()
    sock.connect(addr)
    try:
        s = ctx.wrap_socket(sock, server_hostname=ARGS.get("server_hostname"))
    except Exception as e:
        sock.close()
        error_report(e)
        return
    payload = bytes((i * 7 + 3) & 0xFF for i in range(ARGS.get("payload_size", 1000)))
    s.write(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.read(len(payload) - len(got))
        if not chunk:
            break
        got += chunk
    verify = s.verify_result()
    peer = s.getpeercert()
    report(
        ok=True,
        cipher=s.cipher(),
        version=s.version(),
        echoed=len(got),
        echo_matches=hashlib.sha256(got).digest() == hashlib.sha256(payload).digest(),
        verify_message=None if verify is None else verify.verify_message,
        peer_subject=peer.get("subject") if peer else None,
        peer_der_len=len(s.getpeercert(True)),
        alpn=s.selected_alpn_protocol() if "alpn" in ARGS else None,
    )
    s.close()
    s.close()  # close is idempotent


main()
