"""JK — Get instantaneous health check status.

Request:  JK (no fields)
Response: JL 00 · serial number (12 A) · date (6 N, DDMMYY) · time (6 N, hhmmss)
          · console state (1 N: 0 unknown — hsmd has no console) · payShield
          Manager state (1 N: 0) · Ethernet host port 1 (1 N: 1 running) · host
          port 2 (1 N: 3 not configured) · two reserved states (0, 0) · tamper
          state (1 N: 1 not tampered) · LMKs loaded (2 N) · test LMKs (2 N) ·
          old LMKs (2 N: 00) · per LMK: identifier (2 N) · authorised (1 N) ·
          authorised activities (2 N) · scheme (1 A: V variant) · algorithm
          (1 N: 0 3DES double length) · status (1 A: L live, T test) · comment
          (its check value) · X'14 · then X'15 · fraud limits exceeded (1 N: 0)
          · PIN attack limit exceeded (1 N: 0)
Errors: 15 data after the command code.

Sources: mszeu/PayShieldPressureTest `decoders.py` (decode_jk: "can decode the
full reply", tested against a payShield 10K: field order, state codes, the
X'14/X'15 LMK list); a C# client (Switchlink.Diagnostics) agreeing up to the
LMK list. Vectors in tests/test_cmd_jk.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.status import date_time

COMMAND = "JK"
VERSION = "1.0.0"

STATES = b"0" + b"0" + b"1" + b"3" + b"00"  # console, payShield Manager, host port 1, host port 2, reserved x2
NOT_TAMPERED = b"1"
RECORD_END, LIST_END = b"\x14", b"\x15"


def execute(request: bytes, hsm: Hsm) -> bytes:
    Fields(request).end()
    status = hsm.unit_status()
    lmks = hsm.lmk_table()
    tests = sum(1 for lmk in lmks if not lmk.live)
    records = b"".join(
        f"{lmk.id:02d}{int(status.authorised)}00{lmk.scheme}{lmk.algorithm}{'L' if lmk.live else 'T'}{lmk.check_value}".encode("ascii")
        + RECORD_END
        for lmk in lmks
    )
    counts = f"{len(lmks):02d}{tests:02d}00".encode("ascii")
    return status.serial_number.encode("ascii") + date_time(status.now) + STATES + NOT_TAMPERED + counts + records + LIST_END + b"00"
