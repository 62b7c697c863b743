"""The byte-level fuzzers' host side: toolchain check, seed corpora, and running the libFuzzer binaries.

The binaries (build/fuzz/fuzz-<harness>, built by `make fuzz-bytes-build` from tools/fuzz/) run mpssl
inside MicroPython with mbedTLS' entropy and clock fixed. This module

- checks that clang-14 with libFuzzer can build a fuzzer (`toolchain`);
- writes the data they read and their seeds (`corpus`): the test PKI of `mpssl_hil.certs`, generated
  for the fixed clock (`--epoch`) into <fuzz-dir>/data/pki (kept while the epoch stays the same), plus
  self-signed certificates with every kind of name and alternative name, and then runs each binary with
  MPSSL_FUZZ_SEEDS so that the frozen driver writes its own seeds into <fuzz-dir>/corpus/<harness>/
  (the handshake seeds are handshakes recorded between two mpssl sockets by the binary itself, whose
  fixed randomness makes them replay);
- runs each harness for a time (`run`): libFuzzer's corpus in <fuzz-dir>/corpus/<harness>/, crashes,
  timeouts and out-of-memory inputs in <fuzz-dir>/crashes/<harness>/, the log in <fuzz-dir>/logs/; it
  prints executions, exec/s and coverage, and exits 1 when any harness found something.

Inputs under tests/fuzz/regressions/<harness>/ are replayed before fuzzing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HARNESSES = ("certs", "ciphers", "handshake")
REPO = Path(__file__).resolve().parents[3]  # tools/mpssl_hil/suites/ -> the repository
REGRESSIONS = REPO / "tests" / "fuzz" / "regressions"
DEFAULT_FUZZ_DIR = REPO / "build" / "fuzz"
DEFAULT_EPOCH = 1767225600  # 2026-01-01T00:00:00Z; the Makefile's FUZZ_EPOCH passes the same
TIMEOUT = 10  # seconds one input may take
TIMEOUT_EXIT = 70  # libFuzzer's exit status after a timeout (-timeout_exitcode)
RSS_LIMIT_MB = 2048
# Longest input libFuzzer makes, by harness: room for a PEM chain with its key, and for a recorded
# conversation (the longest seed is a little under 6 KB).
MAX_LEN = {"certs": 8192, "ciphers": 2048, "handshake": 12288}
# What libFuzzer writes for an input that failed, by kind.
ARTIFACT_PREFIXES = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")


def toolchain_problem(cc: str = "clang-14") -> str | None:
    """Why `cc` cannot build a libFuzzer binary with ASan and UBSan, or None when it can."""
    if shutil.which(cc) is None:
        return f"no {cc}: apt-get install -y clang-14 libclang-rt-14-dev"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(
            "#include <stddef.h>\n#include <stdint.h>\n"
            "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n"
        )
        result = subprocess.run(
            [cc, "-fsanitize=fuzzer,address,undefined", "-o", str(Path(tmp) / "probe"), str(src)],
            capture_output=True, text=True, check=False,
        )
    if result.returncode != 0:
        return f"{cc} cannot link a libFuzzer binary (apt-get install -y libclang-rt-14-dev): " + (
            result.stderr.strip().splitlines() or ["?"]
        )[-1]
    return None


# ---- data and seeds ----


def epoch_datetime(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def write_data(fuzz_dir: Path, epoch: int) -> Path:
    """The PKI the binaries read, for the fixed clock `epoch`; kept while the epoch is the same (the
    recorded handshakes of a corpus hold its certificates)."""
    from mpssl_hil.certs import generate_pki

    data = fuzz_dir / "data"
    pki_dir = data / "pki"
    stamp = data / "epoch"
    if stamp.is_file() and stamp.read_text().strip() == str(epoch) and (pki_dir / "fuzz_leaf.key.pem").is_file():
        return data
    shutil.rmtree(pki_dir, ignore_errors=True)
    now = epoch_datetime(epoch)
    generate_pki(pki_dir, now=now)
    write_self_signed(pki_dir, now)
    stamp.write_text(f"{epoch}\n")
    return data


def write_self_signed(directory: Path, now: dt.datetime) -> None:
    """Self-signed server certificates of one key (fuzz_leaf.key.pem): a client that trusts such a
    certificate itself verifies it, so getpeercert() decodes whatever the fuzzer made of its names.
    Together they carry every string type and attribute getpeercert() names, and every kind of
    subjectAltName it reports (DNS, IP v4 and v6, email, URI) plus ones it leaves out."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    from mpssl_hil.certs import INTL_ATTRIBUTES

    key = ec.generate_private_key(ec.SECP256R1())
    (directory / "fuzz_leaf.key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    day = dt.timedelta(days=1)
    plain = [x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]
    many = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Zurich"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Zurich"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mpssl fuzz"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "seeds"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "fuzz@mpssl.test"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "0042"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "test"),
        x509.NameAttribute(ObjectIdentifier("1.3.6.1.4.1.55555.1.2.3"), "unnamed attribute"),
        x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
    ]
    sans = [
        x509.DNSName("localhost"),
        x509.DNSName("*.mpssl.test"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.RFC822Name("fuzz@mpssl.test"),
        x509.UniformResourceIdentifier("https://mpssl.test/fuzz"),
        x509.DirectoryName(x509.Name(plain)),
        x509.RegisteredID(ObjectIdentifier("1.3.6.1.4.1.55555.9")),
        x509.OtherName(ObjectIdentifier("1.3.6.1.5.5.7.8.4"), bytes.fromhex("3009060388370104020101")),
    ]
    variants: dict[str, tuple[list[x509.NameAttribute], list[x509.GeneralName] | None, bool]] = {
        "fuzz_selfsigned_names": (many, sans, True),
        "fuzz_selfsigned_intl": ([*INTL_ATTRIBUTES, *plain], [x509.DNSName("localhost")], True),
        "fuzz_selfsigned_bare": (plain, None, False),
    }
    for name, (attributes, alt_names, extensions) in variants.items():
        subject = x509.Name(attributes)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(int.from_bytes(os.urandom(19), "big") | 1 << 150)
            .not_valid_before(now - day)
            .not_valid_after(now + 30 * day)
        )
        if extensions:
            builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(key, hashes.SHA256())
        (directory / f"{name}.crt.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{name}.crt.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))


def binary(fuzz_dir: Path, harness: str) -> Path:
    return fuzz_dir / f"fuzz-{harness}"


def sanitizer_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_stack_use_after_return=0:detect_leaks=1:handle_abort=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    symbolizer = shutil.which("llvm-symbolizer-14") or "/usr/lib/llvm-14/bin/llvm-symbolizer"
    if Path(symbolizer).is_file():
        env.setdefault("ASAN_SYMBOLIZER_PATH", symbolizer)
    return env


def write_seeds(fuzz_dir: Path, harness: str, data_dir: Path, force: bool = False) -> int:
    """Has the harness binary write its seeds (replacing the seed-* files of an earlier run; what
    libFuzzer added to the corpus stays). Skipped when the binary and the data are those the seeds
    were written with, unless `force`."""
    corpus = fuzz_dir / "corpus" / harness
    corpus.mkdir(parents=True, exist_ok=True)
    exe = binary(fuzz_dir, harness).stat()
    made_with = f"{exe.st_mtime_ns} {exe.st_size} {(data_dir / 'epoch').read_text().strip()}\n"
    stamp = corpus / ".seeds"
    if not force and stamp.is_file() and stamp.read_text() == made_with:
        return len(list(corpus.glob("seed-*")))
    stamp.unlink(missing_ok=True)
    for old in corpus.glob("seed-*"):
        old.unlink()
    env = sanitizer_environment()
    env["MPSSL_FUZZ_SEEDS"] = str(corpus)
    env["MPSSL_FUZZ_DATA"] = str(data_dir)
    result = subprocess.run([str(binary(fuzz_dir, harness))], env=env, capture_output=True, text=True,
                            check=False, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"fuzz-{harness} could not write its seeds (exit {result.returncode}):\n"
                           f"{result.stdout[-3000:]}{result.stderr[-6000:]}")
    sys.stdout.write(result.stdout)
    stamp.write_text(made_with)
    return len(list(corpus.glob("seed-*")))


# ---- running ----


@dataclass
class FuzzRun:
    harness: str
    returncode: int
    seconds: float
    log: Path
    executions: int | None = None
    exec_per_sec: int | None = None
    new_units: int | None = None
    peak_rss_mb: int | None = None
    initial_cov: int | None = None
    cov: int | None = None
    features: int | None = None
    corpus_units: int | None = None
    artifacts: list[Path] = field(default_factory=list)
    unreproduced: list[Path] = field(default_factory=list)  # timeouts that replay in time
    regressions: int = 0

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or bool(self.artifacts)

    def summary(self) -> str:
        return (f"{self.harness}: {self.executions} executions in {self.seconds:.0f} s ({self.exec_per_sec} exec/s), "
                f"cov {self.initial_cov} -> {self.cov} edges (mpssl + mbedTLS), ft {self.features}, "
                f"corpus {self.corpus_units} units ({self.new_units} new), peak RSS {self.peak_rss_mb} MB"
                + (f", {self.regressions} regression inputs replayed" if self.regressions else "")
                + (f"; {len(self.unreproduced)} timeout(s) did not reproduce on replay (machine busy?): "
                   + ", ".join(str(a) for a in self.unreproduced) if self.unreproduced else "")
                + (f"; FAILED (exit {self.returncode}): {', '.join(str(a) for a in self.artifacts)}"
                   if self.failed else ""))

    def report(self, lines: int = 80) -> str:
        """The end of the log: the sanitizer report and stack trace of a failure."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.MULTILINE)
COV = re.compile(r"^#\d+\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.MULTILINE)


def parse_log(run: FuzzRun, text: str) -> None:
    stats = {k: int(v) for k, v in STAT.findall(text)}
    run.executions = stats.get("number_of_executed_units")
    run.exec_per_sec = stats.get("average_exec_per_sec")
    run.new_units = stats.get("new_units_added")
    run.peak_rss_mb = stats.get("peak_rss_mb")
    for kind, cov, ft, units in COV.findall(text):
        if kind == "INITED":
            run.initial_cov = int(cov)
        run.cov, run.features, run.corpus_units = int(cov), int(ft), int(units)


def run_harness(fuzz_dir: Path, harness: str, seconds: int, *, corpus: Path | None = None,
                extra_corpora: Sequence[Path] = (), regressions: Path | None = REGRESSIONS,
                crashes: Path | None = None, logs: Path | None = None, env: dict[str, str] | None = None,
                extra_args: Sequence[str] = ()) -> FuzzRun:
    """libFuzzer on one harness for `seconds` seconds. New units go to `corpus` (default: the
    harness' corpus directory), `extra_corpora` are read only; failing inputs go to `crashes`
    (default: <fuzz-dir>/crashes/<harness>), the log to `logs` (default: <fuzz-dir>/logs); `env`
    adds to the environment."""
    crashes = crashes or fuzz_dir / "crashes" / harness
    logs = logs or fuzz_dir / "logs"
    crashes.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    corpus = corpus or fuzz_dir / "corpus" / harness
    corpus.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    log = logs / f"{harness}.log"
    env = {**sanitizer_environment(), **(env or {})}
    exe = str(binary(fuzz_dir, harness))
    start = dt.datetime.now()
    replayed = sorted(p for p in (regressions / harness).glob("*") if p.is_file()) if regressions else []
    with log.open("w") as out:
        returncode = 0
        if replayed:
            out.write(f"== replaying {len(replayed)} regression inputs\n")
            out.flush()
            returncode = subprocess.run(
                [exe, f"-timeout={TIMEOUT}", f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={crashes}/",
                 *map(str, replayed)],
                stdout=out, stderr=subprocess.STDOUT, env=env, check=False,
            ).returncode
        if returncode == 0:
            out.write(f"== fuzzing for {seconds} s\n")
            out.flush()
            returncode = subprocess.run(
                [exe, str(corpus), *map(str, extra_corpora), f"-max_total_time={seconds}", f"-timeout={TIMEOUT}",
                 f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={MAX_LEN.get(harness, 4096)}",
                 "-print_final_stats=1", f"-artifact_prefix={crashes}/", *extra_args],
                stdout=out, stderr=subprocess.STDOUT, env=env, check=False,
                timeout=seconds + 600,
            ).returncode
    run = FuzzRun(harness, returncode, (dt.datetime.now() - start).total_seconds(), log, regressions=len(replayed))
    parse_log(run, log.read_text(errors="replace"))
    run.artifacts = sorted(p for p in set(crashes.iterdir()) - before if p.name.startswith(ARTIFACT_PREFIXES))
    recheck_timeouts(run, exe, env, crashes)
    return run


def recheck_timeouts(run: FuzzRun, exe: str, env: dict[str, str], crashes: Path) -> None:
    """libFuzzer's timeout and its slow-unit report (-report_slow_units, 10 s) are wall-clock time, and
    on a busy machine a process can stall for longer than that (seen here: 20 s inside a 13 ms input, in
    a poll(0) system call; a 0.8 s certificate bundle reported as a 10 s slow unit while five other
    processes shared two cores). A timeout or slow-unit input is
    run again three times with a generous wall-clock limit, and judged by the CPU time it uses: when
    the three runs finish and use less than the timeout between them, the input is moved to
    <crashes>/unreproduced/ and does not fail the run. A busy loop fails again by its CPU time, a
    wait for ever by the wall-clock limit; one that needs the inputs run before it is left to the
    long runs to find again."""
    for artifact in list(run.artifacts):
        if not artifact.name.startswith(("timeout-", "slow-unit-")):
            continue
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with run.log.open("a") as out, tempfile.TemporaryDirectory() as scratch:
            out.write(f"== replaying {artifact.name} three times\n")
            out.flush()
            again = subprocess.run([exe, f"-timeout={3 * TIMEOUT}", "-runs=3", f"-artifact_prefix={scratch}/",
                                    str(artifact)], stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            out.write(f"== exit {again.returncode}, {cpu:.2f} s of CPU time for three runs\n")
        if again.returncode != 0 or cpu >= TIMEOUT:
            continue
        (crashes / "unreproduced").mkdir(exist_ok=True)
        moved = crashes / "unreproduced" / artifact.name
        artifact.replace(moved)
        run.artifacts.remove(artifact)
        run.unreproduced.append(moved)
    if run.unreproduced and not run.artifacts and run.returncode == TIMEOUT_EXIT:
        run.returncode = 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpssl_hil.suites.fuzz_bytes", description=__doc__.split("\n")[0])
    parser.add_argument("--fuzz-dir", type=Path, default=DEFAULT_FUZZ_DIR)
    parser.add_argument("--epoch", type=int, default=DEFAULT_EPOCH, help="the fuzz binaries' fixed clock")
    parser.add_argument("--cc", default="clang-14")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("toolchain", help="check that the compiler builds libFuzzer binaries")
    corpus = sub.add_parser("corpus", help="generate the PKI and the seed corpora")
    corpus.add_argument("--force", action="store_true", help="write the seeds even when up to date")
    corpus.add_argument("harnesses", nargs="*", default=list(HARNESSES))
    run = sub.add_parser("run", help="run each harness for --seconds")
    run.add_argument("--seconds", type=int, default=600)
    run.add_argument("harnesses", nargs="*", default=list(HARNESSES))
    args = parser.parse_args(argv)

    if args.command == "toolchain":
        problem = toolchain_problem(args.cc)
        if problem:
            print(f"fuzz-bytes: {problem}", file=sys.stderr)
            return 1
        return 0
    if args.command == "corpus":
        data = write_data(args.fuzz_dir, args.epoch)
        for harness in args.harnesses:
            count = write_seeds(args.fuzz_dir, harness, data, force=args.force)
            print(f"fuzz-bytes: {count} seeds in {args.fuzz_dir / 'corpus' / harness}")
        return 0
    runs = []
    for harness in args.harnesses:
        print(f"== fuzz-{harness}: {args.seconds} s (log: {args.fuzz_dir / 'logs' / (harness + '.log')})", flush=True)
        result = run_harness(args.fuzz_dir, harness, args.seconds)
        runs.append(result)
        if result.failed:
            print(result.report(), flush=True)
        print(result.summary(), flush=True)
    print("== fuzz-bytes summary")
    for result in runs:
        print(result.summary())
    failed = [r for r in runs if r.failed]
    if failed:
        print(f"fuzz-bytes: {len(failed)} harness(es) found a problem; inputs in {args.fuzz_dir / 'crashes'}/",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
