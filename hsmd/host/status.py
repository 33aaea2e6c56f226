"""What the unit knows about itself for the status commands (NO, J2, J4, J8, JK).

The dispatcher records every answered request here (its command code, how
long it took, and whether it was a PIN verification); the status plugins read
it through the host. Counters live in memory and start at zero with the
process, as a unit's counters start at its boot.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Final

from hsmd_sdk.hsm import CommandCount, LoadBand

# Commands whose answer is a PIN verification, counted for J8 (per minute, per hour).
PIN_VERIFICATIONS: Final = frozenset({"BC", "BE", "DA", "EA", "DC", "EC", "GO", "GQ", "CK", "CM"})
BANDS: Final = 10  # load bands of 10 %


def stamp(seconds: float) -> str:
    """Local time as YYYYMMDDhhmmss."""
    return time.strftime("%Y%m%d%H%M%S", time.localtime(seconds))


class UnitStatus:
    def __init__(self, serial_number: str = "HSMD00000001", max_connections: int = 256) -> None:
        self.serial_number = serial_number
        self.max_connections = max_connections
        self.started = time.time()
        self.counts: Counter[str] = Counter()
        self._verifications: deque[float] = deque()  # monotonic times of the last hour's PIN verifications
        self._bands = [0] * BANDS
        self._second = int(time.monotonic())
        self._busy = 0.0  # seconds spent in commands during self._second

    def record(self, command: str, busy: float) -> None:
        """One answered request that took `busy` seconds of the unit's time."""
        now = time.monotonic()
        self.counts[command] += 1
        if command in PIN_VERIFICATIONS:
            self._verifications.append(now)
        self._advance(now)
        self._busy += busy

    def _advance(self, now: float) -> None:
        """Close the seconds that have passed into the load bands (idle ones count as 0 %)."""
        second = int(now)
        if second == self._second:
            return
        self._bands[min(BANDS - 1, int(self._busy * 100) // BANDS)] += 1
        self._bands[0] += max(0, second - self._second - 1)
        self._second, self._busy = second, 0.0

    def loading(self) -> list[LoadBand]:
        self._advance(time.monotonic())
        return [LoadBand(i * BANDS, (i + 1) * BANDS, seconds) for i, seconds in enumerate(self._bands)]

    def verifications(self) -> tuple[int, int]:
        now = time.monotonic()
        while self._verifications and self._verifications[0] < now - 3600:
            self._verifications.popleft()
        return sum(1 for t in self._verifications if t >= now - 60), len(self._verifications)

    def command_counts(self) -> list[CommandCount]:
        return [CommandCount(command, count) for command, count in sorted(self.counts.items())]
