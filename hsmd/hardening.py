"""Keep LMKs and clear keys out of core dumps.

The host holds every secret in its own memory, so a core file of the server is a copy
of the LMKs. ``serve`` makes the process non-dumpable before it reads any key: no core
file, no ptrace attach by other processes of the same user, and /proc/<pid>/mem
closed to them. RLIMIT_CORE = 0 says the same to the kernel a second way (the systemd
unit also sets LimitCORE=0, for the time before Python runs).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import sys
from typing import Final

_PR_GET_DUMPABLE: Final = 3
_PR_SET_DUMPABLE: Final = 4


def _prctl() -> ctypes._NamedFuncPointer | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    prctl = libc.prctl
    prctl.restype = ctypes.c_int
    return prctl


def forbid_core_dumps() -> bool:
    """Make this process non-dumpable; True when the kernel confirms it."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    prctl = _prctl()
    if prctl is None:
        return False
    prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    return bool(prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
