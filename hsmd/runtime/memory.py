"""How big an instance's linear memory is, read from outside the guest.

wasmtime's C API gives no way to ask a component instance for its memory
size (a component exports no core memory, and the store limiter only sets a
cap). What it does give is a fixed shape in the address space, measured with
wasmtime 50 on Linux (the version abi.py pins): each linear memory is one
reservation, a PROT_NONE guard, then the accessible memory mapped read-write
(partly as a copy-on-write image of the compiled component), then PROT_NONE
up to 4 GiB and more. Growing the memory makes more of the reservation
read-write; the base never moves.

So the runtime finds the base once, when an instance is created (the one
reservation that appeared in /proc/self/maps during instantiation), and after
each call asks one question: is the byte at `base + mark` accessible? The
kernel answers it without a fault: writing that byte to a pipe fails with
EFAULT when the page is PROT_NONE. That is two system calls (~1 µs), against
~1 ms for reading /proc/self/maps. (Reading /proc/self/mem would not do: it
reads PROT_NONE pages too. A pipe write is allowed by any seccomp filter
that lets the server run at all, unlike process_vm_readv.)

Where the shape is not found (another platform, a wasmtime that lays memory
out differently, or an instantiation that could not be told apart from a
concurrent one), `watch` returns no base and the caller falls back to a
conservative call count.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Callable
from typing import Final, TypeVar

RESERVATION_MIN: Final = 1 << 30  # the PROT_NONE tail after a linear memory: 4 GiB and more
PAGE: Final = 64 * 1024  # a WebAssembly page
T = TypeVar("T")

_lock = threading.Lock()  # one instantiation at a time may be watched, or the new reservation is ambiguous
_pipe: tuple[int, int] | None = None


def bases() -> set[int] | None:
    """Base addresses of every linear memory in this process, or None where /proc/self/maps is unavailable."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return None
    found = set()
    run_start = run_end = -1  # the current run of contiguous read-write mappings
    for line in lines:
        span, perms = line.split(maxsplit=2)[:2]
        start_hex, end_hex = span.split(b"-")
        start, end = int(start_hex, 16), int(end_hex, 16)
        if perms.startswith(b"rw"):
            if start != run_end:
                run_start = start
            run_end = end
        elif perms.startswith(b"---") and start == run_end and end - start >= RESERVATION_MIN:
            found.add(run_start)
            run_end = -1
        else:
            run_end = -1
    return found


def watch(create: Callable[[], T]) -> tuple[T, int | None]:
    """Run `create` (an instantiation) and return its result with the base of the one linear memory it mapped."""
    with _lock:
        before = bases()
        made = create()
        after = bases()
    if before is None or after is None:
        return made, None
    new = after - before
    return made, new.pop() if len(new) == 1 else None


def probe_pipe() -> tuple[int, int]:
    global _pipe
    if _pipe is None:
        with _lock:
            if _pipe is None:
                _pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    return _pipe


def _ask(cell: ctypes.Array[ctypes.c_char]) -> bool:
    read_end, write_end = probe_pipe()
    try:
        os.write(write_end, cell)
    except OSError as exc:
        if exc.errno == errno.EFAULT:
            return False
        raise
    # Each caller writes its byte before reading one, so the pipe is never
    # empty here, even when threads (or forked workers sharing it) interleave.
    with contextlib.suppress(BlockingIOError):
        os.read(read_end, 1)
    return True


def accessible(address: int) -> bool:
    """Whether the byte at `address` is mapped readable, asked of the kernel (no fault in this process)."""
    return _ask((ctypes.c_char * 1).from_address(address))


class Probe:
    """The same question about one address, asked after every call: ~1 µs."""

    __slots__ = ("_cell",)

    def __init__(self, address: int) -> None:
        self._cell = (ctypes.c_char * 1).from_address(address)  # a view Python itself never reads

    def __call__(self) -> bool:
        return _ask(self._cell)


def size(base: int, limit: int) -> int:
    """The linear memory's size in bytes (a whole number of pages, at most `limit`), by bisection."""
    low, high = 0, limit // PAGE  # pages: size >= low * PAGE, size <= high * PAGE
    while low < high:
        mid = (low + high + 1) // 2
        if accessible(base + mid * PAGE - 1):
            low = mid
        else:
            high = mid - 1
    return low * PAGE
