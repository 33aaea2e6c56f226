"""Field conventions the status commands share (J2, J4, J8, JK).

Dates are 6 N as DDMMYY and times 6 N as hhmmss, in the unit's local time. The
order of the date's digits is not stated by any public source we found (a
decision recorded in each command's docstring); DDMMYY is the unit's console
convention. Sources: mszeu/PayShieldPressureTest (`decoders.py`, tested
against a payShield 10K) and Shulyaka/iso8583tools (`fields_thales.frm`).
"""

from __future__ import annotations

import datetime

from hsmd_sdk.hsm import UnitInfo


def date_time(stamp: str) -> bytes:
    """YYYYMMDDhhmmss -> DDMMYY · hhmmss (12 N)."""
    return f"{stamp[6:8]}{stamp[4:6]}{stamp[2:4]}{stamp[8:14]}".encode("ascii")


def elapsed_seconds(status: UnitInfo) -> int:
    """Whole seconds from `started` to `now` (both YYYYMMDDhhmmss, the same calendar)."""

    def parse(stamp: str) -> datetime.datetime:
        # Not strptime: it imports _strptime on first use, and a plugin has no filesystem to import from.
        year, month, day = int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8])
        return datetime.datetime(year, month, day, int(stamp[8:10]), int(stamp[10:12]), int(stamp[12:14]))

    return max(0, int((parse(status.now) - parse(status.started)).total_seconds()))


def period_header(status: UnitInfo, *, seconds: bool) -> bytes:
    """Serial number (12 A) · start, end and current date and time (6 N + 6 N each) [· seconds (10 N)].

    The period runs from the unit's start to now: hsmd keeps its counters in memory.
    """
    header = status.serial_number.encode("ascii") + date_time(status.started) + date_time(status.now) + date_time(status.now)
    return header + (f"{elapsed_seconds(status):010d}".encode("ascii") if seconds else b"")
