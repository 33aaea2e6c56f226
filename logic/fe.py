"""FE — Translate a TMK, TPK or PVK from LMK to ZMK.

A terminal master key, terminal PIN key or PIN verification key stored under
LMK pair 14-15 (key type 002) is encrypted under a ZMK for transmission.

Request:  FE · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · TMK/TPK/PVK under LMK 14-15 (16 H, or a scheme letter + 32/48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A) · key scheme LMK (1 A, 0 or a scheme letter, ignored)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FF 00 · TMK/TPK/PVK under the ZMK · key check value (16 H; 6 H with check value type 1)

Without the `;` block the key goes under the ZMK with the default scheme for
its length (Z, U or T) and the check value has 16 hex digits. Scheme U or T
under the ZMK needs a double- or triple-length ZMK.

Errors: 10 ZMK parity · 11 key parity · 13 LMK identifier · 15 malformed
field · 26 key scheme (or U/T under a single-length ZMK) · 27 scheme and key
length differ.

Sources: payShield host command reference, "Translate a TMK, TPK or PVK from
LMK to ZMK" (field layout, 10 ZMK / 11 key parity); ThalesSim
`TranslateTMKTPKPVKFromLMKToZMK_FE` (16 H default check value); vectors in
tests/test_cmd_fe.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, answering
from hsmd_sdk.keys import DEFAULT_SCHEME, check_value

COMMAND = "FE"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    zmk_field = fields.key(what="ZMK")
    key_field = fields.key(what="TMK/TPK/PVK")
    fields.atalla_variant()
    zmk_scheme, kcv_type = None, 0
    if fields.optional(b";"):
        zmk_scheme = fields.key_scheme(what="key scheme ZMK")
        fields.key_scheme(allowed="0ZUTXY", what="key scheme LMK")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    with answering("11", instead_of="10"):  # parity of the translated key, not of the ZMK
        key = hsm.key_from_lmk("002", key_field, lmk_id)
    scheme = zmk_scheme or DEFAULT_SCHEME[hsm.key_describe(key).length]
    return hsm.key_to_kek(zmk, key, scheme).encode("ascii") + check_value(hsm.key_check_value(key), kcv_type)
