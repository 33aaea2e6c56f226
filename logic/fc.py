"""FC — Translate a TMK, TPK or PVK from ZMK to LMK.

A terminal master key, terminal PIN key or PIN verification key received
under a ZMK is re-encrypted under LMK pair 14-15 (key type 002) for local
storage.

Request:  FC · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · TMK/TPK/PVK under the ZMK (16 H, or a scheme letter + 32/48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; reserved (1 A, 0 or a key scheme letter, ignored) · key scheme LMK (1 A)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FD 00 · TMK/TPK/PVK under LMK 14-15 · key check value (16 H; 6 H with check value type 1)

Without the `;` block the key keeps its length with the default scheme for it
(Z, U or T) and the check value has 16 hex digits. Unlike A6 and FA, a
received key without odd parity is refused (11), not imported with advice.

Errors: 10 ZMK parity · 11 key parity or all zeros · 13 LMK identifier
· 15 malformed field · 26 key scheme · 27 scheme and key length differ.

Sources: payShield host command reference, "Translate a TMK, TPK or PVK from
ZMK to LMK" (field layout, 10/11 parity errors); ThalesSim
`TranslateTMPTPKPVKFromZMKToLMK_FC` (16 H default check value, parity of the
received key refused with 11); vectors in tests/test_cmd_fc.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.keys import DEFAULT_SCHEME, check_value

COMMAND = "FC"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    zmk_field = fields.key(what="ZMK")
    key_field = fields.key(what="TMK/TPK/PVK")
    fields.atalla_variant()
    lmk_scheme, kcv_type = None, 0
    if fields.optional(b";"):
        fields.key_scheme(allowed="0ZUTXY", what="reserved")
        lmk_scheme = fields.key_scheme(what="key scheme LMK")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    key = hsm.key_from_kek(zmk, "002", key_field)
    info = hsm.key_describe(key)
    if not info.odd_parity:
        raise HsmError("11", "TMK/TPK/PVK under the ZMK fails the parity check")
    scheme = lmk_scheme or DEFAULT_SCHEME[info.length]
    return hsm.key_to_lmk(key, scheme, lmk_id).encode("ascii") + check_value(hsm.key_check_value(key), kcv_type)
