"""BK — Generate an IBM PIN offset for a customer-selected PIN.

The customer's PIN arrives in a PIN block under a TPK or ZPK; the answer is
its IBM 3624 offset: digit by digit, the PIN minus the natural PIN (the
validation data encrypted under the PVK and decimalised), modulo 10.

Request:  BK · key type (3 H: 001 = ZPK under LMK 06-07, 002 = TPK under
          LMK 14-15; the unit's TPK code, 70D, in PCI HSM mode; FFF with a key
          block under a key-block LMK)
          · TPK or ZPK (16 H, or U/X + 32 H, or T/Y + 48 H)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · PIN block (16 H) · PIN block format code (2 N) · check length
          (2 N, 04-12) · account number (12 N) · decimalisation table (16 N,
          or 16 H when the unit keeps encrypted tables) · PIN validation data
          (12 A: hex and one N) · [%nn LMK identifier]
Response: BL 00 · offset (12 H: as many digits as the PIN, left-justified,
          padded with F); 02 in place of 00 when the PVK is double or triple
          length (a warning: TDES is used in place of DES, the offset follows)

Under a key-block LMK the TPK or ZPK and the PVK are S + key blocks and the
key type is FFF, as a 10K client sends it (ut-codec-payshield test.js,
generateOffsetIbm: `BKFFF` + a P0 block + a V1 block).

There is no maximum PIN length field (unlike DA/EA). A key type other than
the ZPK's or TPK's is 04 (invalid key type code: hsmd's choice). A PIN
shorter than the check length (the minimum PIN length) is 24 (hsmd's choice;
the 81 "PIN length mismatch" a codec lists is taken to belong to the 10K
excluded PIN table, which hsmd does not support: a `*` block is 15).

Errors: 02 double or triple length PVK (warning, offset present) · 04 key
type · 10 TPK/ZPK parity · 11 PVK parity · 13 LMK identifier · 15 malformed
field · 20 PIN block invalid · 23 PIN block format · 24 PIN length · 25
decimalisation table · 29 key not a PIN key / PVK.

Sources: Shulyaka/iso8583tools `parser/formats/fields_thales.frm` (BK
layout); softwaregroup-bg/ut-codec-payshield `messages.json` and
`test/config/test.js` (generateOffsetIbm: layout, error codes,
`BL02757798FFFFFF`); payShield host command reference, "Generate an IBM PIN
Offset" (02 warning, table check 25); vectors in tests/test_cmd_bk.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, PinHandle, Reply, answering, pins

COMMAND = "BK"
VERSION = "1.1.0"
BLOCK_KEY_TYPE = "FFF"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type = fields.text(3, what="key type").upper()
    pin_key_field = fields.key(what="TPK or ZPK")
    pvk_field = fields.key(what="PVK")
    block = fields.hex(16, what="PIN block")
    pin_format = pins.read_format(fields)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, account)
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key = load_pin_key(hsm, key_type, pin_key_field, lmk_id)
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    pin = hsm.pin_from_block(pin_key, block, pin_format, account)
    check_pin_length(hsm, pin, check_length)
    return offset_reply(hsm, pvk, hsm.pin_ibm_offset(pvk, pin, table, validation_data, lmk_id))


def load_pin_key(hsm: Hsm, key_type: str, field: str, lmk_id: int | None) -> KeyHandle:
    """The TPK or ZPK a key type field names (001 ZPK, 002 TPK, FFF a key block; 04 otherwise): BK, FW, CU, DU."""
    zpk, tpk = hsm.key_type_code("ZPK"), hsm.key_type_code("TPK")
    if key_type == zpk:
        pin_key_type = zpk
    elif key_type in ("002", tpk):
        pin_key_type = tpk
    elif key_type == BLOCK_KEY_TYPE and field.startswith("S"):
        pin_key_type = BLOCK_KEY_TYPE  # a key block: its header says it is a PIN key (the host checks)
    else:
        raise HsmError("04", f"key type {key_type!r}: 001 (ZPK), 002 (TPK) or FFF with a key block")
    return hsm.key_from_lmk(pin_key_type, field, lmk_id)


def check_pin_length(hsm: Hsm, pin: PinHandle, check_length: int) -> None:
    if hsm.pin_length(pin) < check_length:
        raise HsmError("24", f"PIN shorter than the check length {check_length}")


def offset_reply(hsm: Hsm, pvk: KeyHandle, offset: str) -> bytes | Reply:
    """The 12 H offset field; after 02 in place of 00 for a double or triple-length PVK (the TDES warning)."""
    field = pins.offset_field(offset)
    return field if hsm.key_describe(pvk).length == 8 else Reply("02", field)
