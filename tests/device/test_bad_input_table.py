"""The bad-input table: every public function, method and attribute given a wrong type, None,
something empty, huge or negative, a closed socket, a socket after a fatal error — and what each
raises ("-": nothing; the call is fine with it).  The test runs scripts/bad_input_table.py on every
target and compares with TABLE, then renders docs/bad-input.md from TABLE and the unix build's
messages: the page cannot drift from what the module does.  After a deliberate change, update TABLE
and run with MPSSL_WRITE_DOCS=1 to rewrite the page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki

pytestmark = pytest.mark.needs_micropython

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"

TABLE: list[tuple[str, str, str]] = [
    ('SSLContext(protocol)', 'no argument', 'TypeError'),
    ('SSLContext(protocol)', 'None', 'TypeError'),
    ('SSLContext(protocol)', 'str', 'TypeError'),
    ('SSLContext(protocol)', 'negative', 'ValueError'),
    ('SSLContext(protocol)', 'huge', 'ValueError'),
    ('load_cert_chain(certfile, keyfile)', 'None, None', 'TypeError'),
    ('load_cert_chain(certfile, keyfile)', 'int cert', 'TypeError'),
    ('load_cert_chain(certfile, keyfile)', 'list key', 'TypeError'),
    ('load_cert_chain(certfile, keyfile)', 'empty', 'ValueError'),
    ('load_cert_chain(certfile, keyfile)', 'empty path', 'OSError'),
    ('load_cert_chain(certfile, keyfile)', 'huge DER cert', 'ValueError'),
    ('load_cert_chain(certfile, keyfile)', 'huge PEM cert', 'ValueError'),
    ('load_cert_chain(certfile, keyfile)', 'huge key', 'ValueError'),
    ('load_cert_chain(certfile, keyfile)', 'path with NUL', 'OSError'),
    ('load_verify_locations(cafile, cadata)', 'int', 'TypeError'),
    ('load_verify_locations(cafile, cadata)', 'None, None', 'TypeError'),
    ('load_verify_locations(cafile, cadata)', 'empty bytes', 'ValueError'),
    ('load_verify_locations(cafile, cadata)', 'empty str cadata', 'ValueError'),
    ('load_verify_locations(cafile, cadata)', 'huge', 'ValueError'),
    ('load_verify_locations(cafile, cadata)', 'missing file', 'OSError'),
    ('set_ciphers(ciphers)', 'None', 'TypeError'),
    ('set_ciphers(ciphers)', 'str', 'TypeError'),
    ('set_ciphers(ciphers)', 'empty list', 'SSLError'),
    ('set_ciphers(ciphers)', 'list of int', 'TypeError'),
    ('set_ciphers(ciphers)', 'empty name', 'SSLError'),
    ('set_ciphers(ciphers)', 'name with NUL', 'SSLError'),
    ('set_ciphers(ciphers)', 'huge list', 'SSLError'),
    ('set_ciphers(ciphers)', 'huge name', 'SSLError'),
    ('set_alpn_protocols(protocols)', 'None', 'TypeError'),
    ('set_alpn_protocols(protocols)', 'str', 'TypeError'),
    ('set_alpn_protocols(protocols)', 'list of bytes', 'TypeError'),
    ('set_alpn_protocols(protocols)', 'empty name', 'SSLError'),
    ('set_alpn_protocols(protocols)', 'name with NUL', 'ValueError'),
    ('set_alpn_protocols(protocols)', 'huge name', 'SSLError'),
    ('set_alpn_protocols(protocols)', 'huge list', 'SSLError'),
    ('verify_mode = ', 'None', 'TypeError'),
    ('verify_mode = ', 'negative', 'ValueError'),
    ('verify_mode = ', 'huge', 'ValueError'),
    ('check_hostname = ', 'None', '-'),
    ('verify_callback = ', 'not callable', 'TypeError'),
    ('wrap_socket(sock, ...)', 'None', 'TypeError'),
    ('wrap_socket(sock, ...)', 'bytes', 'TypeError'),
    ('wrap_socket(sock, ...)', 'server_hostname int', 'TypeError'),
    ('wrap_socket(sock, ...)', 'server_hostname empty', '-'),
    ('wrap_socket(sock, ...)', 'server_hostname huge', 'SSLError'),
    ('wrap_socket(sock, ...)', 'server_hostname with NUL', 'ValueError'),
    ('wrap_socket(sock, ...)', 'client_id int (DTLS server)', 'SSLError'),
    ('wrap_socket(sock, ...)', 'client_id huge (DTLS server)', '-'),
    ('wrap_socket(sock, ...)', 'released context', 'ValueError'),
    ('ssl.wrap_socket(sock, ...)', 'None', 'TypeError'),
    ('ssl.wrap_socket(sock, ...)', 'cert_reqs negative', 'ValueError'),
    ('ssl.wrap_socket(sock, ...)', 'cadata int', 'TypeError'),
    ('ssl.create_default_context()', 'str purpose', '-'),
    ('SSLSocket.read(n)', 'negative', '-'),
    ('SSLSocket.read(n)', 'str', 'TypeError'),
    ('SSLSocket.write(b)', 'None', 'TypeError'),
    ('SSLSocket.write(b)', 'int', 'TypeError'),
    ('SSLSocket.write(b)', 'empty', '-'),
    ('SSLSocket.write(b)', 'huge', '-'),
    ('SSLSocket.recv_into(buf)', 'bytes (read-only)', 'TypeError'),
    ('SSLSocket.getpeercert(binary_form)', 'str', '-'),
    ('SSLSocket.ioctl(request, arg)', 'unknown request', 'OSError'),
    ('SSLSocket.read()', 'closed socket', 'OSError'),
    ('SSLSocket.read()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.readinto()', 'closed socket', 'OSError'),
    ('SSLSocket.readinto()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.readline()', 'closed socket', 'OSError'),
    ('SSLSocket.readline()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.write()', 'closed socket', 'OSError'),
    ('SSLSocket.write()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.recv()', 'closed socket', 'OSError'),
    ('SSLSocket.recv()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.recv_into()', 'closed socket', 'OSError'),
    ('SSLSocket.recv_into()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.send()', 'closed socket', 'OSError'),
    ('SSLSocket.send()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.sendall()', 'closed socket', 'OSError'),
    ('SSLSocket.sendall()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.do_handshake()', 'closed socket', 'OSError'),
    ('SSLSocket.do_handshake()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.getpeercert()', 'closed socket', 'OSError'),
    ('SSLSocket.getpeercert()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.cipher()', 'closed socket', 'OSError'),
    ('SSLSocket.cipher()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.selected_alpn_protocol()', 'closed socket', 'OSError'),
    ('SSLSocket.selected_alpn_protocol()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.version()', 'closed socket', 'OSError'),
    ('SSLSocket.version()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.verify_result()', 'closed socket', 'OSError'),
    ('SSLSocket.verify_result()', 'after a fatal error', 'SSLError'),
    ('SSLSocket.setblocking()', 'closed socket', 'OSError'),
    ('SSLSocket.setblocking()', 'after a fatal error', '-'),
    ('SSLSocket.close()', 'closed socket', '-'),
    ('SSLSocket.close()', 'after a fatal error', '-'),
]


def observed(target: Target, pki: Pki) -> list[dict[str, Any]]:
    run = target.run(script("bad_input_table.py"), {}, {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key},
                     modules=[MEMORY_STREAMS], timeout=600).check()  # the emulated RP2040 is slow
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    return run.results()


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Bad input: what each call raises",
        "",
        "Generated by `tests/device/test_bad_input_table.py` from the table it checks on every target",
        "(`make test`); the messages are the unix build's. `-` means the call accepts the input.",
        "Every exception here is raised by the module before or instead of touching mbedTLS or the",
        "stream in a way that could leave either inconsistent; `SSLError` is an `OSError`.",
        "",
        "| call | given | raises | message |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        message = " ".join(row.get("args", [])).replace("\n", " ").replace("|", "\\|").strip()
        if row["raised"] == "-":
            message = "returns " + row["returned"]
        lines.append(f"| `{row['api']}` | {row['given']} | {row['raised']} | {message} |")
    return "\n".join(lines) + "\n"


def test_bad_input_table(target: Target, pki: Pki) -> None:
    rows = observed(target, pki)
    assert [(r["api"], r["given"], r["raised"]) for r in rows] == TABLE
    if not isinstance(target, UnixTarget):
        return
    page = render(rows)
    if os.environ.get("MPSSL_WRITE_DOCS") == "1":
        DOC.write_text(page)
    assert DOC.is_file() and DOC.read_text() == page, (
        "docs/bad-input.md differs from what the module does: run this test with MPSSL_WRITE_DOCS=1")
