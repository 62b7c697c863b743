"""Running the `openssl` command line tool as a peer: the process, its output, its message trace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from mpssl_hil.common.process import stop_process
from mpssl_hil.peers.log import PeerLog

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.S)
_RECORD_HEADER = re.compile(r"^(<<<|>>>) .*content_type=22\)|^(<<<|>>>) .*Handshake")


def openssl_binary() -> str:
    path = shutil.which("openssl")
    if path is None:
        raise FileNotFoundError("the openssl command line tool is not on PATH")
    return path


def cert_args(certfile: Path, keyfile: Path, scratch: Path) -> list[str]:
    """`-cert/-key` arguments; extra certificates in `certfile` (a chain file) go to `-cert_chain`,
    because openssl takes only the first certificate of `-cert`."""
    certs = _PEM_CERT.findall(certfile.read_bytes())
    args = ["-cert", str(certfile), "-key", str(keyfile)]
    if len(certs) > 1:
        extra = scratch / f"{certfile.stem}.extra.pem"
        extra.write_bytes(b"".join(c if c.endswith(b"\n") else c + b"\n" for c in certs[1:]))
        args += ["-cert_chain", str(extra)]
    return args


def hello_verify_requests(msgfile: Path, direction: str) -> int:
    """Count HelloVerifyRequest messages in an `-msg -msgfile` dump; direction ">>>" is sent, "<<<" is
    received. OpenSSL 3.0 does not name DTLS 1.2 messages, so the handshake type byte (3) is read from
    the hex dump that follows each handshake record line."""
    if not msgfile.exists():
        return 0
    lines = msgfile.read_text(errors="replace").splitlines()
    count = 0
    for header, body in zip(lines, lines[1:], strict=False):
        if not header.startswith(direction) or not _RECORD_HEADER.match(header):
            continue
        if "HelloVerifyRequest" in header or body.split()[:1] == ["03"]:
            count += 1
    return count


class OpensslProcess:
    """An `openssl` subprocess whose stdout bytes go to `on_stdout` and stderr lines to `on_stderr`;
    both are logged."""

    def __init__(
        self,
        args: list[str],
        log: PeerLog,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[str], None],
    ) -> None:
        self.log = log
        self._on_stdout = on_stdout
        self._on_stderr = on_stderr
        log.add("$ " + " ".join(args))
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, ValueError):
            self.log.add("stdin closed, could not write")

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> int:
        """Terminate (then kill) the process; return its exit code after its output was read."""
        rc = stop_process(self.proc, grace, readers=self._readers)
        self.log.add(f"exit code {rc}")
        return rc

    def finish(self, grace: float = 5.0) -> int:
        """Wait up to `grace` seconds for the process to exit by itself, then stop it; return its exit code
        after its output was read."""
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.log.add(f"still running after {grace} s: stopping it")
        return self.stop(grace)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while data := os.read(fd, 65536):
            self.log.add(f"stdout {data!r}")
            self._on_stdout(data)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.log.add(f"stderr {line}")
            self._on_stderr(line)
