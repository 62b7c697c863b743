"""Generated test PKI: CAs, server and client certificates, and keys in several encodings.

Everything here is a throw-away test credential, generated at test time and never committed.

Trust layout::

    root CA (EC P-256) ── intermediate CA (EC P-256) ─┬─ server_ec, server_rsa, server_cn_only,
                                                      ├─ server_expired, server_not_yet_valid,
                                                      ├─ server_wrong_host, server_intl
                                                      └─ client_ec (clientAuth)
    extra CA (unrelated, only in the bundle)
    untrusted root CA ── server_untrusted
    server_self_signed

Validity windows are relative to the generation time ``now`` (see the ``*_VALIDITY`` constants), so a
test that shifts the board clock can compute which certificates are valid at the shifted time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

DAY = dt.timedelta(days=1)
# (not_before, not_after) offsets from `now`.
CA_VALIDITY = (-730 * DAY, 3650 * DAY)
GOOD_VALIDITY = (-1 * DAY, 30 * DAY)
EXPIRED_VALIDITY = (-60 * DAY, -30 * DAY)
NOT_YET_VALID_VALIDITY = (30 * DAY, 60 * DAY)

SERVER_DNS_NAMES = ("localhost", "mpssl.test")
SERVER_IP = "127.0.0.1"
WRONG_HOST_DNS_NAME = "other.example"
CN_ONLY_NAME = "mpssl.test"
CLIENT_DNS_NAME = "client.mpssl.test"


@dataclass(frozen=True)
class Identity:
    """Files of one certificate: PEM and DER certificate, PKCS#8 PEM key, and the chain it presents."""

    cert: Path
    cert_der: Path
    key: Path
    chain: Path  # leaf PEM followed by the issuing intermediate, if any
    chain_der: Path  # the same certificates as concatenated DER


@dataclass(frozen=True)
class Pki:
    directory: Path
    root_ca: Identity
    intermediate_ca: Identity
    extra_ca: Identity
    untrusted_root_ca: Identity
    server_ec: Identity
    server_rsa: Identity
    server_cn_only: Identity
    server_expired: Identity
    server_not_yet_valid: Identity
    server_wrong_host: Identity
    server_intl: Identity  # subject attributes in BMPString, UniversalString, T61String, UTF8String
    server_self_signed: Identity
    server_untrusted: Identity
    client_ec: Identity
    ca_bundle: Path  # root + intermediate + extra CA, PEM
    ca_bundle_der: Path  # the same, concatenated DER
    # The key of server_ec in every encoding.
    ec_key_sec1: Path  # "BEGIN EC PRIVATE KEY"
    ec_key_pkcs8: Path  # "BEGIN PRIVATE KEY"
    ec_key_sec1_der: Path
    ec_key_der: Path  # PKCS#8 DER
    # The key of server_rsa in every encoding.
    rsa_key_pkcs1: Path  # "BEGIN RSA PRIVATE KEY"
    rsa_key_pkcs8: Path  # "BEGIN PRIVATE KEY"
    rsa_key_pkcs1_der: Path
    rsa_key_der: Path  # PKCS#8 DER
    generated_at: dt.datetime

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.iterdir() if p.is_file())

    def digest(self) -> str:
        """SHA-256 over the names and contents of every file, to push to a board only when changed."""
        h = hashlib.sha256()
        for path in self.files():
            h.update(path.name.encode() + b"\0")
            h.update(path.read_bytes())
        return h.hexdigest()


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: PrivateKey


# Attribute values in every ASN.1 string type certificates use, with characters outside ASCII and
# outside the Basic Multilingual Plane (not in the BMPString, which is UCS-2). cryptography writes a
# T61String's text as UTF-8 bytes; readers decode T61 as Latin-1, as OpenSSL does.
INTL_ATTRIBUTES = (
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ünïcødé Ωmega ✓", _type=_ASN1Type.BMPString),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ünï 😀", _type=_ASN1Type.UniversalString),
    x509.NameAttribute(NameOID.LOCALITY_NAME, "Zürich", _type=_ASN1Type.T61String),
    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Łódź 😀", _type=_ASN1Type.UTF8String),
)


def _name(common_name: str, extra: Sequence[x509.NameAttribute] = ()) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mpssl test PKI"),
            *extra,
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue(
    common_name: str,
    key: PrivateKey,
    issuer: _Issued | None,
    validity: tuple[dt.timedelta, dt.timedelta],
    now: dt.datetime,
    *,
    is_ca: bool = False,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    eku: x509.ObjectIdentifier | None = None,
    subject_extra: Sequence[x509.NameAttribute] = (),
) -> _Issued:
    """Build a certificate for `key`; `issuer=None` makes it self-signed."""
    subject = _name(common_name, subject_extra)
    signing_key = issuer.key if issuer else key
    public_key = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + validity[0])
        .not_valid_after(now + validity[1])
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=False,
                key_encipherment=is_rsa and not is_ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    return _Issued(builder.sign(signing_key, hashes.SHA256()), key)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _key_bytes(key: PrivateKey, encoding: serialization.Encoding, fmt: serialization.PrivateFormat) -> bytes:
    return key.private_bytes(encoding, fmt, serialization.NoEncryption())


class _Writer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def file(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    def identity(
        self, name: str, issued: _Issued, intermediates: Sequence[x509.Certificate] = ()
    ) -> Identity:
        chain = [issued.cert, *intermediates]
        key = _key_bytes(issued.key, serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8)
        return Identity(
            cert=self.file(f"{name}.crt.pem", _pem(issued.cert)),
            cert_der=self.file(f"{name}.crt.der", _der(issued.cert)),
            key=self.file(f"{name}.key.pem", key),
            chain=self.file(f"{name}.chain.pem", b"".join(_pem(c) for c in chain)),
            chain_der=self.file(f"{name}.chain.der", b"".join(_der(c) for c in chain)),
        )

    def key_encodings(self, name: str, key: PrivateKey) -> tuple[Path, Path, Path, Path]:
        """(traditional PEM, PKCS#8 PEM, traditional DER, PKCS#8 DER); traditional is SEC1 or PKCS#1."""
        pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
        trad, pkcs8 = serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8
        kind = "sec1" if isinstance(key, ec.EllipticCurvePrivateKey) else "pkcs1"
        return (
            self.file(f"{name}.{kind}.pem", _key_bytes(key, pem, trad)),
            self.file(f"{name}.pkcs8.pem", _key_bytes(key, pem, pkcs8)),
            self.file(f"{name}.{kind}.der", _key_bytes(key, der, trad)),
            self.file(f"{name}.pkcs8.der", _key_bytes(key, der, pkcs8)),
        )


def generate_pki(directory: Path, now: dt.datetime | None = None) -> Pki:
    """Generate the whole test PKI into `directory` (created if missing) and describe its files."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    out = _Writer(directory)
    server_auth = ExtendedKeyUsageOID.SERVER_AUTH

    root = _issue("mpssl test root CA", _ec_key(), None, CA_VALIDITY, now, is_ca=True)
    inter = _issue("mpssl test intermediate CA", _ec_key(), root, CA_VALIDITY, now, is_ca=True)
    extra = _issue("mpssl test extra CA (unrelated)", _ec_key(), None, CA_VALIDITY, now, is_ca=True)
    untrusted = _issue("mpssl test untrusted root CA", _ec_key(), None, CA_VALIDITY, now, is_ca=True)

    def server(cn: str, key: PrivateKey, issuer: _Issued, validity: tuple[dt.timedelta, dt.timedelta],
               dns_names: Sequence[str] = SERVER_DNS_NAMES,
               ip_addresses: Sequence[str] = (SERVER_IP,),
               subject_extra: Sequence[x509.NameAttribute] = ()) -> _Issued:
        return _issue(cn, key, issuer, validity, now, dns_names=dns_names, ip_addresses=ip_addresses,
                      eku=server_auth, subject_extra=subject_extra)

    server_ec = server("mpssl test server (EC)", _ec_key(), inter, GOOD_VALIDITY)
    server_rsa = server("mpssl test server (RSA)", _rsa_key(), inter, GOOD_VALIDITY)
    cn_only = server(CN_ONLY_NAME, _ec_key(), inter, GOOD_VALIDITY, dns_names=(), ip_addresses=())
    expired = server("mpssl test server (expired)", _ec_key(), inter, EXPIRED_VALIDITY)
    not_yet = server("mpssl test server (not yet valid)", _ec_key(), inter, NOT_YET_VALID_VALIDITY)
    wrong_host = server("mpssl test server (wrong host)", _ec_key(), inter, GOOD_VALIDITY,
                        dns_names=(WRONG_HOST_DNS_NAME,), ip_addresses=())
    intl = server("mpssl test server (intl)", _ec_key(), inter, GOOD_VALIDITY, subject_extra=INTL_ATTRIBUTES)
    self_signed = _issue("mpssl test server (self-signed)", _ec_key(), None, GOOD_VALIDITY, now,
                         dns_names=SERVER_DNS_NAMES, ip_addresses=(SERVER_IP,), eku=server_auth)
    untrusted_leaf = server("mpssl test server (untrusted root)", _ec_key(), untrusted, GOOD_VALIDITY)
    client = _issue("mpssl test client", _ec_key(), inter, GOOD_VALIDITY, now,
                    dns_names=(CLIENT_DNS_NAME,), eku=ExtendedKeyUsageOID.CLIENT_AUTH)

    bundle = [root.cert, inter.cert, extra.cert]
    ec_keys = out.key_encodings("server_ec", server_ec.key)
    rsa_keys = out.key_encodings("server_rsa", server_rsa.key)
    return Pki(
        directory=directory,
        root_ca=out.identity("root_ca", root),
        intermediate_ca=out.identity("intermediate_ca", inter),
        extra_ca=out.identity("extra_ca", extra),
        untrusted_root_ca=out.identity("untrusted_root_ca", untrusted),
        server_ec=out.identity("server_ec", server_ec, [inter.cert]),
        server_rsa=out.identity("server_rsa", server_rsa, [inter.cert]),
        server_cn_only=out.identity("server_cn_only", cn_only, [inter.cert]),
        server_expired=out.identity("server_expired", expired, [inter.cert]),
        server_not_yet_valid=out.identity("server_not_yet_valid", not_yet, [inter.cert]),
        server_wrong_host=out.identity("server_wrong_host", wrong_host, [inter.cert]),
        server_intl=out.identity("server_intl", intl, [inter.cert]),
        server_self_signed=out.identity("server_self_signed", self_signed),
        server_untrusted=out.identity("server_untrusted", untrusted_leaf),
        client_ec=out.identity("client_ec", client, [inter.cert]),
        ca_bundle=out.file("ca_bundle.pem", b"".join(_pem(c) for c in bundle)),
        ca_bundle_der=out.file("ca_bundle.der", b"".join(_der(c) for c in bundle)),
        ec_key_sec1=ec_keys[0],
        ec_key_pkcs8=ec_keys[1],
        ec_key_sec1_der=ec_keys[2],
        ec_key_der=ec_keys[3],
        rsa_key_pkcs1=rsa_keys[0],
        rsa_key_pkcs8=rsa_keys[1],
        rsa_key_pkcs1_der=rsa_keys[2],
        rsa_key_der=rsa_keys[3],
        generated_at=now,
    )


def identities(pki: Pki) -> dict[str, Identity]:
    """Every `Identity` of `pki` by attribute name."""
    return {f.name: getattr(pki, f.name) for f in fields(pki) if isinstance(getattr(pki, f.name), Identity)}
