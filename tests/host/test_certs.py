"""The generated test PKI: chains verify, bad certificates are bad in the intended way, keys encode."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.general_name import DNSName, IPAddress
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from mpssl_hil.certs import Identity, Pki, generate_pki, identities


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def der_certs(path: Path) -> list[x509.Certificate]:
    """Split concatenated DER certificates (each a SEQUENCE with a long-form length)."""
    data, certs = path.read_bytes(), []
    while data:
        assert data[0] == 0x30
        n = data[1] & 0x7F
        length = 2 + n + int.from_bytes(data[2 : 2 + n], "big")
        certs.append(x509.load_der_x509_certificate(data[:length]))
        data = data[length:]
    return certs


def verify_server(pki: Pki, leaf: Identity, name: DNSName | IPAddress, at: dt.datetime | None = None) -> None:
    chain = x509.load_pem_x509_certificates(leaf.chain.read_bytes())
    verifier = (
        PolicyBuilder()
        .store(Store([cert(pki.root_ca.cert)]))
        .time(at or pki.generated_at)
        .build_server_verifier(name)
    )
    verifier.verify(chain[0], chain[1:])


@pytest.mark.parametrize("name", ["server_ec", "server_rsa"])
@pytest.mark.parametrize(
    "san", [DNSName("localhost"), DNSName("mpssl.test"), IPAddress(ipaddress.ip_address("127.0.0.1"))]
)
def test_good_server_chains_verify_for_every_name(pki: Pki, name: str, san: DNSName | IPAddress) -> None:
    verify_server(pki, getattr(pki, name), san)


def test_client_certificate_verifies_for_client_auth(pki: Pki) -> None:
    chain = x509.load_pem_x509_certificates(pki.client_ec.chain.read_bytes())
    verifier = PolicyBuilder().store(Store([cert(pki.root_ca.cert)])).time(pki.generated_at)
    verifier.build_client_verifier().verify(chain[0], chain[1:])


@pytest.mark.parametrize(
    "name", ["server_expired", "server_not_yet_valid", "server_wrong_host", "server_self_signed",
             "server_untrusted"]
)
def test_bad_server_certificates_fail(pki: Pki, name: str) -> None:
    with pytest.raises(VerificationError):
        verify_server(pki, getattr(pki, name), DNSName("localhost"))


def test_expired_and_not_yet_valid_windows(pki: Pki) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    assert cert(pki.server_expired.cert).not_valid_after_utc < now
    assert cert(pki.server_not_yet_valid.cert).not_valid_before_utc > now
    good = cert(pki.server_ec.cert)
    assert good.not_valid_before_utc < now < good.not_valid_after_utc


def test_expired_certificate_verifies_at_a_time_inside_its_window(pki: Pki) -> None:
    when = cert(pki.server_expired.cert).not_valid_before_utc + dt.timedelta(days=1)
    verify_server(pki, pki.server_expired, DNSName("localhost"), at=when)


def test_wrong_host_certificate_is_for_other_example(pki: Pki) -> None:
    verify_server(pki, pki.server_wrong_host, DNSName("other.example"))


def test_cn_only_certificate_has_no_san_and_is_issued_by_intermediate(pki: Pki) -> None:
    leaf = cert(pki.server_cn_only.cert)
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mpssl.test"
    leaf.verify_directly_issued_by(cert(pki.intermediate_ca.cert))


def test_every_common_name_says_test(pki: Pki) -> None:
    for ident in identities(pki).values():
        cn = cert(ident.cert).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert "test" in str(cn), cn


def test_chain_files_hold_leaf_then_intermediate(pki: Pki) -> None:
    chain = x509.load_pem_x509_certificates(pki.server_ec.chain.read_bytes())
    assert chain == [cert(pki.server_ec.cert), cert(pki.intermediate_ca.cert)]
    assert der_certs(pki.server_ec.chain_der) == chain
    assert x509.load_pem_x509_certificates(pki.server_self_signed.chain.read_bytes()) == [
        cert(pki.server_self_signed.cert)
    ]


def test_ca_bundles_hold_root_intermediate_and_extra(pki: Pki) -> None:
    expected = [cert(pki.root_ca.cert), cert(pki.intermediate_ca.cert), cert(pki.extra_ca.cert)]
    assert x509.load_pem_x509_certificates(pki.ca_bundle.read_bytes()) == expected
    assert der_certs(pki.ca_bundle_der) == expected
    assert der_certs(pki.root_ca.cert_der) == [cert(pki.root_ca.cert)]


@pytest.mark.parametrize(
    ("attr", "header"),
    [
        ("ec_key_sec1", b"-----BEGIN EC PRIVATE KEY-----"),
        ("ec_key_pkcs8", b"-----BEGIN PRIVATE KEY-----"),
        ("rsa_key_pkcs1", b"-----BEGIN RSA PRIVATE KEY-----"),
        ("rsa_key_pkcs8", b"-----BEGIN PRIVATE KEY-----"),
    ],
)
def test_pem_key_headers(pki: Pki, attr: str, header: bytes) -> None:
    assert getattr(pki, attr).read_bytes().startswith(header)


@pytest.mark.parametrize(
    ("attrs", "leaf"),
    [
        (["ec_key_sec1", "ec_key_pkcs8", "ec_key_sec1_der", "ec_key_der"], "server_ec"),
        (["rsa_key_pkcs1", "rsa_key_pkcs8", "rsa_key_pkcs1_der", "rsa_key_der"], "server_rsa"),
    ],
)
def test_every_key_encoding_is_the_leaf_key(pki: Pki, attrs: list[str], leaf: str) -> None:
    expected = cert(getattr(pki, leaf).cert).public_key()
    for attr in attrs:
        data = getattr(pki, attr).read_bytes()
        if attr.endswith("der"):
            key = serialization.load_der_private_key(data, None)
        else:
            key = serialization.load_pem_private_key(data, None)
        assert key.public_key() == expected, attr


def test_digest_follows_contents(tmp_path: Path) -> None:
    pki = generate_pki(tmp_path / "pki")
    first = pki.digest()
    assert pki.digest() == first
    pki.server_ec.cert.write_bytes(pki.server_ec.cert.read_bytes() + b"\n")
    assert pki.digest() != first
