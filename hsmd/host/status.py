"""What the unit knows about itself for the status commands (NO, J2, J4, J8, JK).

The dispatcher records every answered request here (its command code, error
code, how long it took, and whether it was a PIN verification); the status
plugins read it through the host, and the HTTP ops listener's /metrics reads
the same counters (hsmd.ops.metrics). Counters live in memory and start at zero
with the process, as a unit's counters start at its boot.
"""

from __future__ import annotations

import itertools
import math
import time
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from hsmd_sdk.hsm import CommandCount, LoadBand

# Commands whose answer is a PIN verification, counted for J8 (per minute, per hour).
PIN_VERIFICATIONS: Final = frozenset({"BC", "BE", "DA", "EA", "DC", "EC", "GO", "GQ", "CK", "CM"})
BANDS: Final = 10  # load bands of 10 %
# Upper bounds (seconds) of the latency histogram's buckets, then +Inf: a plugin call takes from
# tens of microseconds up to its deadline ([plugins] deadline_ms, 1 s by default).
LATENCY_BOUNDS: Final = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def stamp(seconds: float) -> str:
    """Local time as YYYYMMDDhhmmss."""
    return time.strftime("%Y%m%d%H%M%S", time.localtime(seconds))


@dataclass(slots=True)
class PortStatus:
    """One host-port listener, as the status commands and the metrics see it.

    Filled by the app once the listener is bound; its server bumps the counters in place
    (plain attribute increments, nothing on the request path beyond that).
    """

    kind: Literal["tcp", "tls", "udp"]
    host: str
    port: int
    connections: int = 0  # open now (always 0 for udp)
    accepted: int = 0  # connections accepted since start (tcp, tls)
    handshake_failures: int = 0  # tls: handshakes that failed or timed out
    datagrams: int = 0  # udp: datagrams received
    last_datagram: float = -math.inf  # udp: time.monotonic() when the last one came
    malformed: int = 0  # frames too short for header + command (ZZ51/ZZ15); udp: also datagrams dropped
    # What NI reports: the open connections (by connection id) and the traffic since start.
    open: dict[str, OpenConnection] = field(default_factory=dict)
    bytes_received: int = 0
    bytes_sent: int = 0
    frames_received: int = 0
    frames_sent: int = 0


@dataclass(slots=True)
class OpenConnection:
    remote_address: str
    remote_port: int
    opened: float  # time.monotonic() at accept


class Latency:
    """One command's latency histogram: a count per bucket (not cumulative) and the sum."""

    __slots__ = ("buckets", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BOUNDS) + 1)
        self.sum = 0.0


class UnitStatus:
    def __init__(self, serial_number: str = "HSMD00000001", max_connections: int = 256) -> None:
        self.serial_number = serial_number
        self.max_connections = max_connections
        self.started = time.time()
        self.ports: list[PortStatus] = []  # one per bound listener, in start order
        self.answers: Counter[tuple[str, str]] = Counter()  # (command, error code) -> requests a plugin answered
        self.latency: dict[str, Latency] = {}  # command -> time in the plugin call
        self.refused: Counter[str] = Counter()  # command code -> requests answered 68 (no plugin), see refuse()
        self.reloads: Counter[str] = Counter()  # "ok" / "failed" -> SIGHUP reloads
        self._verifications: deque[float] = deque()  # monotonic times of the last hour's PIN verifications
        self._bands = [0] * BANDS
        self._second = int(time.monotonic())
        self._busy = 0.0  # seconds spent in commands during self._second

    def record(self, command: str, busy: float, code: str = "00") -> None:
        """One request a plugin answered with error `code`, taking `busy` seconds of the unit's time.

        On every request: plain increments and one bisect, nothing else (`make bench`, section
        "metrics cost per request", measures it).
        """
        now = time.monotonic()
        self.answers[command, code] += 1
        latency = self.latency.get(command)
        if latency is None:
            latency = self.latency[command] = Latency()
        latency.buckets[bisect_left(LATENCY_BOUNDS, busy)] += 1
        latency.sum += busy
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

    def refuse(self, command: bytes) -> None:
        """A request no plugin serves (answered 68), counted apart from J4's volumes: by its code
        when that is two ASCII letters or digits, else as "??", so that a client cannot grow the
        metrics' label set past 62 x 62 codes."""
        self.refused[command.decode("ascii") if command.isalnum() else "??"] += 1

    def counts(self) -> Counter[str]:
        """Requests a plugin answered, per command (J4's volumes)."""
        counts: Counter[str] = Counter()
        for (command, _), count in self.answers.items():
            counts[command] += count
        return counts

    def command_counts(self) -> list[CommandCount]:
        return [CommandCount(command, count) for command, count in sorted(self.counts().items())]


# NI lists 26 characters per open connection: no more than this many fit a 64 KiB answer. The
# snapshot stops there, which keeps it (about 40 bytes pickled per connection) well inside a
# worker channel message (hsmd.channel.MAX_MESSAGE) however many connections are open.
SNAPSHOT_CONNECTIONS: Final = 2_500


def _listable(ports: list[PortStatus]) -> list[PortStatus]:
    """`ports`, their open connections cut to the first SNAPSHOT_CONNECTIONS in all."""
    room, out = SNAPSHOT_CONNECTIONS, []
    for port in ports:
        kept = dict(itertools.islice(port.open.items(), room))
        room -= len(kept)
        out.append(port if len(kept) == len(port.open) else replace(port, open=kept))
    return out


class StatusSnapshot(UnitStatus):
    """What the status commands read of a unit, frozen: the main process makes one from its
    UnitStatus and pickles it with a status command it sends to a worker (hsmd.workers), which
    installs it as its host's status for that request.

    Only what the host's status functions read: serial number, start, connection limit, ports,
    J4's counts, J2's load bands, J8's verification counts (not their hour of timestamps).
    """

    def __init__(self, status: UnitStatus) -> None:
        super().__init__(status.serial_number, status.max_connections)
        self.started = status.started
        self.ports = _listable(status.ports)
        self._counts = status.counts()
        self._loading = status.loading()
        self._verification_counts = status.verifications()

    def loading(self) -> list[LoadBand]:
        return self._loading

    def verifications(self) -> tuple[int, int]:
        return self._verification_counts

    def counts(self) -> Counter[str]:
        return self._counts
