"""DE — Generate an IBM PIN offset of a PIN under the LMK.

The IBM 3624 offset of a PIN held under LMK pair 02-03: digit by digit, the
PIN minus the natural PIN (the validation data encrypted under the PVK and
decimalised through the table), modulo 10.

Request:  DE · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · PIN under LMK 02-03 (PIN length + 1 N) · check length (2 N, 04-12)
          · account number (12 N) · decimalisation table (16 N, or 16 H when
          the unit keeps encrypted tables) · PIN validation data (12 A: hex
          and one N) · [%nn LMK identifier]
Response: DF 00 · offset (12 H: as many digits as the PIN, left-justified,
          padded with F); 02 in place of 00 when the PVK is double or triple
          length (a warning: TDES is used in place of DES, the offset follows)

A PIN shorter than the check length (the minimum PIN length) is refused with
24, the code for a PIN of unacceptable length: hsmd's choice. The 81 "PIN
length mismatch" a codec lists for DE is taken to belong to the 10K excluded
PIN table, which hsmd does not support (a `*` block is 15).

Errors: 02 double or triple length PVK (warning, offset present) · 10 PVK
parity · 13 LMK identifier · 14 PIN under LMK invalid · 15 malformed field
· 24 PIN shorter than the check length · 25 decimalisation table · 29 key not
a PVK.

Sources: payShield host command reference, "Generate an IBM PIN Offset"
(layout, 02 warning, table check 25); softwaregroup-bg/ut-codec-payshield
`messages.json` and `test/config/test.js` (error codes; `DF02000000FFFFFF`);
IBM 3624 offset algorithm as psec `psec/pin.py` implements it; vectors in
tests/test_cmd_de.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply, pins

COMMAND = "DE"
VERSION = "1.0.0"

# What follows the PIN under the LMK: check length, account, table, validation data.
_AFTER_PIN = 2 + 12 + 16 + 12


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    pvk_field = fields.key(what="PVK")
    lmk_pin = pins.read_lmk_pin(fields, before=_AFTER_PIN)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, account)
    lmk_id = fields.lmk_id()
    fields.end()

    pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    pin = hsm.pin_from_lmk(lmk_pin, account, lmk_id)
    if hsm.pin_length(pin) < check_length:
        raise HsmError("24", f"PIN shorter than the check length {check_length}")
    offset = pins.offset_field(hsm.pin_ibm_offset(pvk, pin, table, validation_data, lmk_id))
    return offset if hsm.key_describe(pvk).length == 8 else Reply("02", offset)
