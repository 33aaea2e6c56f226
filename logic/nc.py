"""NC — Perform diagnostics.

The host asks the unit to prove it is alive and which LMK it holds.

Request:  NC [%nn LMK identifier]
Response: ND 00 · LMK check value (16 H) · firmware number (9 A)

A payShield 10K answers `HEADNC` with `HEADND00` + the LMK check value +
the firmware number (shared/reference/payshield.md, "Frame").

Errors: 13 the LMK identifier is malformed or names no loaded LMK;
15 anything follows the fields.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm

COMMAND = "NC"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    lmk_id = fields.lmk_id()
    fields.end()
    check_value = hsm.lmk_check_value(lmk_id)
    return (check_value + hsm.firmware_number()).encode("ascii")
