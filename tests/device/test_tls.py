"""TLS against real peers: the board as client of CPython's ssl server, and as server to its client."""

from __future__ import annotations

import errno
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
from mpssl_hil.peers import TlsEchoServer, TlsExchangeError, tls_client_exchange

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
@pytest.mark.needs("network")
def test_client_verifies_server_chain(target: Target, tls_server: ServerFactory, pki: Pki,
                                      kind: str, ca_as_bytes: bool) -> None:
    ident: Identity = getattr(pki, kind)
    server = tls_server(ident.chain, ident.key)
    result = run_client(target, server, cafile=pki.root_ca.cert, ca_as_bytes=ca_as_bytes)
    assert result["ok"], result
    assert result["echo_matches"] and result["echoed"] == 1000
    assert result["version"] == "TLSv1.2"
    assert result["verify_message"] is None
    assert ["commonName", common_name(ident.cert)] in [rdn[0] for rdn in result["peer_subject"]]
    (conn,) = server.wait_for_connections(1)
    assert conn.handshake_ok and conn.bytes_echoed == 1000
    assert conn.clean_shutdown, "close() sends close_notify"


@pytest.mark.needs("network")
def test_client_accepts_pem_bundle_and_der_bundle(target: Target, tls_server: ServerFactory,
                                                  pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    for bundle in (pki.ca_bundle, pki.ca_bundle_der):
        assert run_client(target, server, cafile=bundle)["ok"]


@pytest.mark.needs("network")
def test_mutual_tls(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    result = run_client(target, server, cafile=pki.root_ca.cert,
                        certfile=pki.client_ec.chain, keyfile=pki.client_ec.key)
    assert result["ok"], result
    (conn,) = server.wait_for_connections(1)
    assert conn.client_subject is not None and "client" in conn.client_subject.get("commonName", "")


@pytest.mark.needs("network")
def test_mutual_tls_without_client_cert_is_refused(target: Target, tls_server: ServerFactory,
                                                   pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    files = {"cafile": pki.root_ca.cert}
    result = target.run(script("tls_client.py"), {"host": target.host_address, "port": server.port,
                                                  "server_hostname": "localhost", "payload_size": 10},
                        files).check().result()
    # The server refuses the empty Certificate message with an alert and closes. The board is still sending
    # the rest of its flight (ClientKeyExchange, ChangeCipherSpec, Finished): its wrap_socket fails on that
    # write, EPIPE (Linux) or ECONNRESET (lwIP: the reset came first), or, had the flight all gone out before
    # the server read it, on reading the alert.
    failure = (result["type"], *result["args"])
    assert failure in {("OSError", errno.EPIPE), ("OSError", errno.ECONNRESET),
                       ("SSLError", -30592, "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE")}, result
    assert not result["ok"] and result["is_oserror"], result
    (conn,) = server.wait_for_connections(1)
    assert not conn.handshake_ok and conn.error is not None, conn
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in conn.error, conn.error


def board_ciphers(target: UnixTarget) -> list[str]:
    return target.run(script("api_surface.py")).check().result()["default_ciphers"]


def openssl_stdnames() -> dict[str, str]:
    """OpenSSL's cipher names (what CPython's cipher() says) -> IANA names."""
    out = subprocess.run(["openssl", "ciphers", "-stdname", "ALL:@SECLEVEL=0"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[2]: line.split()[0] for line in out.splitlines() if line.startswith("TLS_")}


def openssl_iana_names() -> set[str]:
    return set(openssl_stdnames().values())


@pytest.mark.needs("network")
def test_each_cipher_the_peer_supports(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    ciphers = board_ciphers(target)
    common = [c for c in ciphers if c.replace("-", "_") in openssl_iana_names()]
    assert len(common) >= 10, f"too few ciphers in common with OpenSSL: {common}"
    failed = {}
    for name in common:
        ident = pki.server_ec if "ECDSA" in name else pki.server_rsa
        server = tls_server(ident.chain, ident.key, ciphers="ALL:@SECLEVEL=0",
                            max_version=ssl.TLSVersion.TLSv1_2)
        iana = name.replace("-", "_")
        result = run_client(target, server, cafile=pki.root_ca.cert, ciphers=[iana], payload_size=100)
        if not (result["ok"] and result["cipher"][0] == name and result["echo_matches"]):
            failed[name] = result
        server.stop()
    assert not failed, failed


@pytest.mark.needs("network")
def test_module_wrap_socket_with_der_cadata_and_client_cert(target: Target, tls_server: ServerFactory,
                                                            pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert, require_client_cert=True)
    files = {"ca_der": pki.root_ca.cert_der, "certfile": pki.client_ec.chain_der, "keyfile": pki.client_ec.key}
    for do_handshake in (True, False):
        result = target.run(script("tls_wrap_socket.py"),
                                 {"host": target.host_address,
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
@pytest.mark.needs("network")
def test_board_server_with_cpython_client(target: Target, pki: Pki,
                                          identity: str, chain: str, key_format: str) -> None:
    ident: Identity = getattr(pki, identity)
    port = target.server_port("tcp")
    files = {"certfile": getattr(ident, chain), "keyfile": getattr(pki, key_format)}
    board = target.start(script("tls_server.py"), {"host": port.board_host, "port": port.board_port}, files)
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
@pytest.mark.needs("network")
def test_board_server_requires_client_cert(target: Target, pki: Pki) -> None:
    port = target.server_port("tcp")
    files = {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert}
    board = target.start(script("tls_server.py"),
                                   {"host": port.board_host, "port": port.board_port, "connections": 2}, files)
    board.wait_for_output("LISTENING")
    exchange = tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"mutual",
                                   certfile=pki.client_ec.chain, keyfile=pki.client_ec.key)
    assert exchange.echoed == b"mutual"
    # The board refuses the empty Certificate message with a handshake_failure alert, which the client reads
    # in place of the board's Finished.
    with pytest.raises(TlsExchangeError, match=r"handshake failed: .*SSLV3_ALERT_HANDSHAKE_FAILURE") as refused:
        tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"anonymous", io_timeout=10)
    assert refused.value.stage == "handshake"
    first, second = board.wait(30).check().results()
    assert first["ok"] and first["peer_subject"] is not None
    assert not second["ok"] and second["args"][1] == "MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE"


@pytest.mark.needs("network")
def test_nonblocking_client_with_poll(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    result = target.run(script("tls_nonblocking.py"),
                             {"host": target.host_address,
                              "port": server.port, "server_hostname": "localhost"},
                             {"cafile": pki.root_ca.cert}).check().result()
    assert result["echo_ok"]
    assert result["buffered_readable"], "poll must report data mbedTLS has buffered"
    assert result["waited"] > 0, "the handshake should have had to wait for the server at least once"


MIB = 1024 * 1024


@pytest.mark.needs("network")
def test_megabyte_each_way_with_checksum(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    """1 MiB from the board to the host and back: both sides' sha256 agree with what was sent."""
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    result = target.run(script("tls_bulk.py"), {"host": target.host_address,
                                                          "port": server.port, "size": MIB},
                                  {"cafile": pki.root_ca.cert}, timeout=300).check().result()
    (conn,) = server.wait_for_connections(1)
    assert result["bytes"] == MIB and conn.bytes_echoed == MIB
    assert conn.received.hexdigest() == result["sent_sha256"], "the host received what the board sent"
    assert result["received_sha256"] == result["sent_sha256"], "the board received what the host echoed"


@pytest.mark.needs("network")
def test_several_connections_stay_open_at_once(target: Target, tls_server: ServerFactory,
                                               pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    count = 4
    result = target.run(script("tls_concurrent.py"), {"host": target.host_address,
                                                                "port": server.port, "count": count},
                                  {"cafile": pki.root_ca.cert}, timeout=300).check().result()
    assert result["open"] == count
    assert result["echoes_ok"] == result["echoes"] == count * 3
    conns = server.wait_for_connections(count)
    assert all(c.handshake_ok and c.clean_shutdown for c in conns)
