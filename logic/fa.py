"""FA — Translate a ZPK from ZMK to LMK.

A ZPK received from another node under the ZMK shared with it is re-encrypted
under LMK pair 06-07 for local storage.

Request:  FA · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · ZPK under the ZMK (16 H, or a scheme letter + 32/48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A, ignored) · key scheme LMK (1 A) · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FB 00 · ZPK under LMK 06-07 · key check value (16 H; 6 H with check value type 1)

Without the `;` block the ZPK keeps its length with the default scheme for it
(Z, U or T) and the check value has 16 hex digits. A ZPK whose parity is not
odd is still translated, parity-adjusted, and answered with 01 (advice).

Errors: 01 ZPK parity (advice, fields present) · 10 ZMK parity · 13 LMK
identifier · 15 malformed field · 26 key scheme · 27 scheme and key length differ.

Sources: payShield host command reference, "Translate a ZPK from ZMK to LMK"
(field layout); ThalesSim `TranslateZPKFromZMKToLMK_FA` (optional block,
16 H default check value); vectors in tests/test_cmd_fa.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.keys import DEFAULT_SCHEME, check_value

COMMAND = "FA"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return translate(Fields(request), hsm, "001", "ZPK")


def translate(fields: Fields, hsm: Hsm, key_type: str, what: str) -> bytes | Reply:
    """From the ZMK to the end: the key of `key_type` under the ZMK, now under the LMK, and its
    check value (FA's rules; FK's after its flag)."""
    zmk_field = fields.key(what="ZMK")
    zpk_field = fields.key(what=what)
    fields.atalla_variant()
    lmk_scheme, kcv_type = None, 0
    if fields.optional(b";"):
        fields.key_scheme(allowed="0ZUTXY", what="key scheme ZMK")
        lmk_scheme = fields.key_scheme(what="key scheme LMK")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    zpk = hsm.key_from_kek(zmk, key_type, zpk_field)
    info = hsm.key_describe(zpk)
    scheme = lmk_scheme or DEFAULT_SCHEME[info.length]
    answer = hsm.key_to_lmk(zpk, scheme, lmk_id).encode("ascii") + check_value(hsm.key_check_value(zpk), kcv_type)
    return answer if info.odd_parity else Reply("01", answer)
