"""stop_process: SIGTERM, SIGKILL for a child that ignores it, process groups, reader threads and pipes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from mpssl_hil.common.process import stop_process
from mpssl_hil.common.waiting import wait_until

SLEEPER = "import time; print('up', flush=True); time.sleep(60)"
STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
            "time.sleep(60)")


def started(code: str, **kwargs: object) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    return proc


def test_a_running_child_ends_on_sigterm_and_its_pipes_are_closed() -> None:
    proc = started(SLEEPER)
    assert stop_process(proc, timeout=10) == -signal.SIGTERM
    assert proc.stdin is not None and proc.stdin.closed
    assert proc.stdout is not None and proc.stdout.closed
    assert proc.stderr is not None and proc.stderr.closed


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    proc = started(STUBBORN)
    before = time.monotonic()
    assert stop_process(proc, timeout=0.5) == -signal.SIGKILL
    assert time.monotonic() - before >= 0.5


def test_a_child_that_ended_is_only_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], stdout=subprocess.PIPE)
    wait_until(lambda: proc.poll() is not None, timeout=30, message="the child did not exit")
    assert stop_process(proc) == 3 and proc.stdout is not None and proc.stdout.closed


def test_readers_finish_before_the_pipes_close() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time; print('x' * 100000); time.sleep(60)"],
                            stdout=subprocess.PIPE)
    read = bytearray()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            read.extend(line)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    wait_until(lambda: len(read) > 100000, timeout=30, message="the reader got nothing")
    assert stop_process(proc, timeout=10, readers=[t]) == -signal.SIGTERM
    assert not t.is_alive() and proc.stdout is not None and proc.stdout.closed


def test_a_pipe_a_live_thread_still_reads_stays_open() -> None:
    proc = started(SLEEPER)
    blocked = threading.Event()
    t = threading.Thread(target=blocked.wait, daemon=True)  # stands for a reader that does not end
    t.start()
    try:
        stop_process(proc, timeout=0.2, readers=[t])
        assert proc.stdout is not None and not proc.stdout.closed
    finally:
        blocked.set()
        t.join()
        assert proc.stdout is not None
        proc.stdout.close()
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.close()
        proc.stderr.close()


def test_group_ends_the_grandchildren_too() -> None:
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    stop_process(proc, timeout=10, group=True)

    def gone() -> bool:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie until init reaps it: dead all the same
            with open(f"/proc/{grandchild}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    wait_until(gone, timeout=10, message=f"the grandchild {grandchild} outlived its group")
