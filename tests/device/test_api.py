"""The module surface: `ssl` is built in, `tls` is the same module, secure defaults, constants,
exception hierarchy, verify_mode and cipher names."""

from __future__ import annotations

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.suites.elf import symbols

pytestmark = pytest.mark.needs_micropython


def test_module_surface(target: Target) -> None:
    surface = target.run(script("api_surface.py")).check().result()
    assert surface["tls_is_ssl"], "import tls gives mpssl's module"
    assert surface["name"] == "ssl"
    assert not surface["has_file"], "ssl is built in, not a frozen or file module"
    assert all(surface["constants"])
    assert surface["client_default_verify"] and surface["dtls_client_default_verify"]
    assert surface["default_context_verifies"]
    assert surface["server_default_verify"]
    assert surface["verify_mode_roundtrip"] == [True, True, True]
    assert surface["ciphers_after_set"] == ["TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
                                            "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"]
    assert surface["error_hierarchy"] == [True, True, True]
    assert surface["mbedtls_version"].startswith("Mbed TLS 3.")


def test_builtin_tls_module_is_compiled_out(unix_target: UnixTarget) -> None:
    """MicroPython's own extmod/modtls_mbedtls.c is built with MICROPY_PY_SSL=0, so its object defines
    nothing; mpssl's module object is what `ssl` and `tls` name."""
    build = unix_target.binary.parent
    assert symbols(build / "extmod" / "modtls_mbedtls.o") == {}
    ours = symbols(build / "mpssl" / "modssl.o")
    # defined there, with the size of a module object (in .rodata or .data.rel.ro, as the build has it);
    # a reference to a module object defined elsewhere would have size 0
    assert "mp_module_ssl" in ours and ours["mp_module_ssl"][1] > 0, ours.get("mp_module_ssl")


def test_stream_methods(target: Target, pki: Pki) -> None:
    result = target.run(script("stream_methods.py"), {},
                             {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key,
                              "cafile": pki.root_ca.cert, "rsa_certfile": pki.server_rsa.chain,
                              "rsa_keyfile": pki.server_rsa.key}, modules=[MEMORY_STREAMS],
                             timeout=300).check().result()
    assert result["write"] == 9 and result["send"] == 9
    assert result["readline"] == ["line one\n", "line two\n"]
    assert (result["readinto"], result["readinto_data"]) == (4, "0123")
    assert (result["recv_into"], result["recv_into_data"]) == (6, "456789")
    assert result["recv"] == "abcdef"
    assert result["read_nothing_yet"] is None
    assert result["client_read"] == "reply"
    # CPython's shape: (suite, protocol version, secret bits); None before the handshake.
    name, version, bits = result["cipher"]
    assert result["version"] == version == "TLSv1.2" and name.startswith("TLS-ECDHE-ECDSA-") and bits in (128, 256)
    assert ["commonName", "mpssl test server (EC)"] in [rdn[0] for rdn in result["peer_subject"]]
    assert result["eof_after_close_notify"] == ""
