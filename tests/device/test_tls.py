"""TLS against real peers: the board as client of CPython's ssl server, and as server to its client."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import script
from cryptography import x509
from cryptography.x509.oid import NameOID

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Identity, Pki
from mpssl_hil.peers import TlsEchoServer, tls_client_exchange

pytestmark = pytest.mark.needs_micropython
ServerFactory = Callable[..., TlsEchoServer]


def common_name(cert: Path) -> str:
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    return str(loaded.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def run_client(target: Target, server: TlsEchoServer, **args: object) -> dict:
    files = {k: v for k, v in args.items() if isinstance(v, Path)}
    plain = {k: v for k, v in args.items() if not isinstance(v, Path)}
    plain.setdefault("host", target.host_address)
    plain.setdefault("port", server.port)
    plain.setdefault("server_hostname", "localhost")
    return target.run(script("tls_client.py"), plain, files, timeout=60).check().result()


@pytest.mark.parametrize("kind", ["server_ec", "server_rsa"])
@pytest.mark.parametrize("ca_as_bytes", [False, True], ids=["cafile", "cadata"])
def test_client_verifies_server_chain(networked_target: Target, tls_server: ServerFactory, pki: Pki,
                                      kind: str, ca_as_bytes: bool) -> None:
    ident: Identity = getattr(pki, kind)
    server = tls_server(ident.chain, ident.key)
    result = run_client(networked_target, server, cafile=pki.root_ca.cert, ca_as_bytes=ca_as_bytes)
    assert result["ok"], result
    assert result["echo_matches"] and result["echoed"] == 1000
    assert result["version"] == "TLSv1.2"
    assert result["verify_message"] is None
    assert ["commonName", common_name(ident.cert)] in [rdn[0] for rdn in result["peer_subject"]]
    (conn,) = server.wait_for_connections(1)
    assert conn.handshake_ok and conn.bytes_echoed == 1000
    assert conn.clean_shutdown, "close() sends close_notify"


def test_client_accepts_pem_bundle_and_der_bundle(networked_target: Target, tls_server: ServerFactory,
                                                  pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    for bundle in (pki.ca_bundle, pki.ca_bundle_der):
        assert run_client(networked_target, server, cafile=bundle)["ok"]


def test_mutual_tls(networked_target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    result = run_client(networked_target, server, cafile=pki.root_ca.cert,
                        certfile=pki.client_ec.chain, keyfile=pki.client_ec.key)
    assert result["ok"], result
    (conn,) = server.wait_for_connections(1)
    assert conn.client_subject is not None and "client" in conn.client_subject.get("commonName", "")


def test_mutual_tls_without_client_cert_is_refused(networked_target: Target, tls_server: ServerFactory,
                                                   pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    files = {"cafile": pki.root_ca.cert}
    run = networked_target.run(script("tls_client.py"), {"host": networked_target.host_address, "port": server.port,
                                                   "server_hostname": "localhost", "payload_size": 10}, files)
    # The server may reject after the client's Finished: the failure shows on the first read or write.
    assert run.returncode != 0 or not run.result()["ok"]
    assert "OSError" in run.stderr or "SSLError" in run.stderr or not run.result()["ok"]
    (conn,) = server.wait_for_connections(1)
    assert not conn.handshake_ok


def board_ciphers(target: UnixTarget) -> list[str]:
    return target.run(script("api_surface.py")).check().result()["default_ciphers"]


def openssl_stdnames() -> dict[str, str]:
    """OpenSSL's cipher names (what CPython's cipher() says) -> IANA names."""
    out = subprocess.run(["openssl", "ciphers", "-stdname", "ALL:@SECLEVEL=0"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[2]: line.split()[0] for line in out.splitlines() if line.startswith("TLS_")}


def openssl_iana_names() -> set[str]:
    return set(openssl_stdnames().values())


def test_each_cipher_the_peer_supports(unix_target: UnixTarget, tls_server: ServerFactory, pki: Pki) -> None:
    ciphers = board_ciphers(unix_target)
    common = [c for c in ciphers if c.replace("-", "_") in openssl_iana_names()]
    assert len(common) >= 10, f"too few ciphers in common with OpenSSL: {common}"
    failed = {}
    for name in common:
        ident = pki.server_ec if "ECDSA" in name else pki.server_rsa
        server = tls_server(ident.chain, ident.key, ciphers="ALL:@SECLEVEL=0",
                            max_version=ssl.TLSVersion.TLSv1_2)
        iana = name.replace("-", "_")
        result = run_client(unix_target, server, cafile=pki.root_ca.cert, ciphers=[iana], payload_size=100)
        if not (result["ok"] and result["cipher"][0] == name and result["echo_matches"]):
            failed[name] = result
        server.stop()
    assert not failed, failed


def test_module_wrap_socket_with_der_cadata_and_client_cert(networked_target: Target, tls_server: ServerFactory,
                                                            pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    files = {"ca_der": pki.root_ca.cert_der, "certfile": pki.client_ec.chain_der, "keyfile": pki.client_ec.key}
    for do_handshake in (True, False):
        result = networked_target.run(script("tls_wrap_socket.py"),
                                 {"host": networked_target.host_address,
                                  "port": server.port, "server_hostname": "localhost",
                                  "do_handshake": do_handshake}, files).check().result()
        assert result["echo"] == "wrapped"


@pytest.mark.needs("inbound")
@pytest.mark.parametrize(("identity", "chain", "key_format"), [
    ("server_ec", "chain", "ec_key_sec1"),
    ("server_ec", "chain", "ec_key_pkcs8"),
    ("server_ec", "chain", "ec_key_sec1_der"),
    ("server_ec", "chain", "ec_key_der"),
    ("server_rsa", "chain_der", "rsa_key_pkcs1"),
    ("server_rsa", "chain_der", "rsa_key_pkcs8"),
    ("server_rsa", "chain_der", "rsa_key_pkcs1_der"),
    ("server_rsa", "chain_der", "rsa_key_der"),
])
def test_board_server_with_cpython_client(networked_target: Target, pki: Pki,
                                          identity: str, chain: str, key_format: str) -> None:
    ident: Identity = getattr(pki, identity)
    port = networked_target.server_port("tcp")
    files = {"certfile": getattr(ident, chain), "keyfile": getattr(pki, key_format)}
    board = networked_target.start(script("tls_server.py"), {"host": port.board_host, "port": port.board_port}, files)
    board.wait_for_output("LISTENING")
    exchange = tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"x" * 5000)
    assert exchange.echoed == b"x" * 5000
    assert (("commonName", common_name(ident.cert)),) in exchange.peer_cert["subject"]
    result = board.wait(30).check().result()
    # Both sides name the suite they agreed on: mbedTLS' name on the board, OpenSSL's in CPython.
    name, version, bits = result["cipher"]
    assert name.replace("-", "_") == openssl_stdnames()[exchange.cipher], (name, exchange.cipher)
    assert version == "TLSv1.2" and bits in (128, 256), result["cipher"]
    assert result == {"ok": True, "cipher": [name, version, bits], "echoed": 5000, "peer_subject": None}


@pytest.mark.needs("inbound")
def test_board_server_requires_client_cert(networked_target: Target, pki: Pki) -> None:
    port = networked_target.server_port("tcp")
    files = {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert}
    board = networked_target.start(script("tls_server.py"),
                                   {"host": port.board_host, "port": port.board_port, "connections": 2}, files)
    board.wait_for_output("LISTENING")
    exchange = tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"mutual",
                                   certfile=pki.client_ec.chain, keyfile=pki.client_ec.key)
    assert exchange.echoed == b"mutual"
    with pytest.raises(Exception):  # noqa: B017 - the host client sees the board's refusal
        tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"anonymous", io_timeout=10)
    first, second = board.wait(30).check().results()
    assert first["ok"] and first["peer_subject"] is not None
    assert not second["ok"] and second["args"][1] == "MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE"


def test_nonblocking_client_with_poll(networked_target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    result = networked_target.run(script("tls_nonblocking.py"),
                             {"host": networked_target.host_address,
                              "port": server.port, "server_hostname": "localhost"},
                             {"cafile": pki.root_ca.cert}).check().result()
    assert result["echo_ok"]
    assert result["buffered_readable"], "poll must report data mbedTLS has buffered"
    assert result["waited"] > 0, "the handshake should have had to wait for the server at least once"


MIB = 1024 * 1024


def test_megabyte_each_way_with_checksum(networked_target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    """1 MiB from the board to the host and back: both sides' sha256 agree with what was sent."""
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    result = networked_target.run(script("tls_bulk.py"), {"host": networked_target.host_address,
                                                          "port": server.port, "size": MIB},
                                  {"cafile": pki.root_ca.cert}, timeout=300).check().result()
    (conn,) = server.wait_for_connections(1)
    assert result["bytes"] == MIB and conn.bytes_echoed == MIB
    assert conn.received.hexdigest() == result["sent_sha256"], "the host received what the board sent"
    assert result["received_sha256"] == result["sent_sha256"], "the board received what the host echoed"


def test_several_connections_stay_open_at_once(networked_target: Target, tls_server: ServerFactory,
                                               pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    count = 4
    result = networked_target.run(script("tls_concurrent.py"), {"host": networked_target.host_address,
                                                                "port": server.port, "count": count},
                                  {"cafile": pki.root_ca.cert}, timeout=300).check().result()
    assert result["open"] == count
    assert result["echoes_ok"] == result["echoes"] == count * 3
    conns = server.wait_for_connections(count)
    assert all(c.handshake_ok and c.clean_shutdown for c in conns)
