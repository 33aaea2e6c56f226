"""J4 — Get host command volumes.

Request:  J4 (no fields)
Response: J5 00 · serial number (12 A) · start date, start time · end date, end
          time · current date, current time (6 N each: DDMMYY, hhmmss) · seconds
          in the period (10 N) · then for each command code answered: command
          code (2 A) · number of requests (12 N)

The period runs from the unit's start to now; every request a plugin answered
is counted, whatever its error code. Commands are listed in code order, only
those answered at least once.
Errors: 15 data after the command code.

Sources: mszeu/PayShieldPressureTest `decoders.py` (decode_j4, tested against a
payShield 10K); Shulyaka/iso8583tools `fields_thales.frm` (J4/J5). The date
order DDMMYY is hsmd's reading (no source states it). Vectors in
tests/test_cmd_j4.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.status import period_header

COMMAND = "J4"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    Fields(request).end()
    volumes = b"".join(f"{c.command}{min(c.count, 10**12 - 1):012d}".encode("ascii") for c in hsm.command_counts())
    return period_header(hsm.unit_status(), seconds=True) + volumes
