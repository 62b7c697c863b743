"""Certificate verification as a client sees it: the chain, the dates against the board clock, the
hostname; what CERT_OPTIONAL and CERT_NONE do; what the exceptions carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.board.target import Target
from mpssl_hil.certs import Pki
from mpssl_hil.peers import TlsEchoServer

pytestmark = pytest.mark.needs_micropython
ServerFactory = Callable[..., TlsEchoServer]
ClockSetter = Callable[[SerialBoardTarget, dt.datetime], dt.datetime]

EXPIRED = "The certificate validity has expired"
FUTURE = "The certificate validity starts in the future"
CN_MISMATCH = "The certificate Common Name (CN) does not match with the expected CN"
NOT_TRUSTED = "The certificate is not correctly signed by the trusted CA"
# mbedTLS verify flags (MBEDTLS_X509_BADCERT_*)
FLAGS = {EXPIRED: 0x01, CN_MISMATCH: 0x04, NOT_TRUSTED: 0x08, FUTURE: 0x200}


def connect(target: Target, server: TlsEchoServer, pki: Pki, **args: object) -> dict:
    plain = {"host": target.host_address, "port": server.port, "server_hostname": "localhost", "payload_size": 16}
    plain.update(args)
    return target.run(script("tls_client.py"), plain, {"cafile": pki.root_ca.cert}, timeout=60).check().result()


def assert_verify_error(result: dict, message: str) -> None:
    assert result["ok"] is False, result
    assert result["type"] == "SSLCertVerificationError"
    assert result["is_oserror"] and result["is_valueerror"], "caught by `except OSError` and `except ValueError`"
    assert result["args"] == [f"\n{message}\n"], "args as MicroPython's built-in tls gives them"
    assert result["verify_message"] == message
    assert result["verify_code"] & FLAGS[message]
    assert result["reason"] == f"certificate verify failed: {message}"


@pytest.mark.parametrize(("identity", "hostname", "message"), [
    ("server_expired", "localhost", EXPIRED),
    ("server_not_yet_valid", "localhost", FUTURE),
    ("server_wrong_host", "localhost", CN_MISMATCH),
    ("server_ec", "other.example", CN_MISMATCH),
    ("server_self_signed", "localhost", NOT_TRUSTED),
    ("server_untrusted", "localhost", NOT_TRUSTED),
])
@pytest.mark.needs("network")
def test_bad_certificate_is_rejected(target: Target, tls_server: ServerFactory, pki: Pki,
                                     identity: str, hostname: str, message: str) -> None:
    ident = getattr(pki, identity)
    server = tls_server(ident.chain, ident.key)
    assert_verify_error(connect(target, server, pki, server_hostname=hostname), message)


@pytest.mark.needs("network")
def test_expired_server_certificate_is_refused_with_an_alert(target: Target, tls_server: ServerFactory,
                                                             pki: Pki) -> None:
    """What upstream's multi_net/sslcontext_verify_time_error.py means to test, with a key that belongs
    to the certificate (mpssl refuses a foreign key when it is loaded): the board refuses the expired
    certificate, and the server sees the board's alert."""
    server = tls_server(pki.server_expired.chain, pki.server_expired.key)
    assert_verify_error(connect(target, server, pki), EXPIRED)
    (conn,) = server.wait_for_connections(1)
    assert not conn.handshake_ok
    assert conn.error is not None and "ALERT_CERTIFICATE_EXPIRED" in conn.error.upper().replace(" ", "_"), conn


@pytest.mark.needs("network")
def test_missing_intermediate_is_rejected(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.cert, pki.server_ec.key)  # the leaf alone, no intermediate
    assert_verify_error(connect(target, server, pki), NOT_TRUSTED)


@pytest.mark.parametrize(("identity", "hostname"), [
    ("server_ec", "localhost"),
    ("server_ec", "mpssl.test"),
    ("server_ec", "127.0.0.1"),      # IP address SAN
    ("server_rsa", "localhost"),
    ("server_cn_only", "mpssl.test"),  # no SAN: the CN is checked
])
@pytest.mark.needs("network")
def test_good_chain_is_accepted(target: Target, tls_server: ServerFactory, pki: Pki,
                                identity: str, hostname: str) -> None:
    ident = getattr(pki, identity)
    server = tls_server(ident.chain, ident.key)
    result = connect(target, server, pki, server_hostname=hostname)
    assert result["ok"] and result["verify_message"] is None, result


@pytest.mark.needs("network")
def test_cert_optional_continues_and_records_the_failure(target: Target, tls_server: ServerFactory,
                                                         pki: Pki) -> None:
    server = tls_server(pki.server_expired.chain, pki.server_expired.key)
    result = connect(target, server, pki, verify_mode="CERT_OPTIONAL")
    assert result["ok"] and result["echo_matches"]
    assert result["verify_message"] == EXPIRED
    assert result["peer_subject"] is None, "getpeercert() is empty for a certificate that did not verify"


@pytest.mark.needs("network")
def test_cert_none_skips_verification(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_self_signed.chain, pki.server_self_signed.key)
    result = connect(target, server, pki, verify_mode="CERT_NONE", server_hostname=None)
    assert result["ok"] and result["echo_matches"]
    assert result["peer_der_len"] > 100, "the certificate is still there in binary form"


@pytest.mark.needs("network")
def test_check_hostname_false_verifies_chain_only(target: Target, tls_server: ServerFactory,
                                                  pki: Pki) -> None:
    server = tls_server(pki.server_wrong_host.chain, pki.server_wrong_host.key)
    assert connect(target, server, pki, check_hostname=False)["ok"]
    server = tls_server(pki.server_untrusted.chain, pki.server_untrusted.key)
    assert_verify_error(connect(target, server, pki, check_hostname=False), NOT_TRUSTED)


@pytest.mark.needs("network")
def test_cert_required_without_hostname_fails_before_handshake(target: Target,
                                                               tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    result = connect(target, server, pki, server_hostname=None)
    assert result["type"] == "ValueError" and result["args"] == ["CERT_REQUIRED requires server_hostname"]


@pytest.mark.needs("network")
def test_no_trust_anchors_says_what_to_do(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    run = target.run(script("tls_client.py"), {"host": target.host_address, "port": server.port,
                                                   "server_hostname": "localhost"}).check()
    result = run.result()
    assert result["type"] == "SSLError" and result["is_oserror"]
    assert "load_verify_locations" in result["reason"]


@pytest.mark.needs("network", "clock")
@pytest.mark.parametrize(("clock", "message"), [
    (dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), FUTURE),  # a clock that was never set
    (dt.timedelta(days=-400), FUTURE),
    (dt.timedelta(days=400), EXPIRED),
], ids=["unset", "-400d", "+400d"])
def test_validity_follows_the_board_clock(target: Target, tls_server: ServerFactory, pki: Pki,
                                          clock: dt.datetime | dt.timedelta, message: str) -> None:
    """The certificate dates are checked against the target's wall clock (libfaketime on unix, the RTC
    on a board): set it wrong and a good server is refused with the date's reason."""
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    now = dt.datetime.now(dt.timezone.utc)
    target.set_clock(clock if isinstance(clock, dt.datetime) else now + clock)
    result = connect(target, server, pki)
    assert result["ok"] is False and result["verify_message"] == message, result


@pytest.mark.needs("network", "clock")
def test_clock_set_to_utc_accepts_a_good_server(target: Target, tls_server: ServerFactory, pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    target.set_clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400))
    assert not connect(target, server, pki)["ok"], "the shifted clock refuses the server"
    shown = target.set_clock(dt.datetime.now(dt.timezone.utc))
    assert abs(shown - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=10)
    assert connect(target, server, pki)["ok"]


MEMORY_CASES = [
    ("server_ec", "localhost", "CERT_REQUIRED", None),
    ("server_cn_only", "mpssl.test", "CERT_REQUIRED", None),
    ("server_expired", "localhost", "CERT_REQUIRED", EXPIRED),
    ("server_not_yet_valid", "localhost", "CERT_REQUIRED", FUTURE),
    ("server_wrong_host", "localhost", "CERT_REQUIRED", CN_MISMATCH),
    ("server_untrusted", "localhost", "CERT_REQUIRED", NOT_TRUSTED),
    ("server_self_signed", "localhost", "CERT_REQUIRED", NOT_TRUSTED),
    ("server_expired", "localhost", "CERT_OPTIONAL", None),
]


def test_verification_without_network(target: Target, pki: Pki) -> None:
    """The same checks over in-memory streams, so they also run on the emulated MCU's mbedTLS build."""
    files = {"cafile": pki.root_ca.cert}
    for identity in {case[0] for case in MEMORY_CASES}:
        files[f"{identity}_chain"] = getattr(pki, identity).chain
        files[f"{identity}_key"] = getattr(pki, identity).key
    cases = [{"identity": i, "hostname": h, "verify_mode": m} for i, h, m, _ in MEMORY_CASES]
    results = target.run(script("verify_memory.py"), {"cases": cases}, files, modules=[MEMORY_STREAMS],
                                 timeout=600).check().results()
    assert len(results) == len(MEMORY_CASES)
    for (_, _, mode, message), result in zip(MEMORY_CASES, results, strict=True):
        if mode == "CERT_OPTIONAL":
            assert result["ok"] and result["verify_message"] == EXPIRED, result
        elif message is None:
            assert result["ok"] and result["verify_message"] is None, result
        else:
            assert not result["ok"] and result["verify_message"] == message, result
            assert result["verify_code"] & FLAGS[message] and result["is_valueerror"], result
