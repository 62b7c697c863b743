"""Child processes: they end with the runner (an emulator left running after pytest was killed, by a CI
timeout or Ctrl-C twice, keeps a CPU busy and its ports bound for every later run on the machine), and
one way to stop one (`stop_process`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that has Linux send the child SIGTERM when the runner's
    process ends; None elsewhere (the child is then only stopped by the runner's own teardown)."""
    return _die_with_parent if sys.platform.startswith("linux") else None


def _signal(proc: subprocess.Popen[Any], sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0, *, readers: Iterable[threading.Thread] = (),
                 group: bool = False) -> int:
    """Stop a child and return its exit code: SIGTERM, up to `timeout` seconds for it to end, then SIGKILL.
    A child that already ended is only reaped. Then the threads in `readers` (which read its pipes until
    EOF) get `timeout` seconds to finish, and its pipes are closed: a pipe still being read by a live
    thread is left open (closing it would wait for that read, or hand its descriptor to the next file).

    `group`: signal the child's whole process group (a child started with start_new_session=True whose own
    children, e.g. the micropython processes of a test runner, must end with it); the group gets SIGKILL
    even when the child ended on SIGTERM, for children that did not."""
    if proc.poll() is None:
        _signal(proc, signal.SIGTERM, group)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL, group)
            proc.wait()
    if group:
        _signal(proc, signal.SIGKILL, group)  # what the child left behind in its group
    readers = list(readers)
    for t in readers:
        t.join(timeout)
    if not any(t.is_alive() for t in readers):
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # stdin: a flush into a pipe nobody reads (BrokenPipeError)
                    pipe.close()
    return proc.returncode
