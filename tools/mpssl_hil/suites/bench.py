"""`make bench`: mpssl against MicroPython's built-in tls (with micropython-lib's ssl.py), on two unix
binaries built from the same checkout with mbedTLS on the GC heap (build/bench/{mpssl,builtin}).

The same scripts (bench/scripts/, documented `ssl` API only) run on both:
- handshake and bulk cost in instructions, counted by valgrind's callgrind (stable on a busy machine):
  each figure is the difference between a run that does the work and one that does everything else
  (interpreter start, certificates, contexts, for bulk also the handshake);
- GC-heap bytes per established connection and at the peak of a handshake (native runs, gc.mem_alloc);
- flash: text of the two binaries, and of each board image `make sizes` left in build/.
It writes bench/results.md (ratios mpssl/built-in with the absolute values) and bench/results.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import platform
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mpssl_hil.certs import Pki, generate_pki
from mpssl_hil.suites import bench_mcu, linker_map
from mpssl_hil.suites.elf import image_size

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "bench" / "scripts"
VARIANTS = ("mpssl", "builtin")
LABELS = {"mpssl": "mpssl", "builtin": "built-in tls + ssl.py"}
MIB = 1 << 20
# Targets for the ratio mpssl / built-in (flash: a difference in bytes).
TARGETS = {"handshake": 1.00, "bulk": 0.90, "heap": 1.00}
FLASH_TARGET = 2048
# The AEAD suites measured for bulk cost (ECDHE-ECDSA, the P-256 server), where the binary offers them.
AEAD_SUITES = (
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-ECDSA-WITH-AES-128-CCM",
    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
)


class BenchError(RuntimeError):
    pass


@dataclass
class Settings:
    handshakes: int = 3  # per suite and mode; each is counted on its own
    bulk_bytes: int = MIB  # per direction
    chunk: int = 16384
    connections: int = 4


QUICK = Settings(handshakes=1, bulk_bytes=64 * 1024, connections=2)
MARK = "mp_micropython_stack_use"  # what bench_common.mark() calls: callgrind dumps its counts before it


def binaries(build_root: Path) -> dict[str, Path]:
    return {v: build_root / "bench" / v / "micropython" for v in VARIANTS}


@dataclass
class Runner:
    """Runs one bench script on one binary, natively or under callgrind, and keeps its argument files and
    callgrind output in `workdir`."""

    workdir: Path
    pki: Pki
    callgrind: bool = True
    timeout: float = 3600
    _n: itertools.count = field(default_factory=itertools.count)

    def suite_args(self, suite: str) -> dict[str, str]:
        """DER files: the built-in module parses no PEM, and one DER certificate per call. So the server
        presents its leaf alone and the client trusts the issuing (intermediate) CA."""
        if suite == "ecdsa":
            server, key = self.pki.server_ec, self.pki.ec_key_der
        else:
            server, key = self.pki.server_rsa, self.pki.rsa_key_der
        return {"cafile": str(self.pki.intermediate_ca.cert_der), "certfile": str(server.cert_der),
                "keyfile": str(key)}

    def run(self, binary: Path, script: str, args: dict, *, measure: bool = False) -> tuple[dict, list[Path]]:
        """The script's JSON report and, with `measure` (and callgrind), one callgrind file per phase (the
        phases bench_common.mark() separates), in order."""
        n = next(self._n)
        argfile = self.workdir / f"{n:03d}-{script}.json"
        argfile.write_text(json.dumps(args))
        command = [str(binary), str(SCRIPTS / f"{script}.py"), str(argfile)]
        out = None
        if measure and self.callgrind:
            out = self.workdir / f"{n:03d}-{binary.parent.name}-{script}.callgrind"
            command = ["valgrind", "--tool=callgrind", f"--dump-before={MARK}", f"--callgrind-out-file={out}",
                       *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout, cwd=SCRIPTS)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise BenchError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return json.loads(lines[-1]), (parts(out) if out else [])


def parts(out: Path) -> list[Path]:
    """callgrind's dumps of one run (out.1, out.2, ..., and out for the last), by part number."""
    files = [p for p in out.parent.glob(out.name + "*") if p == out or p.suffix[1:].isdigit()]

    def number(p: Path) -> int:
        for line in p.read_text().splitlines():
            if line.startswith("part:"):
                return int(line.split()[1])
        return 0

    return sorted(files, key=number)


def loaded_bytes(elf: Path) -> int:
    """What a unix binary loads from its file (code, read-only data, relocated constant tables, initialised
    data), without the unwind tables (.eh_frame), which MCU images do not carry: the unix stand-in for
    flash, since MicroPython's constant tables sit in .data.rel.ro there and in flash on a board."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    total = 0
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            if (section["sh_flags"] & SH_FLAGS.SHF_ALLOC and section["sh_type"] != "SHT_NOBITS"
                    and not section.name.startswith(".eh_frame")):
                total += section["sh_size"]
    return total


def total_instructions(callgrind_out: Path) -> int:
    for line in callgrind_out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise BenchError(f"no totals in {callgrind_out}")


def self_costs(callgrind_out: Path) -> Counter[str]:
    """Instructions spent in each function itself (callgrind's self cost), from its output file."""
    names: dict[str, str] = {}
    costs: Counter[str] = Counter()
    fn = "?"
    skip = False

    def name(spec: str) -> str:
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), spec)

    for line in callgrind_out.read_text().splitlines():
        if skip:  # the line after calls= is the call's inclusive cost
            skip = False
            continue
        if line.startswith("fn="):
            fn = name(line[3:])
        elif line.startswith("cfn="):
            name(line[4:])
        elif line.startswith("calls="):
            skip = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields_ = line.split()
            if len(fields_) >= 2:
                costs[fn] += int(fields_[1])
    return costs


@dataclass
class Row:
    metric: str
    unit: str
    values: dict[str, float | None]
    target: float | None = None  # a ratio; None: no target
    note: str = ""

    @property
    def ratio(self) -> float | None:
        a, b = self.values.get("mpssl"), self.values.get("builtin")
        return a / b if a is not None and b else None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    suites: list[tuple[str, str, str, str]] = field(default_factory=list)  # (what, variant, client, server)
    offered: dict[str, list[str]] = field(default_factory=dict)
    profiles: list[tuple[str, list[tuple[str, float, float]]]] = field(default_factory=list)
    flash: list[tuple[str, int, int]] = field(default_factory=list)  # (image, mpssl text, built-in text)
    mcu_rows: list[Row] = field(default_factory=list)  # the emulated MCU (bench_mcu.py)
    flash_parts: list[tuple[str, int, int]] = field(default_factory=list)  # (part, mpssl, built-in) on one board
    mcu_suites: list[tuple[str, str, str, str]] = field(default_factory=list)


HANDSHAKE_SUITES = (("ecdsa", "ECDHE-ECDSA P-256"), ("rsa", "ECDHE-RSA 2048"))
# (name, gc.collect() before each handshake, what that means)
HANDSHAKE_MODES = (("in a row", False, "one after another, garbage left on the heap"),
                   ("collected", True, "each from a collected heap"))


def bulk_label(ciphers: str | None) -> str:
    return "default suite" if ciphers is None else ciphers.removeprefix("TLS-ECDHE-ECDSA-WITH-")


def measure_variant(binary: Path, runner: Runner, settings: Settings, bulk_suites: list[str | None],
                    log=print) -> dict:
    """Every measurement on one binary; the raw figures (instructions per phase, heap reports)."""
    data: dict = {"handshake": {}, "bulk": {}, "heap": {}}
    offered = runner.run(binary, "bench_ciphers", {})[0]["ciphers"]
    for (suite, title), (mode, collect, _) in itertools.product(HANDSHAKE_SUITES, HANDSHAKE_MODES):
        rep, files = runner.run(binary, "bench_handshake", {**runner.suite_args(suite), "count": settings.handshakes,
                                                             "collect": collect}, measure=True)
        # part 1: start-up and contexts; then one part per handshake; the last: exit
        hs = files[1:1 + settings.handshakes] if len(files) >= settings.handshakes + 1 else []
        data["handshake"][f"{suite} {mode}"] = {"instructions": [total_instructions(p) for p in hs],
                                                "files": [str(p) for p in hs],
                                                "cipher": (rep["client_cipher"], rep["server_cipher"])}
        log(f"{binary.parent.name}: handshake {title} {mode}: {data['handshake'][f'{suite} {mode}']['instructions']}")
    for ciphers in bulk_suites:
        if ciphers is not None and ciphers not in offered:
            continue
        args = {**runner.suite_args("ecdsa"), "chunk": settings.chunk, "bytes": settings.bulk_bytes,
                "ciphers": [ciphers] if ciphers else None}
        rep, files = runner.run(binary, "bench_bulk", args, measure=True)
        # part 1: start-up and handshake; 2: client to server; 3: server to client; 4: bare pipes
        phases = dict(zip(("c2s", "s2c", "plain"), files[1:4], strict=False)) if len(files) >= 4 else {}
        key = ciphers or "default"
        data["bulk"][key] = {k: total_instructions(p) * MIB / settings.bulk_bytes for k, p in phases.items()}
        data["bulk"][key]["files"] = {k: str(p) for k, p in phases.items()}
        data["bulk"][key]["cipher"] = (rep["client_cipher"], rep["server_cipher"])
        log(f"{binary.parent.name}: bulk {bulk_label(ciphers)}: "
            f"{ {k: v for k, v in data['bulk'][key].items() if k in ('c2s', 's2c', 'plain')} }")
    for suite, _ in HANDSHAKE_SUITES:
        data["heap"][suite] = runner.run(binary, "bench_heap",
                                         {**runner.suite_args(suite), "count": settings.connections})[0]
    data["offered"] = offered
    return data


BULK_SUITES: tuple[str | None, ...] = (None, *AEAD_SUITES)


def measure(bins: dict[str, Path], runner: Runner, settings: Settings, log=print) -> dict:
    """Both binaries at once (two processes: instruction counts do not depend on the machine's load); the raw
    figures, which `assemble` turns into results (saved as JSON so the report can be written again)."""
    with ThreadPoolExecutor(max_workers=len(VARIANTS)) as pool:
        futures = {v: pool.submit(measure_variant, bins[v], runner, settings, list(BULK_SUITES), log)
                   for v in VARIANTS}
        return {v: f.result() for v, f in futures.items()}


def add_bulk_rows(data: dict, unit: str, rows: list[Row], suites: list[tuple[str, str, str, str]]) -> None:
    """A row per direction for each bulk suite either side measured, and the suites negotiated."""
    for ciphers in BULK_SUITES:
        key = ciphers or "default"
        have = [v for v in VARIANTS if key in data[v]["bulk"]]
        if not have:
            continue
        label = bulk_label(ciphers)
        note = "" if len(have) == 2 else f"offered by {LABELS[have[0]]} only"
        for v in have:
            suites.append((f"bulk, {label}", v, *data[v]["bulk"][key]["cipher"]))
        for direction, arrow in (("c2s", "client→server"), ("s2c", "server→client")):
            per = {v: data[v]["bulk"][key].get(direction) if v in have else None for v in VARIANTS}
            rows.append(Row(f"bulk {arrow}, {label}", unit, per, TARGETS["bulk"], note))


def assemble(data: dict, bins: dict[str, Path], settings: Settings) -> Results:
    res = Results(offered={v: data[v]["offered"] for v in VARIANTS})

    def mean(xs: list[int]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    for (suite, title), (mode, _, how) in itertools.product(HANDSHAKE_SUITES, HANDSHAKE_MODES):
        hs = {v: data[v]["handshake"][f"{suite} {mode}"] for v in VARIANTS}
        per = {v: mean(hs[v]["instructions"]) for v in VARIANTS}
        spread = [x / per[v] - 1 for v in VARIANTS if per[v] for x in hs[v]["instructions"]]
        note = f"{how}; mean of {settings.handshakes}"
        if spread:
            note += f", each within {max(abs(x) for x in spread) * 100:.0f}% of its mean"
        name = f"handshake, {title}, {mode}"
        res.rows.append(Row(name, "instructions", per, TARGETS["handshake"], note))
        if mode == HANDSHAKE_MODES[0][0]:
            for v in VARIANTS:
                res.suites.append((f"handshake {title}", v, *hs[v]["cipher"]))
        files = {v: [Path(p) for p in hs[v]["files"]] for v in VARIANTS}
        if all(files.values()):
            gc_work = {v: sum(gc_instructions(p) for p in files[v]) / len(files[v]) for v in VARIANTS}
            res.rows.append(Row(f"{name}: the GC heap's own code", "instructions", gc_work, None,
                                "gc_*, m_malloc*, m_tracked*: mostly gc_alloc for mbedTLS' bignums"))
            res.rows.append(Row(f"{name}: all but the GC heap's code", "instructions",
                                {v: per[v] - gc_work[v] if per[v] is not None else None for v in VARIANTS},
                                None, "mbedTLS, the module, the interpreter"))
            res.profiles.append((f"handshake {title}, {mode}, per handshake",
                                 profile_diff(files, settings.handshakes, top=8)))
    add_bulk_rows(data, "instructions/MiB", res.rows, res.suites)
    files = {v: [Path(data[v]["bulk"]["default"]["files"]["c2s"])] for v in VARIANTS
             if "c2s" in data[v]["bulk"]["default"]["files"]}
    if len(files) == 2:
        res.profiles.append(("bulk client→server, default suite (each side its own), per MiB",
                             profile_diff(files, settings.bulk_bytes / MIB)))
    plain = {v: data[v]["bulk"]["default"].get("plain") for v in VARIANTS}
    res.rows.append(Row("bulk harness alone (the same loop over bare pipes, in each figure above)",
                        "instructions/MiB", plain))
    for suite, title in HANDSHAKE_SUITES:
        for key, what in (("per_pair", "per connection, client + server"), ("per_client", "per connection, client"),
                          ("per_server", "per connection, server"), ("handshake_peak", "handshake peak, both ends")):
            peak = key == "handshake_peak"
            res.rows.append(Row(f"heap {what}, {title}", "bytes", {v: data[v]["heap"][suite][key] for v in VARIANTS},
                                None if peak else TARGETS["heap"],
                                "live heap at each transport read/write" if peak else
                                f"{settings.connections} open at once"))
    res.flash.append(("unix x86-64, the bench binaries, all loaded sections but unwind tables",
                      *(loaded_bytes(bins[v]) for v in VARIANTS)))
    build_root = bins["mpssl"].parents[2]
    qemu = bench_mcu.images(build_root)
    if all(p.is_file() for p in qemu.values()):
        res.flash.append(("qemu MPS2_AN385, the bench's two images of one board (Cortex-M3)",
                          image_size(qemu["mpssl"]).text, image_size(qemu["builtin"]).text))
        maps = {v: p.with_suffix(".map") for v, p in qemu.items()}
        if all(p.is_file() for p in maps.values()):
            res.flash_parts = linker_map.breakdown(maps["mpssl"], maps["builtin"])
    for ours in sorted(build_root.glob("*-*/firmware.elf")):
        upstream = build_root / "upstream" / ours.parent.name / "firmware.elf"
        if upstream.is_file() and not ours.parent.name.startswith("qemu"):  # upstream's qemu has no TLS
            res.flash.append((f"{ours.parent.name} (make sizes)", image_size(ours).text, image_size(upstream).text))
    return res


def assemble_mcu(data: dict, settings: bench_mcu.McuSettings, res: Results) -> None:
    """The emulated MCU's rows: instructions per handshake and per KiB, heap per connection, and how many
    client connections a 256 KiB heap holds."""

    def mean(xs: list[int]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    for suite, title in bench_mcu.HANDSHAKE_SUITES:
        per = {v: mean(data[v]["handshake"][suite]["instructions"]) for v in VARIANTS}
        res.mcu_rows.append(Row(f"handshake, {title}", "instructions", per, TARGETS["handshake"],
                                f"client and server, mean of {settings.handshakes}"))
        for v in VARIANTS:
            res.mcu_suites.append((f"handshake {title}", v, *data[v]["handshake"][suite]["cipher"]))
    add_bulk_rows(data, "instructions/KiB", res.mcu_rows, res.mcu_suites)
    res.mcu_rows.append(Row("bulk harness alone (the same loop over bare pipes)", "instructions/KiB",
                            {v: data[v]["bulk"]["default"].get("plain") for v in VARIANTS}))
    for suite, title in bench_mcu.HANDSHAKE_SUITES:
        for key, what in (("per_pair", "per connection, client + server"), ("per_client", "per connection, client"),
                          ("per_server", "per connection, server")):
            res.mcu_rows.append(Row(f"heap {what}, {title}", "bytes",
                                    {v: data[v]["heap"][suite][key] for v in VARIANTS}, TARGETS["heap"],
                                    f"{settings.connections} open at once"))
        fit = {v: float(bench_mcu.HEAP_BUDGET // data[v]["heap"][suite]["per_client"]) for v in VARIANTS}
        res.mcu_rows.append(Row(f"client connections in a 256 KiB heap, {title}", "connections", fit, None,
                                "256 KiB / heap per client connection (higher is better)"))


def smoke(binary: Path, runner: Runner) -> dict[str, dict]:
    """Every bench script once on `binary`, natively with tiny counts: they still work (no timing)."""
    ec = runner.suite_args("ecdsa")
    offered = runner.run(binary, "bench_ciphers", {})[0]["ciphers"]
    aead = next(c for c in AEAD_SUITES if c in offered)
    return {
        "ciphers": {"ciphers": offered},
        "handshake ecdsa": runner.run(binary, "bench_handshake", {**ec, "count": 2})[0],
        "handshake rsa": runner.run(binary, "bench_handshake", {**runner.suite_args("rsa"), "count": 1})[0],
        "bulk default": runner.run(binary, "bench_bulk", {**ec, "bytes": 40000, "chunk": 16384, "ciphers": None})[0],
        "bulk aead": runner.run(binary, "bench_bulk", {**ec, "bytes": 40000, "chunk": 16384, "ciphers": [aead]})[0],
        "heap": runner.run(binary, "bench_heap", {**ec, "count": 2})[0],
        "aead": {"name": aead},
    }


GC_FUNCTIONS = ("gc_", "m_malloc", "m_realloc", "m_free", "m_tracked")


def gc_instructions(callgrind_out: Path) -> int:
    """Instructions spent in the GC heap's allocator and collector themselves."""
    return sum(n for f, n in self_costs(callgrind_out).items() if f.startswith(GC_FUNCTIONS))


def profile_diff(files: dict[str, list[Path]], per: float, top: int = 12) -> list[tuple[str, float, float]]:
    """The functions whose self cost differs most between the variants, per unit of work."""
    a, b = Counter(), Counter()
    for p in files["mpssl"]:
        a.update(self_costs(p))
    for p in files["builtin"]:
        b.update(self_costs(p))
    diff = sorted(set(a) | set(b), key=lambda f: -abs(a[f] - b[f]))
    return [(f, a[f] / per, b[f] / per) for f in diff[:top]]


def environment(build_root: Path, micropy_dir: Path | None) -> list[tuple[str, str]]:
    def out(*cmd: str, cwd: Path | None = None) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = out("git", "rev-parse", "--short", "HEAD", cwd=REPO)
    if out("git", "status", "--porcelain", "--untracked-files=no", "--", "usermod", "ports-config", cwd=REPO):
        commit += " (with uncommitted changes in usermod/ or ports-config/)"
    env = [("date", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
           ("machine", f"{cpu}, {platform.machine()}, {platform.system()} {platform.release()}"),
           ("compiler", out("cc", "--version").splitlines()[0] if out("cc", "--version") else "?"),
           ("valgrind", out("valgrind", "--version")),
           ("mpssl commit", commit)]
    if micropy_dir:
        env.append(("MicroPython", out("git", "describe", "--tags", "--always", cwd=micropy_dir)))
        h = micropy_dir / "lib" / "mbedtls" / "include" / "mbedtls" / "build_info.h"
        m = re.search(r'MBEDTLS_VERSION_STRING\s+"([^"]+)"', h.read_text()) if h.is_file() else None
        env.append(("mbedTLS", m.group(1) if m else "?"))
    return env


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def verdict(row: Row) -> str:
    r = row.ratio
    if r is None or row.target is None:
        return ""
    if r <= row.target:
        return "met"
    return f"missed by {(r - row.target) * 100:.1f} points"


def table_line(row: Row) -> str:
    ratio = "—" if row.ratio is None else f"{row.ratio:.3f}"
    target = "" if row.target is None else f"≤ {row.target:.2f}"
    status = verdict(row) or row.note
    if row.note and verdict(row):
        status += f"; {row.note}"
    return (f"| {row.metric} | {row.unit} | {_fmt(row.values.get('mpssl'))} | "
            f"{_fmt(row.values.get('builtin'))} | {ratio} | {target} | {status} |")


def markdown(res: Results, env: list[tuple[str, str]], settings: Settings,
             mcu_settings: bench_mcu.McuSettings) -> str:
    lines = ["# Benchmarks: mpssl against the built-in tls", "",
             "Written by `make bench` (tools/mpssl_hil/suites/bench.py); do not edit by hand.", ""]
    lines += [f"- {k}: {v}" for k, v in env]
    lines += ["", "How each binary was built (the same checkout, flags and compiler; `STRIP=` keeps symbols):",
              "- **mpssl**: `build/bench/mpssl/micropython`, the unix port with `USER_C_MODULES=usermod "
              "MICROPY_PY_SSL=0 MPSSL_MBEDTLS_GC_HEAP=1 MPSSL_HOST_ENTROPY=1`, the manifest without ssl.py "
              "(as `make firmware PORT=unix MBEDTLS_HEAP=gc`).",
              "- **built-in**: `build/bench/builtin/micropython`, plain upstream unix (`MICROPY_PY_SSL=1`, "
              "`MICROPY_SSL_MBEDTLS=1`, extmod/modtls_mbedtls.c, micropython-lib's ssl.py frozen by the port's "
              "manifest), with `MBEDTLS_CONFIG_FILE` = bench/config/builtin_gc_heap.h: the port's configuration "
              "with `MICROPY_MBEDTLS_CONFIG_BARE_METAL`, i.e. mbedTLS on `m_tracked_calloc` (the GC heap), the OS "
              "entropy source kept, exactly as mpssl's GC-heap build selects it.",
              "- Both: `MICROPY_PY_BTREE=0`, `-Os`, the port's default heap.", "",
              "Method: instructions are counted by valgrind's callgrind; the scripts mark the boundaries of their "
              "phases (`micropython.stack_use()`, which callgrind is told to dump its counts before), so each "
              f"figure counts only its phase. Handshake: {settings.handshakes} per binary and suite, each counted "
              "alone (wrap, handshake, close), once in a row and once each from a collected heap (`gc.collect()` "
              "before it, not counted), between two in-memory endpoints in one process, so client and server "
              "are both counted; default settings, the client verifying the server (CERT_REQUIRED, hostname). "
              "Certificates and keys are DER (the built-in parses no PEM): the server presents its leaf, the client "
              "trusts the issuing CA, both P-256 ECDSA-signed. Bulk: after the handshake, "
              f"{settings.bulk_bytes // 1024} KiB each way in {settings.chunk}-byte writes read as they arrive, "
              "over the ECDSA server, per MiB; the same loop over bare in-memory pipes is given as the harness's own "
              f"share. Heap: `gc.mem_alloc()` after `gc.collect()`, {settings.connections} connections open at "
              "once, less the bare in-memory pipes; the handshake peak samples the live heap at each transport read "
              "and write (temporaries freed inside one step are not seen). Flash: on unix, what each binary loads "
              "from its file but the unwind tables (code, read-only data, MicroPython's constant tables, which "
              "a board keeps in flash); on boards, text as `make sizes` gives it.", "",
              "| measurement | unit | mpssl | built-in | ratio mpssl/built-in | target | |",
              "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    lines += [table_line(row) for row in res.rows]
    for image, a, b in res.flash:
        d = a - b
        status = "met" if d <= FLASH_TARGET else f"missed by {d - FLASH_TARGET:,} bytes"
        lines.append(f"| flash text, {image} | bytes | {a:,} | {b:,} | {a / b:.3f} (diff {d:+,}) | "
                     f"≤ +{FLASH_TARGET:,} | {status} |")
    if not any("make sizes" in image for image, _, _ in res.flash):
        lines += ["", "No board image with its upstream counterpart was in build/ (`make sizes` builds them); "
                  "docs/firmware.md has the last board figures."]
    if res.flash_parts:
        lines += ["", "## Flash by part, on the emulated MCU's two images", "",
                  "Code and read-only data of each part that differs between the qemu board with mpssl and the same "
                  "board with the built-in tls + ssl.py, from the linker's map files (bytes; merged strings "
                  "counted once). mbedTLS files that grow or appear do so for mpssl's configuration "
                  "(ports-config/mbedtls/mpssl_mbedtls_config.h): PEM and base64 for PEM files, chacha20, "
                  "poly1305 and chachapoly for ChaCha20-Poly1305, ecp_curves for MBEDTLS_ECP_NIST_OPTIM, "
                  "x509_crt and oid for the key-usage checks, ssl_* for keep-peer-certificate, ALPN, encrypt-then-MAC "
                  "and extended master secret; pkcs5 goes (no password API).", "",
                  "| part | mpssl | built-in | difference |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {part} | {a:,} | {b:,} | {a - b:+,} |" for part, a, b in res.flash_parts]
    if res.mcu_rows:
        lines += ["", "## On the emulated MCU", "",
                  "The same scripts on the qemu board (QEMU's mps2-an385, a Cortex-M3) run with `-icount "
                  "shift=0,sleep=off`: every instruction takes 1 ns of virtual time, so `time.ticks_us()` "
                  "between two marks counts the board's instructions (in thousands), whatever the host does. "
                  "Two images of the same board from the same checkout: `build/bench/qemu-mpssl` (mpssl) and "
                  "`build/bench/qemu-builtin` (the built-in tls + micropython-lib's ssl.py, the board's "
                  "`MPSSL_BUILTIN_TLS=1`), on the same mbedTLS configuration, GC heap and platform layer. "
                  f"Handshakes: {mcu_settings.handshakes} per image and suite, in a row; bulk: "
                  f"{mcu_settings.bulk_bytes // 1024} KiB each way in {mcu_settings.chunk}-byte writes; heap: "
                  f"{mcu_settings.connections} connections open at once.", "",
                  "| measurement | unit | mpssl | built-in | ratio mpssl/built-in | target | |",
                  "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
        lines += [table_line(row) for row in res.mcu_rows]
        lines += ["", "Negotiated on the emulated MCU:", "", "| run | image | client | server |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {what} | {LABELS[v]} | {c} | {s} |" for what, v, c, s in res.mcu_suites]
    else:
        lines += ["", "No emulated-MCU figures: `make bench-build` builds the two qemu images with an Arm "
                  "toolchain, and `qemu-system-arm` runs them."]
    lines += ["", "## Negotiated cipher suites", "", "| run | binary | client | server |", "| --- | --- | --- | --- |"]
    lines += [f"| {what} | {LABELS[v]} | {c} | {s} |" for what, v, c, s in res.suites]
    lines += ["", "Offered by a client context (in order of preference):"]
    lines += [f"- {LABELS[v]}: {', '.join(c)}" for v, c in res.offered.items()]
    lines += ["", "## Profiles", "",
              "Functions whose own instructions (callgrind self cost, in the measured phases only) differ most "
              "between the two binaries, per handshake or per MiB."]
    for what, fns in res.profiles:
        lines += ["", f"**{what}**", "", "| function | mpssl | built-in | difference |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| `{f}` | {a:,.0f} | {b:,.0f} | {a - b:+,.0f} |" for f, a, b in fns]
    lines += ["", "![ratios](results.png)", ""]
    return "\n".join(lines)


def plot(res: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mcu = [Row(f"[MCU] {r.metric}", r.unit, r.values, r.target) for r in res.mcu_rows
           if r.ratio is not None and r.unit != "connections"]
    rows = [r for r in res.rows if r.ratio is not None] + mcu
    labels = [r.metric for r in rows] + [f"flash text, {i}" for i, _, _ in res.flash]
    ratios = [r.ratio for r in rows] + [a / b for _, a, b in res.flash]
    targets = [r.target for r in rows] + [None for _ in res.flash]
    colours = ["tab:grey" if t is None else "tab:green" if r <= t else "tab:red"
               for r, t in zip(ratios, targets, strict=True)]
    colours[len(rows):] = ["tab:green" if a - b <= FLASH_TARGET else "tab:red" for _, a, b in res.flash]
    fig, ax = plt.subplots(figsize=(10, 0.38 * len(labels) + 1.5))
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, ratios, color=colours)
    for y, t in zip(ys, targets, strict=True):
        if t is not None:
            ax.plot([t, t], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
    for y, r in zip(ys, ratios, strict=True):
        ax.text(r, y, f" {r:.2f}", va="center", fontsize=8)
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("mpssl / built-in (lower is better; black mark: target; red: missed, grey: no target;\n"
                  f"flash: target +{FLASH_TARGET} bytes)", fontsize=8)
    ax.set_title("mpssl / built-in tls + ssl.py, mbedTLS on the GC heap:\n"
                 "unix x86-64, and [MCU] the emulated Cortex-M3", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpssl-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-root", type=Path, default=REPO / "build")
    parser.add_argument("--out", type=Path, default=REPO / "bench", help="where results.md/.png go")
    parser.add_argument("--micropython-dir", type=Path, default=Path.home() / ".cache/mpssl/micropython")
    parser.add_argument("--quick", action="store_true", help="tiny counts, to try the pipeline")
    parser.add_argument("--report-only", action="store_true",
                        help="write the report again from the last run's build/bench/run/data.json")
    args = parser.parse_args(argv)
    args.build_root = args.build_root.resolve()
    bins = binaries(args.build_root)
    missing = [str(b) for b in bins.values() if not b.is_file()]
    if missing:
        parser.error(f"not built: {', '.join(missing)} (make bench-build)")
    if not shutil.which("valgrind"):
        parser.error("valgrind is not installed (Debian: valgrind)")
    settings = QUICK if args.quick else Settings()
    mcu_settings = bench_mcu.MCU_QUICK if args.quick else bench_mcu.McuSettings()
    workdir = args.build_root / "bench" / "run"
    if args.report_only:
        saved = json.loads((workdir / "data.json").read_text())
        settings, data = Settings(**saved["settings"]), saved["data"]
        mcu_settings, mcu_data = bench_mcu.McuSettings(**saved["mcu_settings"]), saved.get("mcu")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        runner = Runner(workdir, generate_pki(workdir / "pki"))
        data = measure(bins, runner, settings)
        mcu_data = None
        qemu_images = bench_mcu.images(args.build_root)
        if all(p.is_file() for p in qemu_images.values()) and shutil.which("qemu-system-arm"):
            mcu_data = bench_mcu.measure(qemu_images, runner.pki, workdir / "mcu", mcu_settings, AEAD_SUITES)
        else:
            print("no emulated-MCU figures: the two qemu images (make bench-build, with arm-none-eabi-gcc) "
                  "or qemu-system-arm are missing")
        (workdir / "data.json").write_text(json.dumps({"settings": vars(settings), "data": data,
                                                       "mcu_settings": vars(mcu_settings), "mcu": mcu_data},
                                                      indent=1))
    res = assemble(data, bins, settings)
    if mcu_data:
        assemble_mcu(mcu_data, mcu_settings, res)
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment(args.build_root, args.micropython_dir if args.micropython_dir.is_dir() else None)
    (args.out / "results.md").write_text(markdown(res, env, settings, mcu_settings))
    plot(res, args.out / "results.png")
    print(f"wrote {args.out / 'results.md'} and {args.out / 'results.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
