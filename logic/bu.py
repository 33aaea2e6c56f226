"""BU — Generate a Key Check Value.

The check value of a key stored under the LMK: 3DES-ECB of eight zero bytes
under the clear key.

Request:  BU · key type code (2 A: a legacy LMK pair code, 00 ZMK, 01 ZPK,
            02 TMK/TPK/PVK, 03 TAK, … 0E, read as key type 0xx; FF: the key
            type follows the key)
          · key length flag (1 N: 0 single, 1 double, 2 triple length; F a key block)
          · key under the LMK (16 H, or a scheme letter + 32/48 H)
          · [; key type (3 H)]  (present exactly when the key type code is FF)
          · [; reserved (2 A, not checked) · key check value type (1 N)]
          · [%nn LMK identifier]
Response: BV 00 · key check value (16 H; 6 H with check value type 1)

Errors: 04 key type (after FF) · 05 key length flag not 0-2 or not the key's
length · 10 key parity · 13 LMK identifier · 15 malformed field or key type
code.

Key blocks: key type code FF, key length flag F, the key as S + a key block
under a key-block LMK, and `;FFF` (or a key type the block's usage suits):
ut-codec-payshield test/config/test.js sends `BUFFFS00072K0TB00E0001DB04…;FFF;001`
to a real unit, whose answer for that ZMK is 2356F2. The length flag F goes
with a key block and only with one (05 otherwise). An AES key's check value is
its CMAC check value (X9.24-1), 6 or 16 H.

Sources: ThalesSim `GenerateCheckValue_BU` (field order, FF then `;` key
type, 05 on a length flag that does not match the key, 16 H default);
ut-codec-payshield `generateKeyCheckValueEncode` tests (`;` + 00 reserved +
check value type after the optional `;` key type); vectors in
tests/test_cmd_bu.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.keys import check_value

COMMAND = "BU"
VERSION = "1.1.0"

LEGACY_CODES = frozenset(f"0{c}" for c in "0123456789ABCDE")  # LMK pair codes 00 (04-05) … 0E (38-39)
LENGTH_FLAGS = {"0": 8, "1": 16, "2": 24, "F": 0}  # F: a key block, whose header says its length
KEY_BLOCK = "S"


def _length(key_field: str) -> int:
    """Bytes of key a key field holds: bare 16 H is single length, a key block 0 (flag F), else a scheme letter + 32/48 H."""
    if key_field.startswith(KEY_BLOCK):
        return 0
    return 8 if len(key_field) == 16 else (len(key_field) - 1) // 2


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    code = fields.text(2, what="key type code").upper()
    flag = fields.text(1, what="key length flag").upper()
    key_field = fields.key()
    if code == "FF":
        if not fields.optional(b";"):
            raise HsmError("15", "key type code FF needs '; key type'")
        key_type = fields.text(3, what="key type")
    elif code in LEGACY_CODES:
        key_type = "0" + code
    else:
        raise HsmError("15", f"key type code {code!r} unknown")
    kcv_type = 0
    if fields.optional(b";"):
        fields.text(2, what="reserved")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()

    if LENGTH_FLAGS.get(flag) != _length(key_field):
        raise HsmError("05", f"key length flag {flag!r} does not match the key field")
    key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    return check_value(hsm.key_check_value(key), kcv_type)
