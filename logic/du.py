"""DU — Verify a PIN by its IBM offset and generate the offset of a new PIN (a PIN change).

The customer's current PIN (a PIN block under a TPK or ZPK) is verified
against its IBM 3624 offset, as DA and EA verify; if it matches, the offset
of the new PIN, which arrives in a second PIN block under the same key and
in the same format, is returned, as BK computes one.

Request:  DU · key type (3 H: 001 = ZPK under LMK 06-07, 002 = TPK under
          LMK 14-15; the unit's TPK code, 70D, in PCI HSM mode; FFF with a key
          block under a key-block LMK)
          · TPK or ZPK (16 H, or U/X + 32 H, or T/Y + 48 H; or S + key block)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · current PIN block (16 H) · PIN block format code (2 N) · check
          length (2 N, 04-12) · account number (12 N) · decimalisation table
          (16 N, or 16 H when the unit keeps encrypted tables) · PIN
          validation data (12 A) · current offset (12 H) · new PIN block (16 H)
          · [%nn LMK identifier]
Response: DV 00 · new offset (12 H: as many digits as the PIN, padded with F);
          02 in place of 00 when the PVK is double or triple length (the TDES
          warning, as BK's); DV 01 when the current PIN does not verify

A 10K answered DV 309783FFFFFF under its key-block LMK 01 with its encrypted
table (ut-codec-payshield docs/examples.js, verifyPinGenerateOffset: the PIN
whose offset its BK gave, "changed" to itself); tests/test_cmd_du.py replays
it. The excluded PIN table a 10K may hold (86) is not supported.

Errors: 01 PIN verification failure · 02 double or triple length PVK
(warning) · 04 key type · 10 TPK/ZPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (an offset shorter than the check length
included) · 20 PIN block invalid · 23 PIN block format · 24 PIN length · 25
decimalisation table · 29 a key not of its use.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json`
(verifyPinGenerateOffset: layout, DV + offset 12 H, warning 02, errors 01 10
11 81 86) and docs/examples.js (the unit's answer); payShield host command
reference, "Verify PIN & Generate a New IBM Offset"; the offset as BK and
DA (logic/bk.py, logic/da.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply, answering, pins

from logic.bk import check_pin_length, load_pin_key, offset_reply

COMMAND = "DU"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type = fields.text(3, what="key type").upper()
    pin_key_field = fields.key(what="TPK or ZPK")
    pvk_field = fields.key(what="PVK")
    block = fields.hex(16, what="current PIN block")
    pin_format = pins.read_format(fields)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, account)
    offset = pins.read_offset(fields)
    new_block = fields.hex(16, what="new PIN block")
    lmk_id = fields.lmk_id()
    fields.end()
    if len(offset) < check_length:
        raise HsmError("15", f"offset of {len(offset)} digits, check length {check_length}")

    pin_key = load_pin_key(hsm, key_type, pin_key_field, lmk_id)
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    current = hsm.pin_from_block(pin_key, block, pin_format, account)
    if hsm.pin_ibm_offset(pvk, current, table, validation_data, lmk_id) != offset:
        return Reply("01")
    new = hsm.pin_from_block(pin_key, new_block, pin_format, account)
    check_pin_length(hsm, new, check_length)
    return offset_reply(hsm, pvk, hsm.pin_ibm_offset(pvk, new, table, validation_data, lmk_id))
