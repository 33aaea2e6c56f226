"""EE — Derive a PIN using the IBM method.

The IBM 3624 PIN of an account: digit by digit, the natural PIN (the
validation data encrypted under the PVK and decimalised through the table)
plus the offset, modulo 10, returned under LMK pair 02-03.

Request:  EE · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · offset (12 H, left-justified, padded with F; 0000FFFFFFFF for the
          natural PIN) · check length (2 N, 04-12) · account number (12 N)
          · decimalisation table (16 N, or 16 H when the unit keeps encrypted
          tables) · PIN validation data (12 A: hex and one N)
          · [%nn LMK identifier]
Response: EF 00 · PIN under LMK 02-03 (PIN length + 1 N); 02 in place of 00
          when the PVK is double or triple length (a warning: TDES is used in
          place of DES, the PIN follows)

The PIN has as many digits as the offset before its F padding. An offset
with fewer digits than the check length (the minimum PIN length) is
malformed input (15: hsmd's choice, no source states it). No excluded-PIN
table (a `*` block is 15), no user-storage (`K`) decimalisation tables.

Errors: 02 double or triple length PVK (warning, PIN present) · 10 PVK
parity · 13 LMK identifier · 15 malformed field · 25 decimalisation table
· 29 key not a PVK.

Sources: payShield host command reference, "Derive a PIN Using the IBM
Method" (layout, 02 warning, table check 25); softwaregroup-bg/ut-codec-payshield
`messages.json` and `test/config/test.js` (EF02, EF10, EF15, EF25);
nickntg/thalessimulatorlibrary `ThalesCore.Tests/HostCommandTests.vb`
(GenerateAndVerifyIBMPin: EE → JG → EA); vectors in tests/test_cmd_ee.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply, pins

COMMAND = "EE"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    pvk_field = fields.key(what="PVK")
    offset = pins.read_offset(fields)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, account)
    lmk_id = fields.lmk_id()
    fields.end()
    if len(offset) < check_length:
        raise HsmError("15", f"offset of {len(offset)} digits, check length {check_length}")

    pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    pin = hsm.pin_ibm_derive(pvk, offset, table, validation_data, lmk_id)
    answer = hsm.pin_to_lmk(pin, account, lmk_id).encode("ascii")
    return answer if hsm.key_describe(pvk).length == 8 else Reply("02", answer)
