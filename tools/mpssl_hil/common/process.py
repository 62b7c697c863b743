"""Child processes that end with the runner: an emulator left running after pytest was killed (a CI
timeout, Ctrl-C twice) keeps a CPU busy and its ports bound for every later run on the machine."""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that has Linux send the child SIGTERM when the runner's
    process ends; None elsewhere (the child is then only stopped by the runner's own teardown)."""
    return _die_with_parent if sys.platform.startswith("linux") else None
