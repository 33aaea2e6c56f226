"""Read every WebAssembly linear memory in this process, to prove what never reaches a guest.

wasmtime reserves each linear memory as a large address range (4 GiB and more)
whose accessible prefix is mapped read-write (partly as a copy-on-write image
of the compiled component) and whose tail stays PROT_NONE. So a guest memory
is a run of contiguous rw mappings ending exactly where a PROT_NONE mapping of
at least 1 GiB begins. Python's own heap never has that shape, which is what
lets the scan tell guest memory from host memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

RESERVATION_MIN = 1 << 30


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    perms: str


def _mappings() -> list[Mapping]:
    out = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, perms = line.split()[:2]
            start, end = (int(x, 16) for x in span.split("-"))
            out.append(Mapping(start, end, perms))
    return out


def regions() -> list[tuple[int, int]]:
    """(start, end) of each guest linear memory's accessible part."""
    maps = _mappings()
    found = []
    for i, m in enumerate(maps):
        if m.perms.startswith("---") and m.end - m.start >= RESERVATION_MIN:
            end = m.start
            start = end
            j = i - 1
            while j >= 0 and maps[j].end == start and maps[j].perms.startswith("rw"):
                start = maps[j].start
                j -= 1
            if start < end:
                found.append((start, end))
    return found


def snapshots() -> Iterator[bytes]:
    with open("/proc/self/mem", "rb", buffering=0) as mem:
        for start, end in regions():
            mem.seek(start)
            yield mem.read(end - start)


def find(needles: dict[str, bytes]) -> list[str]:
    """Names of the needles found in any guest memory."""
    memories = list(snapshots())
    return sorted(name for name, needle in needles.items() if any(needle in memory for memory in memories))
