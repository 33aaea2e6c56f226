"""DA — Verify a terminal PIN using the IBM method.

A PIN block under a TPK is checked against the IBM 3624 offset on file: the
offset of the PIN it holds (from the natural PIN, i.e. the validation data
encrypted under the PVK and decimalised) must equal the offset given.

Request:  DA · TPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · maximum PIN length (2 N, 12) · PIN block under the TPK (16 H; 32 H
          under an AES TPK) · PIN block format code (2 N) · check length (2 N,
          04-12) · account number (12 N; 18 characters, the PAN padded on the left
          with F, when the format is 04; the PAN, 12-19 N, and ; when it is 48) · decimalisation table (16 N, or 16 H when
          the unit keeps encrypted tables) · PIN validation data (12 A: hex
          and one N) · offset (12 H, left-justified, padded with F)
          · [%nn LMK identifier]
Response: DB 00 (verified; 02 when the PVK is double or triple length, as a
          warning: TDES is used in place of DES) · DB 01 (verification failure)

The PIN has as many digits as the offset field has before its F padding; a
PIN of another length fails verification (01). An offset with fewer digits
than the check length (the minimum PIN length) is malformed input (15: hsmd's
choice, no source states it). No excluded-PIN table, no user-storage (`K`)
decimalisation tables.

Formats: the host's table, and 48 (ISO 9564-1 format 4) under AES keys: a
TPK in a key block of algorithm A under a key-block LMK takes format 48
only, and 48 goes with AES keys only (23). A format 48 block binds the whole
PAN, which the account field then carries; the validation data's N takes the
last five of the 12 account digits derived from it (its 12 rightmost digits
before the check digit), as in GO (logic/go.py). Format 04 (PLUS) takes the
18-character account field the manual's "Format 04" page gives every command
that reads it (DA and EA among them), the block bound to the PAN's first 12
digits, the validation data's N as for 48; every other format, 12 N. AWS's payShield
migration table (aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists DA as supported
(Verify Pin Data) without naming a key algorithm; AES TPKs, format 48, the
32 H block and the PAN-and-delimiter account field are hsmd's reading, after
the table's AES rows for CA and CC (see hsmd_sdk.pins).

Errors: 01 verification failure · 10 TPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (for 48, a PAN field without its ; or not
12-19 digits) · 20 PIN block invalid · 23 PIN block format (48 under a TDES
key, another format under an AES key) · 24 PIN length · 25 decimalisation
table · 29 key not a TPK / PVK.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json` (verifyTermPinIbm:
layout, error codes including the 02 warning) and `test/config/test.js`
(`DB02`, `DB01`); Shulyaka/iso8583tools `parser/formats/fields_thales.frm`
(DA layout); nickntg/thalessimulatorlibrary `HostCommands` XML (maximum PIN
length 12); payShield host command reference, "Generate an IBM PIN
Offset" (02 for a double or triple length PVK, the table check 25); AWS's
migration table (above: DA listed); vectors in tests/test_cmd_da.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply, answering, pins

COMMAND = "DA"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="TPK")


def verify(request: bytes, hsm: Hsm, *, pin_key: str) -> bytes | Reply:
    """DA with its TPK, EA (logic/ea.py) with a ZPK: the only difference."""
    fields = Fields(request)
    pin_key_field = fields.key(what=pin_key)
    pvk_field = fields.key(what="PVK")
    pins.read_max_pin_length(fields)
    block = pins.read_block(fields, pin_key_field)
    pin_format = pins.read_format(fields)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields, pin_format)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, pins.account_for("01", account))
    offset = pins.read_offset(fields)
    lmk_id = fields.lmk_id()
    fields.end()
    if len(offset) < check_length:
        raise HsmError("15", f"offset of {len(offset)} digits, check length {check_length}")

    pin_key_handle = hsm.key_from_lmk(hsm.key_type_code(pin_key), pin_key_field, lmk_id)
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    pin = hsm.pin_from_block(pin_key_handle, block, pin_format, pins.account_for(pin_format, account))
    if hsm.pin_ibm_offset(pvk, pin, table, validation_data, lmk_id) != offset:
        return Reply("01")
    return b"" if hsm.key_describe(pvk).length == 8 else Reply("02")
