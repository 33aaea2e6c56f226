"""J8 — Get health check accumulated counts.

Request:  J8 (no fields)
Response: J9 00 · serial number (12 A) · start, end and current date and time
          (6 N each: DDMMYY, hhmmss) · reboots (10 N) · tampers (10 N) · PIN
          verifications in the last minute (7 N) · in the last hour (5 N) ·
          PIN attacks (8 N)

hsmd counts from its start: reboots and tampers are 0 (it has no persistent
state and no tamper sensors), PIN verifications are the verification commands
answered (BC BE DA EA DC EC GO GQ), and PIN attacks are 0: hsmd has no PIN
attack detection.
Errors: 15 data after the command code.

Sources: mszeu/PayShieldPressureTest `decoders.py` (decode_j8, tested against a
payShield 10K); Shulyaka/iso8583tools `fields_thales.frm` (J8/J9). Vectors in
tests/test_cmd_j8.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.status import period_header

COMMAND = "J8"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    Fields(request).end()
    status = hsm.unit_status()
    counts = f"{0:010d}{0:010d}{min(status.pin_verifies_minute, 9_999_999):07d}{min(status.pin_verifies_hour, 99_999):05d}{0:08d}"
    return period_header(status, seconds=False) + counts.encode("ascii")
