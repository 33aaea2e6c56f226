"""IA — Generate a ZPK.

A new random ZPK is returned encrypted under a ZMK (for the other node) and
under LMK pair 06-07 (for the host database), with its check value.

Request:  IA · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A: Z, U, T, X, Y) · key scheme LMK (1 A: Z, U, T)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: IB 00 · ZPK under the ZMK · ZPK under LMK 06-07
          · key check value (16 H; 6 H with check value type 1)

The key schemes set the ZPK's length, so both must name the same length
(15 otherwise); U and T under the ZMK need it to be double or triple length
(26 otherwise). Triple-length ZPKs (T/Y) are generated: the manual's response
allows 1A+48H for both keys (ThalesSim refuses a triple-length LMK scheme
with 26; not followed). Without the `;` block the ZPK is single length, bare
16 H under both, with a 16 H check value.

Errors: 10 ZMK parity · 13 LMK identifier · 15 malformed field or schemes of
different lengths · 26 key scheme.

Sources: payShield host command reference, "Generate a ZPK" (field layout,
Atalla variant, response, check value 16 H or 6 H, error list) and "Key
Generate, Import and Export" (schemes Z/U/T/X/Y under a ZMK, Z/U/T under the
LMK; the schemes define the generated length); ThalesSim `GenerateZPK_IA`
(single length and 16 H check value without the block, 15 for schemes of
different lengths).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply
from hsmd_sdk.keys import check_value

COMMAND = "IA"
VERSION = "1.0.0"

_LENGTH = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return generate(Fields(request), hsm, "001")


def generate(fields: Fields, hsm: Hsm, key_type: str) -> bytes:
    """From the ZMK to the end: a new key of `key_type` under the ZMK and under the LMK, and its
    check value (IA's rules; FI's after its flag)."""
    zmk_field = fields.key(what="ZMK")
    fields.atalla_variant()
    zmk_scheme, lmk_scheme, kcv_type = "Z", "Z", 0
    if fields.optional(b";"):
        zmk_scheme = fields.key_scheme(what="key scheme ZMK")
        lmk_scheme = fields.key_scheme(allowed="ZUT", what="key scheme LMK")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()
    if _LENGTH[zmk_scheme] != _LENGTH[lmk_scheme]:
        raise HsmError("15", f"key schemes {zmk_scheme} and {lmk_scheme} name different key lengths")

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    key = hsm.key_generate(key_type, lmk_scheme)
    under_zmk = hsm.key_to_kek(zmk, key, zmk_scheme)
    under_lmk = hsm.key_to_lmk(key, lmk_scheme, lmk_id)
    return (under_zmk + under_lmk).encode("ascii") + check_value(hsm.key_check_value(key), kcv_type)
