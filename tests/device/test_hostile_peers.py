"""Hostile peers: host peers that misbehave on purpose (tools/mpssl_hil/hostile_peers.py, on tlslite-ng and raw
sockets). The board as TLS client against servers that cut, replace or inject into an honest handshake, or
misbehave after it (blocking and non-blocking on select.poll); as TLS server against clients that do the same;
as DTLS server against a flood of cookie-less ClientHellos, malformed ClientHellos, and clients that never
return with their cookie.

For every misbehaviour the board fails cleanly: its call raises ssl.SSLError or OSError (or it sends the peer an
alert and carries on), the interpreter lives on to the next case and prints DONE, and after all cases the heap
is back where it was. These run on the targets where mbedTLS is on the GC heap (the unix GC-heap build, the qemu
board), so gc.mem_alloc() counts mbedTLS' memory too; on unix also under valgrind. What the board does in each
case is pinned (the mbedTLS error name in the exception's args, or "ok"/"eof" where it goes on), so a change of
behaviour shows. A behaviour found wrong is a strict xfail with its reason.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import script
from tlslite.extensions import TLSExtension

from mpssl_hil.board.target import RunResult, Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.peers import DtlsClient, tls_client_exchange
from mpssl_hil.peers import hostile as hp
from mpssl_hil.peers.hostile import (
    CERTIFICATE,
    CHANGE_CIPHER_SPEC_MSG,
    FATAL,
    FINISHED,
    SERVER_FLIGHT,
    SERVER_HELLO,
    SERVER_HELLO_DONE,
    SERVER_KEY_EXCHANGE,
    WARNING,
    Cut,
    HostileCase,
    HostileTlsServer,
    Inject,
    RawPlan,
    Replace,
    SendAlert,
    TlsPlan,
)
from mpssl_hil.plugin import peer_bind_address

pytestmark = pytest.mark.needs_micropython

# A leaked connection holds far more than this (its SSLSocket alone is over 500 bytes, its mbedTLS buffers over
# 16 KiB); the conservative GC may keep a small block or two alive through a stale word on the stack.
HEAP_SLACK = 1024
GARBAGE = bytes(range(256))

CONN_EOF = "MBEDTLS_ERR_SSL_CONN_EOF"
INVALID_RECORD = "MBEDTLS_ERR_SSL_INVALID_RECORD"
FATAL_ALERT = "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE"
UNEXPECTED = "MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE"
BAD_INPUT = "MBEDTLS_ERR_SSL_BAD_INPUT_DATA"
INVALID_MAC = "MBEDTLS_ERR_SSL_INVALID_MAC"
UNSUPPORTED_EXTENSION = "MBEDTLS_ERR_SSL_UNSUPPORTED_EXTENSION"
OK = "ok"

# Where the server cuts each of its messages (each in a record of its own): after 1 byte, the record header, the
# record and handshake headers, half of it, all but the last byte. ChangeCipherSpec is a record of 6 bytes.
CUT_POINTS = {"1": Cut(1), "5": Cut(5), "9": Cut(9), "half": Cut(fraction=0.5), "all but 1": Cut(-1)}
CCS_CUT_POINTS = {"1": Cut(1), "5": Cut(5)}


def hello_request_record() -> bytes:
    return hp.record(hp.HANDSHAKE, hp.handshake_message(0, b""))


def corrupt_last_byte(payload: bytes) -> bytes:
    return hp.record(hp.HANDSHAKE, payload[:-1] + bytes([payload[-1] ^ 0x01]))


def list3(data: bytes) -> bytes:
    """A TLS vector with a 3-byte length."""
    return len(data).to_bytes(3, "big") + data


def flip_last_byte(message: bytes) -> bytes:
    return message[:-1] + bytes([message[-1] ^ 0x01])


# The board as client: case -> (plan, what the board does: the mbedTLS error name it raises, or "ok").
Expected = str | tuple[str, ...]  # what the board does, or the alternatives it may do


def client_cases(pki: Pki, write_size: int = 1024 * 1024) -> list[tuple[HostileCase, Expected]]:
    ca = (pki.intermediate_ca.cert, pki.intermediate_ca.key)
    only_aes_gcm = {"ciphers": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]}
    cases: list[tuple[HostileCase, Expected]] = [
        (HostileCase("honest", TlsPlan()), OK),  # first: warms up before the heap is measured
        # Records
        (HostileCase("truncated record (header says 100, 10 arrive)",
                     RawPlan(hp.record(hp.HANDSHAKE, bytes(100))[:15])), CONN_EOF),
        # mbedTLS refuses a length its input buffer cannot take before it reads the body.
        (HostileCase("oversized record (2^14+2048+1)", RawPlan(hp.record(hp.HANDSHAKE, bytes(hp.MAX_CIPHERTEXT + 1)))),
         BAD_INPUT),
        (HostileCase("plaintext record over 2^14", RawPlan(hp.record(hp.HANDSHAKE, bytes(hp.MAX_FRAGMENT + 1)))),
         INVALID_RECORD),
        (HostileCase("garbage between records", TlsPlan({CERTIFICATE: Inject(b"GARBAGE GARBAGE GARBAGE\r\n")})),
         INVALID_RECORD),
        (HostileCase("unknown record type", TlsPlan({CERTIFICATE: Inject(hp.record(99, b"xx"))})), INVALID_RECORD),
        (HostileCase("empty handshake record", TlsPlan({CERTIFICATE: Inject(hp.record(hp.HANDSHAKE, b""))})),
         INVALID_RECORD),
        (HostileCase("HTTP answer", RawPlan(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")),
         INVALID_RECORD),
        # An unexpected alert at each handshake step
        (HostileCase("fatal alert after ClientHello", TlsPlan({SERVER_HELLO: SendAlert(FATAL, hp.HANDSHAKE_FAILURE)})),
         FATAL_ALERT),
        (HostileCase("fatal alert after ServerHello", TlsPlan({CERTIFICATE: SendAlert(FATAL, hp.UNEXPECTED_MESSAGE)})),
         FATAL_ALERT),
        (HostileCase("fatal alert after Certificate",
                     TlsPlan({SERVER_KEY_EXCHANGE: SendAlert(FATAL, hp.BAD_CERTIFICATE)})), FATAL_ALERT),
        (HostileCase("fatal alert after ServerKeyExchange",
                     TlsPlan({SERVER_HELLO_DONE: SendAlert(FATAL, hp.ILLEGAL_PARAMETER)})), FATAL_ALERT),
        (HostileCase("fatal alert after ServerHelloDone",
                     TlsPlan({CHANGE_CIPHER_SPEC_MSG: SendAlert(FATAL, hp.DECRYPT_ERROR)})), FATAL_ALERT),
        # After ChangeCipherSpec a plaintext alert does not authenticate: a bad record MAC, not the alert.
        (HostileCase("plaintext fatal alert instead of Finished",
                     TlsPlan({FINISHED: SendAlert(FATAL, hp.INTERNAL_ERROR)})), INVALID_MAC),
        # Wrong alerts
        (HostileCase("close_notify mid-handshake", TlsPlan({CERTIFICATE: SendAlert(WARNING, hp.CLOSE_NOTIFY)})),
         "MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY"),
        # mbedTLS answers a no_renegotiation warning during the handshake with unexpected_message.
        (HostileCase("no_renegotiation warning mid-handshake",
                     TlsPlan({CERTIFICATE: SendAlert(WARNING, hp.NO_RENEGOTIATION)})), UNEXPECTED),
        # Other warnings are passed over and the handshake goes on.
        (HostileCase("warning alert, then the handshake goes on",
                     TlsPlan({CERTIFICATE: Inject(hp.alert_record(WARNING, hp.USER_CANCELED))})), OK),
        (HostileCase("100 warning alerts, then the handshake goes on",
                     TlsPlan({CERTIFICATE: Inject(hp.alert_record(WARNING, hp.USER_CANCELED) * 100)})), OK),
        # mbedTLS takes any level but "fatal" as a warning.
        (HostileCase("alert of unknown level 7", TlsPlan({CERTIFICATE: Inject(hp.record(hp.ALERT, bytes([7, 40])))})),
         OK),
        (HostileCase("alert record of 3 bytes", TlsPlan({CERTIFICATE: Inject(hp.record(hp.ALERT, bytes([2, 40, 0])))})),
         INVALID_RECORD),
        (HostileCase("alert record of 1 byte", TlsPlan({CERTIFICATE: Inject(hp.record(hp.ALERT, bytes([2])))})),
         INVALID_RECORD),
        # Renegotiation requests. During the handshake RFC 5246 says a client ignores HelloRequest; mbedTLS
        # fails instead, cleanly. After it (renegotiation is compiled out) the board ignores it and answers with a
        # no_renegotiation warning (checked on the server's side below).
        (HostileCase("HelloRequest during the handshake", TlsPlan({CERTIFICATE: Inject(hello_request_record())})),
         UNEXPECTED),
        (HostileCase("HelloRequest after the handshake", TlsPlan(after=hp.hello_request_then_echo(1))), OK),
        (HostileCase("10 HelloRequests after the handshake", TlsPlan(after=hp.hello_request_then_echo(10))), OK),
        # A ServerHello choosing a suite the board did not offer. A suite mbedTLS does not know at all ends in
        # BAD_INPUT_DATA (with an internal_error alert); one it knows but was not offered, in a bad ServerHello.
        (HostileCase("ServerHello with a suite not offered (RC4-SHA)",
                     TlsPlan({SERVER_HELLO: Replace(hp.with_cipher_suite(0x0005))})), BAD_INPUT),
        (HostileCase("ServerHello with a TLS 1.3 suite",
                     TlsPlan({SERVER_HELLO: Replace(hp.with_cipher_suite(0x1301))})), BAD_INPUT),
        (HostileCase("ServerHello with an unassigned suite",
                     TlsPlan({SERVER_HELLO: Replace(hp.with_cipher_suite(0xFAFA))})), BAD_INPUT),
        (HostileCase("ServerHello with a known suite not offered (ChaCha20 to an AES-GCM-only client)",
                     TlsPlan({SERVER_HELLO: Replace(hp.with_cipher_suite(0xCCA9))}), only_aes_gcm),
         "MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER"),
        (HostileCase("corrupted Finished", TlsPlan({FINISHED: Replace(corrupt_last_byte)})),
         INVALID_MAC),
        # Certificates: 50 certificates of about 300 bytes fit in the 16 KiB input buffer and are parsed; the
        # chain is longer than mbedTLS verifies (MBEDTLS_X509_MAX_INTERMEDIATE_CA). A 64 KiB certificate makes
        # a handshake message larger than the input buffer.
        (HostileCase("chain of 50 certificates",
                     TlsPlan({CERTIFICATE: Replace(hp.with_certificates(hp.long_chain(*ca, count=50)))})),
         "MBEDTLS_ERR_X509_FATAL_ERROR"),
        (HostileCase("64 KiB certificate",
                     TlsPlan({CERTIFICATE: Replace(hp.with_certificates(hp.huge_certificate(*ca)))})),
         "MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE"),
    ]
    # Malformed messages, each in an otherwise honest handshake.
    hello_with = hp.server_hello_with
    version = "MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION"
    decode = "MBEDTLS_ERR_SSL_DECODE_ERROR"
    illegal = "MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER"
    cases += [
        (HostileCase("ServerHello for TLS 1.0",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(server_version=(3, 1)))})), version),
        (HostileCase("ServerHello for version 3.4",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(server_version=(3, 4)))})), version),
        (HostileCase("ServerHello with a session id of 33 bytes",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(session_id=bytearray(33)))})), decode),
        (HostileCase("ServerHello with deflate compression",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(compression_method=1))})),
         "MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE"),
        # RFC 5246 7.4.1.4: a client aborts on an extension it did not ask for, or on one sent twice. With ALPN
        # compiled in, mbedTLS knows the ALPN extension and refuses it unasked with unsupported_extension; one it
        # does not know, or one sent twice, it accepts, and the handshake fails later only because the board's
        # Finished covers the changed ServerHello, which tlslite-ng answers with a fatal alert.
        (HostileCase("ServerHello with an extension not asked for (ALPN)",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(extensions=[
                         TLSExtension(extType=16).create(bytearray(b"\x00\x03\x02h2"))]))})), UNSUPPORTED_EXTENSION),
        (HostileCase("ServerHello with renegotiation_info twice",
                     TlsPlan({SERVER_HELLO: Replace(hello_with(extensions=[
                         TLSExtension(extType=0xFF01).create(bytearray(b"\x00")),
                         TLSExtension(extType=0xFF01).create(bytearray(b"\x00"))]))})), FATAL_ALERT),
        (HostileCase("ServerHello with bytes past its end",
                     TlsPlan({SERVER_HELLO: Replace(lambda m: m + b"\x00\x10")})), INVALID_RECORD),
        (HostileCase("empty certificate list",
                     TlsPlan({CERTIFICATE: Replace(lambda m: hp.handshake_message(11, b"\x00\x00\x00"))})), decode),
        (HostileCase("garbage instead of a certificate",
                     TlsPlan({CERTIFICATE: Replace(lambda m: hp.handshake_message(11, list3(list3(GARBAGE))))})),
         "MBEDTLS_ERR_X509_INVALID_FORMAT"),
        (HostileCase("certificate list longer than the message",
                     TlsPlan({CERTIFICATE: Replace(lambda m: m[:4] + (0xFFFF).to_bytes(3, "big") + m[7:])})), decode),
        (HostileCase("ServerKeyExchange with a bad signature",
                     TlsPlan({SERVER_KEY_EXCHANGE: Replace(flip_last_byte)})), "MBEDTLS_ERR_ECP_VERIFY_FAILED"),
        (HostileCase("ServerKeyExchange on a curve not offered (x25519)",
                     TlsPlan({SERVER_KEY_EXCHANGE: Replace(lambda m: m[:5] + b"\x00\x1d" + m[7:])})), illegal),
        (HostileCase("ServerKeyExchange cut short inside its own length",
                     TlsPlan({SERVER_KEY_EXCHANGE: Replace(lambda m: hp.handshake_message(12, m[4:40]))})), illegal),
        (HostileCase("ServerHelloDone with a body",
                     TlsPlan({SERVER_HELLO_DONE: Replace(lambda m: hp.handshake_message(14, b"\x00"))})), decode),
    ]
    # After the handshake, in the middle of the data exchange (the board has sent its 100 bytes, waits for the
    # echo).
    after = hp.after_first_data
    cases += [
        (HostileCase("fatal alert after the handshake",
                     TlsPlan(after=after(hp.encrypted(hp.ALERT, bytes([FATAL, hp.INTERNAL_ERROR]))))), FATAL_ALERT),
        (HostileCase("close_notify, then more data",
                     TlsPlan(after=after(hp.encrypted(hp.ALERT, bytes([WARNING, hp.CLOSE_NOTIFY])),
                                         hp.encrypted(hp.APPLICATION_DATA, b"after close_notify")))), "eof"),
        # Unauthenticated records under the session's keys.
        (HostileCase("plaintext alert after the handshake",
                     TlsPlan(after=after(hp.raw(hp.alert_record(FATAL, hp.INTERNAL_ERROR))))), INVALID_MAC),
        (HostileCase("garbage record after the handshake",
                     TlsPlan(after=after(hp.raw(hp.record(hp.APPLICATION_DATA, bytes(40)))))), INVALID_MAC),
        (HostileCase("garbage bytes after the handshake", TlsPlan(after=after(hp.raw(b"GARBAGE GARBAGE\r\n")))),
         INVALID_RECORD),
        # End of stream in the middle of a record reads as the end of the stream, as a close without
        # close_notify does (docs/design.md; CPython's suppress_ragged_eofs): truncation does not show.
        (HostileCase("truncated record after the handshake",
                     TlsPlan(after=after(hp.raw(hp.record(hp.APPLICATION_DATA, bytes(100))[:15])))), "eof"),
        (HostileCase("encrypted record over 2^14 after the handshake",
                     TlsPlan(after=after(hp.encrypted(hp.APPLICATION_DATA, bytes(hp.MAX_FRAGMENT + 1))))),
         INVALID_RECORD),
        # One empty record is read past (test_empty_records_are_not_the_end_of_the_stream: two are not).
        (HostileCase("1 empty record, then the echo",
                     TlsPlan(after=after(hp.encrypted(hp.APPLICATION_DATA, b"", 1), echo=True))), OK),
        (HostileCase("ChangeCipherSpec after the handshake",
                     TlsPlan(after=after(hp.encrypted(hp.CHANGE_CIPHER_SPEC, b"\x01")))), UNEXPECTED),
        (HostileCase("ServerHelloDone after the handshake",
                     TlsPlan(after=after(hp.encrypted(hp.HANDSHAKE, hp.handshake_message(14, b""))))), UNEXPECTED),
        (HostileCase("unknown record type after the handshake", TlsPlan(after=after(hp.encrypted(99, b"xx")))),
         INVALID_RECORD),
    ]
    # The server stops reading while the board writes 1 MiB (the socket buffers fill, writes wait or return
    # None), then resets the connection, or sends an alert and reads on: the board's write sees the reset
    # (ECONNRESET on unix, or EPIPE when the reset came first; lwIP: ECONNRESET), and its read the alert.
    megabyte = {"size": write_size}
    cases += [
        (HostileCase("reset while the board writes 1 MiB", TlsPlan(after=hp.stall(2, reset=True)), megabyte),
         ("OSError[104]", "OSError[32]")),
        (HostileCase("fatal alert while the board writes 1 MiB",
                     TlsPlan(after=hp.stall(2, hp.encrypted(hp.ALERT, bytes([FATAL, hp.INTERNAL_ERROR])))),
                     megabyte),
         FATAL_ALERT),
    ]
    # The server closes in the middle of each of its messages.
    for point in SERVER_FLIGHT:
        for where, cut in (CCS_CUT_POINTS if point == CHANGE_CIPHER_SPEC_MSG else CUT_POINTS).items():
            cases.append((HostileCase(f"close in {point} after {where}", TlsPlan({point: cut})), CONN_EOF))
    cases.append((HostileCase("honest again", TlsPlan()), OK))  # last: the board still works
    return cases


def outcome(result: dict[str, Any]) -> str:
    """The mbedTLS error name, or what the board saw: "ok" (the echo came back), "eof" (the stream ended)."""
    if result["outcome"] != "error":
        return str(result["outcome"])
    args = result["args"]
    return str(args[1]) if len(args) > 1 and str(args[1]).startswith("MBEDTLS_") else f"{result['type']}{args}"


def check_clean(run: RunResult, expected: dict[str, Expected]) -> dict[str, dict[str, Any]]:
    """The run printed DONE and one result per case; each failure is an OSError raised by the board's call; the
    heap is back within HEAP_SLACK. Returns the results by case."""
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    results = run.results()
    heap = results[-1]
    by_case = {r["case"]: r for r in results[:-1]}
    assert list(by_case) == list(expected), run.describe()
    not_oserror = {name: r for name, r in by_case.items() if r["outcome"] == "error" and not r["is_oserror"]}
    assert not not_oserror, f"exceptions that are not OSError: {not_oserror}"
    got = {name: outcome(r) for name, r in by_case.items()}
    wrong = {name: (got[name], want) for name, want in expected.items()
             if got[name] not in (want if isinstance(want, tuple) else (want,))}
    assert not wrong, f"(what the board did, what was expected): {wrong}"
    assert heap["heap_after"] - heap["heap_before"] <= HEAP_SLACK, heap
    return by_case


MODES = ["blocking", "nonblocking"]  # the board's SSLSocket: blocking calls, or non-blocking ones and select.poll


def valgrind_target(micropython_bin: Path, tmp_path: Path) -> UnixTarget:
    """The unix build under valgrind; as in test_bad_input.py only invalid reads, writes and frees count."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (Debian package valgrind)")
    wrapper = ["valgrind", "--error-exitcode=99", "--undef-value-errors=no", "--leak-check=no"]
    return UnixTarget(micropython_bin, workdir_root=tmp_path, wrapper=wrapper)


def check_valgrind(run: RunResult) -> None:
    assert run.returncode == 0, run.describe()
    assert "ERROR SUMMARY: 0 errors" in run.stderr, run.stderr[-3000:]


Serve = Callable[[list[tuple[HostileCase, Expected]]], HostileTlsServer]


@pytest.fixture
def serve(pki: Pki, peer_log_dir: Path | None, pytestconfig: pytest.Config) -> Serve:
    """`serve(cases)`: a HostileTlsServer for the cases, where the other host peers bind (loopback, or every
    interface when --host-ip says real boards reach this host over a network)."""

    def make(cases: list[tuple[HostileCase, Expected]]) -> HostileTlsServer:
        return HostileTlsServer([c for c, _ in cases], pki.server_ec.chain, pki.server_ec.key,
                                host=peer_bind_address(pytestconfig), log_dir=peer_log_dir)

    return make


def run_client_cases(target: Target, server: HostileTlsServer, pki: Pki, mode: str, timeout: float) -> RunResult:
    cases = [[case.name, server.served[case.name].port, case.board] for case in server.cases]
    return target.run(script("tls_client_vs_hostile.py"),
                      {"host": target.host_address, "cases": cases, "nonblocking": mode == "nonblocking"},
                      {"cafile": pki.root_ca.cert}, timeout=timeout)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.needs("network", "gc_heap")
def test_board_client_survives_hostile_servers(target: Target, pki: Pki, serve: Serve, mode: str) -> None:
    cases = client_cases(pki)
    with serve(cases) as server:
        run = run_client_cases(target, server, pki, mode, timeout=1200)
    check_clean(run, {c.name: expected for c, expected in cases})
    served = server.served
    # Renegotiation: the board ignored each HelloRequest and said so with a no_renegotiation warning (which
    # tlslite-ng takes as the end of the connection, after its echo).
    for name in ("HelloRequest after the handshake", "10 HelloRequests after the handshake"):
        assert served[name].handshake_ok and "no_renegotiation" in str(served[name].server_error), served[name]
    # The board told the server why it gave up, where the server was still there to read it.
    assert (FATAL, hp.UNEXPECTED_MESSAGE) in served["no_renegotiation warning mid-handshake"].client_alerts
    assert "access_denied" in str(served["chain of 50 certificates"].server_error)


@pytest.mark.valgrind
def test_board_client_against_hostile_servers_under_valgrind(micropython_bin: Path, tmp_path: Path, pki: Pki,
                                                             serve: Serve) -> None:
    """The non-blocking mode only (the blocking one runs the same mbedTLS code, with fewer of the module's
    paths): a handshake costs over a second under valgrind."""
    mode = "nonblocking"
    target = valgrind_target(micropython_bin, tmp_path)
    cases = client_cases(pki, write_size=256 * 1024)  # 1 MiB of records takes minutes under valgrind
    with serve(cases) as server:
        run = run_client_cases(target, server, pki, mode, timeout=1800)
    check_valgrind(run)
    check_clean(run, {c.name: expected for c, expected in cases})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.needs("network", "gc_heap")
def test_empty_records_are_not_the_end_of_the_stream(target: Target, pki: Pki, serve: Serve,
                                                     mode: str) -> None:
    """RFC 5246 6.2.1 allows zero-length application data records (OpenSSL sent them to randomize CBC IVs).
    mbedTLS skips one, but hands a second in a row to mbedtls_ssl_read()'s caller as a read of 0 bytes, which is
    also how it reports the end of the stream; the module returned b"" although the connection was open and the
    echo followed. Now only the stream's own end is the end: the board reads the echo. More than three empty
    records in a row meet mbedTLS' own guard against CPU exhaustion: a clean INVALID_MAC."""
    after = hp.after_first_data
    cases = [(HostileCase("honest", TlsPlan()), OK)]
    for count, expected in ((2, OK), (3, OK), (1000, INVALID_MAC)):
        cases.append((HostileCase(f"{count} empty records, then the echo",
                                  TlsPlan(after=after(hp.encrypted(hp.APPLICATION_DATA, b"", count), echo=True))),
                      expected))
    cases.append((HostileCase("honest again", TlsPlan()), OK))
    with serve(cases) as server:
        run = run_client_cases(target, server, pki, mode, timeout=600)
    check_clean(run, {c.name: expected for c, expected in cases})


# ------------------------------------------------------------------------------------------------------------
# The board as server, hostile clients


def server_cases() -> list[tuple[str, list[hp.ClientStep], str]]:
    """(case, the client's steps for hostile_client_case, what the board raises)."""
    hello = hp.record(hp.HANDSHAKE, hp.client_hello())
    # A server's first record must be a handshake record: anything else is an unexpected message.
    return [
        ("HTTP request instead of ClientHello", [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"], UNEXPECTED),
        ("garbage instead of ClientHello", [GARBAGE], UNEXPECTED),
        ("SSLv2 ClientHello", [bytes.fromhex("802e0100020015000000100700c0030080010080060040040080020080")
                               + bytes(16)], UNEXPECTED),
        ("oversized record", [hp.record(hp.HANDSHAKE, bytes(hp.MAX_CIPHERTEXT + 1))],
         "MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER"),
        ("record header only, then close", [hello[:5], "close"], CONN_EOF),
        ("truncated ClientHello, then close", [hello[:len(hello) // 2], "close"], CONN_EOF),
        ("ClientHello but its last byte, then close", [hello[:-1], "close"], CONN_EOF),
        ("ClientHello with no common suite", [hp.record(hp.HANDSHAKE, hp.client_hello(suites=[0x0005]))],
         "MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE"),
        ("ClientHello, then close", [hello, "close"], CONN_EOF),
        ("ClientHello, the server's flight, then close", [hello, "flight", "close"], CONN_EOF),
        ("ClientHello, the server's flight, then a fatal alert",
         [hello, "flight", hp.alert_record(FATAL, hp.HANDSHAKE_FAILURE)], FATAL_ALERT),
        ("ClientHello, the server's flight, then garbage", [hello, "flight", GARBAGE], INVALID_RECORD),
        ("ClientHello, the server's flight, then a malformed ClientKeyExchange",
         [hello, "flight", hp.record(hp.HANDSHAKE, hp.handshake_message(16, b"\x01\x00"))],
         "MBEDTLS_ERR_SSL_DECODE_ERROR"),
        ("two ClientHellos", [hello + hello, "close"], UNEXPECTED),
        # After an honest handshake (tlslite-ng as the client), in the middle of the echo.
        # A renegotiation request (RFC 5746's client-initiated renegotiation, a known DoS vector): the board,
        # built without renegotiation, answers no_renegotiation and echoes on.
        ("renegotiation ClientHello after the handshake",
         ["handshake", hp.app_data(b"x" * 100), hp.read_app_data(100),
          hp.encrypted(hp.HANDSHAKE, hp.client_hello()), hp.app_data(b"after"), "close"], OK),
        ("100 renegotiation ClientHellos after the handshake",
         ["handshake", hp.encrypted(hp.HANDSHAKE, hp.client_hello(), count=100), hp.app_data(b"after"), "close"], OK),
        ("fatal alert after the handshake",
         ["handshake", hp.app_data(b"x" * 100), hp.encrypted(hp.ALERT, bytes([FATAL, hp.INTERNAL_ERROR]))],
         FATAL_ALERT),
        ("garbage record after the handshake",
         ["handshake", hp.app_data(b"x" * 100), hp.raw(hp.record(hp.APPLICATION_DATA, bytes(40)))], INVALID_MAC),
        ("ChangeCipherSpec after the handshake", ["handshake", hp.encrypted(hp.CHANGE_CIPHER_SPEC, b"\x01")],
         UNEXPECTED),
        # A record cut by the end of the stream reads as the end of the stream (docs/design.md).
        ("close in the middle of a record after the handshake",
         ["handshake", hp.raw(hp.record(hp.APPLICATION_DATA, bytes(100))[:15]), "close"], OK),
    ]


def play_server_cases(target: Target, pki: Pki, mode: str) -> tuple[RunResult, dict[str, hp.ClientCaseResult]]:
    cases = server_cases()
    names = ["honest", *(name for name, _, _ in cases), "honest again"]
    port = target.server_port("tcp")
    board = target.start(script("tls_server_vs_hostile.py"),
                         {"host": port.board_host, "port": port.board_port, "cases": names,
                          "nonblocking": mode == "nonblocking"},
                         {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        board.wait_for_output("LISTENING", timeout=120)
        assert tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost",
                                   b"warm-up").echoed == b"warm-up"
        seen = {name: hp.hostile_client_case(name, port.host, port.host_port, steps) for name, steps, _ in cases}
        assert tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost",
                                   b"still alive").echoed == b"still alive"
    finally:
        run = board.wait(300)
    check_clean(run, {"honest": OK, **{name: expected for name, _, expected in cases}, "honest again": OK})
    return run, seen


@pytest.mark.needs("inbound")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.needs("gc_heap")
def test_board_server_survives_hostile_clients(target: Target, pki: Pki, mode: str) -> None:
    run, seen = play_server_cases(target, pki, mode)
    # Where the client was still reading, the board's refusal reached it as an alert before the close.
    assert seen["garbage instead of ClientHello"].board_closed
    assert any(level == FATAL for level, _ in seen["ClientHello with no common suite"].board_alerts), seen
    # The renegotiation request was refused with an (encrypted) alert record, and the echo went on: after the
    # request the board sent an alert, the echo of "after", and its close_notify.
    by_case = {r["case"]: r for r in run.results()[:-1]}
    renegotiation = seen["renegotiation ClientHello after the handshake"]
    records, _ = hp.parse_records(renegotiation.received)
    assert [t for t, _ in records] == [hp.ALERT, hp.APPLICATION_DATA, hp.ALERT], renegotiation
    assert by_case["renegotiation ClientHello after the handshake"]["echoed"] == 105, by_case
    assert by_case["100 renegotiation ClientHellos after the handshake"]["echoed"] == 5, by_case


@pytest.mark.valgrind
@pytest.mark.parametrize("mode", MODES)
def test_board_server_against_hostile_clients_under_valgrind(micropython_bin: Path, tmp_path: Path,
                                                             pki: Pki, mode: str) -> None:
    run, _seen = play_server_cases(valgrind_target(micropython_bin, tmp_path), pki, mode)
    check_valgrind(run)


# ------------------------------------------------------------------------------------------------------------
# DTLS: a ClientHello flood without cookies against the board's server


def flood_board(target: Target, pki: Pki, window: int) -> tuple[RunResult, hp.FloodResult]:
    """A real client (openssl s_client), 2000 cookie-less ClientHellos from 200 ports, a real client again."""
    total, sources = 2000, 200
    port = target.server_port("udp")
    board = target.start(script("dtls_server_flood.py"),
                         {"host": port.board_host, "port": port.board_port, "connections": 2, "deadline_s": 600},
                         {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        board.wait_for_output("LISTENING", timeout=120)
        # A few hellos first, so that what the flood's path allocates once is there before the heap is measured.
        hp.dtls_client_hello_flood(port.host, port.host_port, total=window, sources=window, window=window)
        client = DtlsClient(port.host, port.host_port, cafile=pki.root_ca.cert, server_hostname="localhost")
        first = client.exchange(b"before the flood\n", timeout=120)
        assert first.handshake_ok and first.received == b"BEFORE THE FLOOD\n", first.log
        board.wait_for_output('"served": 1', timeout=60)
        flood = hp.dtls_client_hello_flood(port.host, port.host_port, total=total, sources=sources, window=window,
                                           deadline_s=400)
        second = client.exchange(b"after the flood\n", timeout=120)
        assert second.handshake_ok and second.received == b"AFTER THE FLOOD\n", second.log
    finally:
        run = board.wait(300)
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    before, after, final = run.results()
    counts = final["counts"]
    print(f"flood: {flood.as_dict()}\nboard: {final}\nheap: {before['heap']} -> {after['heap']}")
    # Every ClientHello of the flood that reached the board was answered with HelloVerifyRequest and forgotten:
    # no session was ever kept for one (only the two real clients had one, one at a time).
    assert counts["max_sessions"] == 1, final
    assert counts["failed"] == 0 and counts["expired"] == 0, final
    assert flood.other_answers == 0 and flood.hello_verify_requests >= total // 4, flood
    assert counts["hello_verify"] >= flood.hello_verify_requests, (final, flood)
    assert after["heap"] - before["heap"] <= HEAP_SLACK, (before, after)
    return run, flood


@pytest.mark.needs("dtls", "inbound")
@pytest.mark.needs("gc_heap")
def test_dtls_server_keeps_no_state_for_a_client_hello_flood(target: Target, pki: Pki) -> None:
    # A board's lwIP socket queues a few datagrams only: fewer unanswered hellos at a time there.
    flood_board(target, pki, window=32 if isinstance(target, UnixTarget) else 4)


@pytest.mark.valgrind
def test_dtls_client_hello_flood_under_valgrind(micropython_bin: Path, tmp_path: Path, pki: Pki) -> None:
    run, _flood = flood_board(valgrind_target(micropython_bin, tmp_path), pki, window=8)
    check_valgrind(run)


def stranded_hellos(host: str, port: int, count: int) -> int:
    """`count` cookie-less ClientHellos, each from its own UDP port that is closed at once (a client that never
    comes back with the cookie); returns how many HelloVerifyRequests came back before the close."""
    answered = 0
    for _ in range(count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((hp.local_address(host), 0))
            s.settimeout(5)
            s.sendto(hp.dtls_client_hello(), (host, port))
            try:
                answered += hp.is_hello_verify_request(s.recv(2048))
            except OSError:
                pass
    return answered


@pytest.mark.needs("dtls", "inbound")
@pytest.mark.needs("network")
def test_documented_dtls_server_with_a_timeout_survives_stranded_hellos(target: Target,
                                                                          pki: Pki) -> None:
    """The DTLS server of docs/api.md (scripts/dtls_server.py: peek, connect to the client, wrap again after
    "Hello Verify Required") with a receive timeout on the connected socket: clients that never come back with
    their cookie cost it a timeout each, and then a real client is served. (Without the timeout the first
    stranded hello holds it in wrap_socket for ever: the report of this test's commit.)"""
    port = target.server_port("udp")
    board = target.start(script("dtls_server.py"),
                                   {"host": port.board_host, "port": port.board_port, "connections": 1,
                                    "timeout_s": 2},
                                   {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        board.wait_for_output("LISTENING", timeout=120)
        answered = stranded_hellos(port.host, port.host_port, 3)
        client = DtlsClient(port.host, port.host_port, cafile=pki.root_ca.cert, server_hostname="localhost")
        exchange = client.exchange(b"after stranded hellos\n", timeout=120)
        assert exchange.handshake_ok and exchange.received == b"AFTER STRANDED HELLOS\n", exchange.log
    finally:
        run = board.wait(60)
    assert run.check().result()["received"] == "after stranded hellos\n"
    assert answered >= 1, "the board answered the stranded hellos with HelloVerifyRequest"
    # The server gave up on each stranded client with ETIMEDOUT (110 on Linux, 116 in newlib on the qemu board:
    # the script names it by the board's errno module), and on nothing else.
    dropped = [line for line in run.stdout.splitlines() if line.startswith("DROPPED")]
    assert dropped and all(line.endswith(",) ETIMEDOUT") for line in dropped), run.describe()


DECODE = "(-29440, 'MBEDTLS_ERR_SSL_DECODE_ERROR')"
# What the board's do_handshake() made of each datagram of hp.malformed_dtls_client_hellos(): HelloVerify
# Required (mbedTLS read past what was wrong: the message_seq, a TLS version in the record, what follows the
# hello), or the exception's args. mbedTLS reads a server's first ClientHello itself: a record longer than the
# datagram ends in its "should never happen" INTERNAL_ERROR, a record of epoch 1 in ILLEGAL_PARAMETER (RFC 6347
# would drop both silently); the highest sequence number cannot be answered without wrapping.
MALFORMED_DTLS_HELLOS = {
    "datagram cut short": "(-27648, 'MBEDTLS_ERR_SSL_INTERNAL_ERROR')",
    "record length past the datagram": "(-27648, 'MBEDTLS_ERR_SSL_INTERNAL_ERROR')",
    "record length short of the hello": DECODE,
    "first half of a fragmented hello": DECODE,
    "second half of a fragmented hello": DECODE,
    "fragment length past the record": "(-28800, 'MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE')",
    "handshake length 2^24-1": DECODE,
    "epoch 1": "(-26112, 'MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER')",
    "message_seq 7": "hello_verify",
    "cookie length 255": DECODE,
    "cookie of 255 bytes": "hello_verify",
    "no cipher suites": DECODE,
    "no common cipher suite": "(-28160, 'MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE')",
    "DTLS 1.0 (feff)": "(-28288, 'MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION')",
    "TLS 1.2 version bytes": "hello_verify",
    "empty body": DECODE,
    "two hellos in one datagram": "hello_verify",
    "hello and garbage": "hello_verify",
    "sequence number 2^48-1": "(-27520, 'MBEDTLS_ERR_SSL_COUNTER_WRAPPING')",
}


def send_each(host: str, port: int, datagrams: dict[str, bytes], wait: float = 0.5) -> dict[int, tuple[str, str]]:
    """Each datagram from its own UDP port; source port -> (name, what came back within `wait` seconds)."""
    sent = {}
    for name, datagram in datagrams.items():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((hp.local_address(host), 0))
            s.settimeout(wait)
            s.sendto(datagram, (host, port))
            try:
                reply = s.recv(65536)
                answer = "HelloVerifyRequest" if hp.is_hello_verify_request(reply) else f"{reply[:1].hex()}..."
            except OSError:
                answer = "nothing"
            sent[s.getsockname()[1]] = (name, answer)
    return sent


@pytest.mark.needs("dtls", "inbound")
@pytest.mark.needs("gc_heap")
def test_dtls_server_survives_malformed_client_hellos(target: Target, pki: Pki) -> None:
    """Datagrams that look like a first ClientHello but are not a good one, each from its own port, against the
    per-address DTLS server: each ends in HelloVerifyRequest or an exception from do_handshake(), none leaves a
    session behind, a real client is served before and after three more rounds of them, and the heap returns."""
    variants = hp.malformed_dtls_client_hellos()
    port = target.server_port("udp")
    board = target.start(script("dtls_server_flood.py"),
                                 {"host": port.board_host, "port": port.board_port, "connections": 2,
                                  "firsts": len(variants), "deadline_s": 600},
                                 {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    try:
        board.wait_for_output("LISTENING", timeout=120)
        sent = send_each(port.host, port.host_port, variants)  # also the warm-up of the error paths
        client = DtlsClient(port.host, port.host_port, cafile=pki.root_ca.cert, server_hostname="localhost")
        assert client.exchange(b"before\n", timeout=120).received == b"BEFORE\n"
        board.wait_for_output('"served": 1', timeout=60)
        for _ in range(3):
            send_each(port.host, port.host_port, variants, wait=0.1)
        assert client.exchange(b"after\n", timeout=120).received == b"AFTER\n"
    finally:
        run = board.wait(120)
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    before, after, final = run.results()
    outcomes = {name: final["firsts"].get(str(source), "not seen") for source, (name, _answer) in sent.items()}
    answers = {name: answer for name, answer in sent.values()}
    print(json.dumps({name: [outcomes[name], answers[name]] for name in variants}, indent=1))
    assert outcomes == MALFORMED_DTLS_HELLOS, outcomes
    counts = final["counts"]
    assert counts["max_sessions"] == 1 and counts["expired"] == 0, final
    assert after["heap"] - before["heap"] <= HEAP_SLACK, (before, after)
