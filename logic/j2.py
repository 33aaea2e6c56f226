"""J2 — Get HSM loading.

Request:  J2 (no fields)
Response: J3 00 · serial number (12 A) · start, end and current date and time
          (6 N each: DDMMYY, hhmmss) · seconds in the period (10 N) · then ten
          bands, each: starting percentage (3 N) · ending percentage (3 N) ·
          number of one-second periods whose load fell in the band (10 N) · ","

A second's load is the share of it the unit spent executing commands; a
second with no request is 0 %. Bands are [0, 10), [10, 20) ... [90, 100].
Errors: 15 data after the command code.

Sources: mszeu/PayShieldPressureTest `decoders.py` (decode_j2: the 58-character
header and 17-character band records); Shulyaka/iso8583tools `fields_thales.frm`
(J2/J3: the "," delimiter); saadelm/HSM-payShield-10K-and-9K
View_Reset_Utilization_Data_UTILSTATS.md (band semantics). The date order
DDMMYY is hsmd's reading. Vectors in tests/test_cmd_j2.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.status import period_header

COMMAND = "J2"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    Fields(request).end()
    bands = b"".join(f"{b.low:03d}{b.high:03d}{min(b.seconds, 10**10 - 1):010d},".encode("ascii") for b in hsm.unit_loading())
    return period_header(hsm.unit_status(), seconds=True) + bands
