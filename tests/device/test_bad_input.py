"""Bad input of every kind ends in a clear exception of the documented type, never a crash; the same
script under valgrind shows no invalid memory access.  (Leaks are test_memory.py's: on the build with
mbedTLS on the GC heap every byte mbedTLS holds is visible to gc.mem_alloc().)"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.plugin import peer_bind_address

pytestmark = pytest.mark.needs_micropython

# case name -> the exception class the board must raise (ValueError/TypeError/OSError family)
EXPECTED = {
    "garbage PEM cert": "ValueError",
    "truncated PEM cert": "ValueError",
    "garbage DER cert": "ValueError",
    "truncated DER cert": "ValueError",
    "empty cert": "ValueError",
    "garbage key": "ValueError",
    "truncated PEM key": "ValueError",
    "wrong key for cert": "ValueError",
    "missing cert file": "OSError",
    "garbage cadata": "ValueError",
    "truncated DER cadata": "ValueError",
    "cafile and cadata": "TypeError",
    "neither cafile nor cadata": "TypeError",
    "cert is an int": "TypeError",
    "cadata is a list": "TypeError",
    "protocol out of range": "ValueError",
    "protocol is a str": "TypeError",
    "verify_mode out of range": "ValueError",
    "set_ciphers unknown": "SSLError",  # the built-in's OSError(-24192, 'MBEDTLS_ERR_SSL_BAD_CONFIG')
    "set_ciphers not a list": "TypeError",
    "set_ciphers empty": "SSLError",
    "wrap a non-stream": "TypeError",
    "server_hostname not str": "TypeError",
    "required without hostname": "ValueError",
    "server_side on client ctx": "ValueError",
    "dtls server without client_id": "SSLError",  # the built-in's OSError: MBEDTLS_ERR_SSL_BAD_INPUT_DATA
    "peer sends garbage": "SSLError",
    "peer closes mid-handshake": "SSLError",
    "truncated server flight": "SSLError",
    "server without certificate": "SSLError",
    "write after close": "OSError",
    "read after close": "OSError",
    "read after failed handshake": "SSLError",  # the handshake's error, kept and raised again
}


def bad_input_files(pki: Pki) -> dict[str, Path]:
    return {"certfile": pki.server_ec.cert, "keyfile": pki.server_ec.key, "cert_der": pki.server_ec.cert_der,
            "other_keyfile": pki.server_rsa.key}


def test_bad_input_raises_clear_exceptions(target: Target, pki: Pki) -> None:
    run = target.run(script("bad_input.py"), {}, bad_input_files(pki), modules=[MEMORY_STREAMS],
                             timeout=300).check()
    assert run.stdout.rstrip().endswith("DONE")
    raised = {r["case"]: r["raised"] for r in run.results()}
    assert raised == EXPECTED
    messages = {r["case"]: r["args"] for r in run.results()}
    assert messages["garbage key"] == ["invalid key"], "as the built-in tls says it"
    assert messages["garbage PEM cert"] == ["invalid cert"]
    assert messages["peer sends garbage"] == ["-29184", "MBEDTLS_ERR_SSL_INVALID_RECORD"]
    assert messages["set_ciphers unknown"] == ["-24192", "MBEDTLS_ERR_SSL_BAD_CONFIG"], "as the built-in tls says it"
    assert messages["set_ciphers empty"] == ["-24192", "MBEDTLS_ERR_SSL_BAD_CONFIG"]
    assert messages["dtls server without client_id"] == ["-28928", "MBEDTLS_ERR_SSL_BAD_INPUT_DATA"]
    # A fatal error is sticky: the read raises the alert the handshake failed with.
    assert messages["read after failed handshake"] == ["-30592", "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE"]


@pytest.fixture
def garbage_server(pytestconfig: pytest.Config) -> Iterator[int]:
    """A TCP server that answers anything with an HTTP error page, then closes."""
    listener = socket.create_server((peer_bind_address(pytestconfig), 0))
    listener.settimeout(30)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(5)


@pytest.mark.needs("network")
def test_plain_tcp_server_gives_clear_error(target: Target, pki: Pki, garbage_server: int) -> None:
    result = target.run(script("tls_client.py"),
                             {"host": target.host_address, "port": garbage_server, "server_hostname": "localhost"},
                             {"cafile": pki.root_ca.cert}).check().result()
    assert result["ok"] is False and result["type"] == "SSLError" and result["is_oserror"]
    assert result["args"][1] == "MBEDTLS_ERR_SSL_INVALID_RECORD"
    assert "not a TLS record" in result["reason"]


@pytest.mark.valgrind
def test_bad_input_under_valgrind(micropython_bin: Path, tmp_path: Path, pki: Pki) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (Debian package valgrind)")
    # MicroPython's conservative GC scans uninitialised stack words on purpose, so only invalid
    # reads, writes and frees count here.
    wrapper = ["valgrind", "--error-exitcode=99", "--undef-value-errors=no", "--leak-check=no"]
    target = UnixTarget(micropython_bin, workdir_root=tmp_path, wrapper=wrapper)
    run = target.run(script("bad_input.py"), {}, bad_input_files(pki), timeout=600, modules=[MEMORY_STREAMS])
    assert run.returncode == 0, run.describe()
    assert "Invalid read" not in run.stderr and "Invalid write" not in run.stderr, run.stderr
    assert "ERROR SUMMARY: 0 errors" in run.stderr, run.stderr[-3000:]
    assert {r["case"]: r["raised"] for r in run.results()} == EXPECTED
