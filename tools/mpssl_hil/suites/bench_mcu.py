"""`make bench`'s emulated-MCU columns: the bench scripts (bench/scripts/) on the qemu board, a Cortex-M3
(QEMU's mps2-an385), run with `-icount shift=0,sleep=off`. There every instruction takes 1 ns of virtual
time, so the microseconds `time.ticks_us()` counts between two of a script's marks are thousands of the
board's instructions, whatever the host is doing.

Two images of the same board, built by `make bench-build` from the same checkout:
- build/bench/qemu-mpssl/firmware.elf: mpssl, as `make firmware PORT=qemu` builds it;
- build/bench/qemu-builtin/firmware.elf: the built-in tls with micropython-lib's ssl.py, on the same
  mbedTLS configuration, heap and platform layer (the board's MPSSL_BUILTIN_TLS=1).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpssl_hil.board.serial import SerialBoardTarget
from mpssl_hil.certs import Pki
from mpssl_hil.emulators.qemu import QemuBoard, QemuUnavailable

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "bench" / "scripts"
VARIANTS = ("mpssl", "builtin")
KIB = 1024
HEAP_BUDGET = 256 * KIB  # "how many connections fit": a 256 KiB heap, as on a small MCU
NS_PER_US = 1000  # -icount shift=0: one instruction per nanosecond


class McuBenchError(RuntimeError):
    pass


def images(build_root: Path) -> dict[str, Path]:
    return {v: build_root / "bench" / f"qemu-{v}" / "firmware.elf" for v in VARIANTS}


class IcountQemuBoard(QemuBoard):
    """The qemu board with QEMU's instruction counting: virtual time advances 1 ns per instruction and
    jumps over idle waits (sleep=off), so ticks_us() counts instructions, not host time."""

    def command(self) -> list[str]:
        return [*super().command(), "-icount", "shift=0,sleep=off"]


@dataclass
class McuSettings:
    handshakes: int = 2  # per suite; each is counted on its own
    bulk_bytes: int = 64 * KIB  # per direction
    chunk: int = 4096
    connections: int = 4


MCU_QUICK = McuSettings(handshakes=1, bulk_bytes=16 * KIB, connections=2)


class McuRunner:
    """Runs bench scripts on one emulated board: the certificates and keys delivered as files, the other
    arguments as the script's ARGS."""

    def __init__(self, target: SerialBoardTarget, pki: Pki, workdir: Path, timeout: float = 1800) -> None:
        self.target = target
        self.pki = pki
        self.workdir = workdir
        self.timeout = timeout
        workdir.mkdir(parents=True, exist_ok=True)

    def suite_files(self, suite: str) -> dict[str, Path]:
        """DER, as on unix (bench.Runner.suite_args): the server's leaf alone, the client trusting its CA."""
        if suite == "ecdsa":
            server, key = self.pki.server_ec, self.pki.ec_key_der
        else:
            server, key = self.pki.server_rsa, self.pki.rsa_key_der
        return {"cafile": self.pki.intermediate_ca.cert_der, "certfile": server.cert_der, "keyfile": key}

    def run(self, script: str, args: dict[str, Any], suite: str | None = "ecdsa") -> dict[str, Any]:
        self.target.workdir_root = self.workdir
        files = self.suite_files(suite) if suite else {}
        result = self.target.run(SCRIPTS / f"{script}.py", args, files, timeout=self.timeout,
                                 modules=[SCRIPTS / "bench_common.py"])
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or result.timed_out or not lines:
            raise McuBenchError(f"{script} failed on {self.target.name}:\n{result.describe()}")
        return json.loads(lines[-1])


HANDSHAKE_SUITES = (("ecdsa", "ECDHE-ECDSA P-256"), ("rsa", "ECDHE-RSA 2048"))


def measure_image(runner: McuRunner, settings: McuSettings, aead_suites: tuple[str, ...],
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every measurement on one image: instructions per handshake and per KiB, heap per connection."""
    name = runner.target.name
    data: dict[str, Any] = {"handshake": {}, "bulk": {}, "heap": {}}
    offered = runner.run("bench_ciphers", {}, suite=None)["ciphers"]
    for suite, title in HANDSHAKE_SUITES:
        rep = runner.run("bench_handshake", {"count": settings.handshakes, "collect": False}, suite)
        phases = rep["phase_us"][:settings.handshakes]
        data["handshake"][suite] = {"instructions": [us * NS_PER_US for us in phases],
                                    "cipher": (rep["client_cipher"], rep["server_cipher"])}
        log(f"{name}: handshake {title}: {data['handshake'][suite]['instructions']}")
    for ciphers in (None, *aead_suites):
        if ciphers is not None and ciphers not in offered:
            continue
        rep = runner.run("bench_bulk", {"chunk": settings.chunk, "bytes": settings.bulk_bytes,
                                        "ciphers": [ciphers] if ciphers else None})
        per_kib = {k: us * NS_PER_US * KIB / settings.bulk_bytes
                   for k, us in zip(("c2s", "s2c", "plain"), rep["phase_us"], strict=False)}
        data["bulk"][ciphers or "default"] = {**per_kib, "cipher": (rep["client_cipher"], rep["server_cipher"])}
        log(f"{name}: bulk {ciphers or 'default suite'}: {per_kib}")
    for suite, _ in HANDSHAKE_SUITES:
        data["heap"][suite] = runner.run("bench_heap", {"count": settings.connections}, suite)
    data["offered"] = offered
    return data


def measure(image_paths: dict[str, Path], pki: Pki, workdir: Path, settings: McuSettings,
            aead_suites: tuple[str, ...], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both images, one after the other (virtual time does not depend on the host's load)."""
    data: dict[str, Any] = {}
    for variant in VARIANTS:
        try:
            board = IcountQemuBoard(image_paths[variant])
        except QemuUnavailable as e:
            raise McuBenchError(str(e)) from e
        with board:
            target = SerialBoardTarget(board.serial, name=f"qemu-{variant}", delivery="copy",
                                       silence_timeout=1800)
            try:
                data[variant] = measure_image(McuRunner(target, pki, workdir), settings, aead_suites, log)
            finally:
                target.close()
    return data


def smoke(image: Path, pki: Pki) -> dict[str, Any]:
    """Every bench script once on one image, with tiny counts: they still run there (no timing)."""
    with IcountQemuBoard(image) as board, tempfile.TemporaryDirectory() as scratch:
        target = SerialBoardTarget(board.serial, name=image.parent.name, delivery="copy", silence_timeout=600)
        try:
            runner = McuRunner(target, pki, Path(scratch), timeout=600)
            return {
                "ciphers": runner.run("bench_ciphers", {}, suite=None),
                "handshake": runner.run("bench_handshake", {"count": 1, "collect": False}),
                "bulk": runner.run("bench_bulk", {"chunk": 2048, "bytes": 4096, "ciphers": None}),
                "heap": runner.run("bench_heap", {"count": 1}),
            }
        finally:
            target.close()
