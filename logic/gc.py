"""GC — Translate a ZPK from LMK to ZMK.

A ZPK stored under LMK pair 06-07 is re-encrypted under the ZMK shared with
another node, for sending to it.

Request:  GC · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · ZPK under LMK 06-07 (16 H, or U/X + 32 H, or T/Y + 48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A: Z, U, T, X, Y) · reserved (1 A: 0 or a key scheme, ignored)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: GD 00 · ZPK under the ZMK · key check value (16 H; 6 H with check value type 1)

Without the `;` block the ZPK goes under the ZMK in the scheme it had under
the LMK (bare 16 H stays bare) and the check value has 16 hex digits. With
it, the key scheme ZMK must fit the ZPK's length (27 otherwise); U and T
need a double- or triple-length ZMK (26 otherwise).

Errors: 10 ZMK parity · 11 ZPK parity · 13 LMK identifier · 15 malformed
field · 26 key scheme · 27 scheme and key length differ.

Sources: ThalesSim `TranslateZPKFromLMKToZMK_GC` (field layout, the middle
option of the block named reserved, 16 H default check value, 10/11 parity
errors; its test vector, re-derived with psec in tests/test_cmd_gc.py);
payShield host command reference, "Key Generate, Import and Export" (the
`;` block: key schemes under a ZMK Z/U/T/X/Y, check value type 0/1). The
Atalla variant is accepted by analogy with FA/FE, whose manual pages list it.
"""

from __future__ import annotations

from collections.abc import Callable

from hsmd_sdk import Fields, Hsm, Reply, answering
from hsmd_sdk.keys import check_value

COMMAND = "GC"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return export(Fields(request), hsm, "001", "ZPK", default_scheme=kept_scheme)


def kept_scheme(key_field: str, zmk_length: int, key_length: int) -> str:
    """GC's default: the scheme the key has under the LMK (bare 16 H stays bare)."""
    return key_field[0] if len(key_field) > 16 else "Z"


def export(fields: Fields, hsm: Hsm, key_type: str, what: str, *, default_scheme: Callable[[str, int, int], str]) -> bytes:
    """The key of `key_type` under the LMK, encrypted under the ZMK, and its check value (GC, FM).

    Without the `;` block its scheme is `default_scheme(key field, ZMK length, key length)`."""
    zmk_field = fields.key(what="ZMK")
    key_field = fields.key(what=what)
    fields.atalla_variant()
    zmk_scheme, kcv_type = None, 0
    if fields.optional(b";"):
        zmk_scheme = fields.key_scheme(what="key scheme ZMK")
        fields.key_scheme(allowed="0ZUTXY", error="15", what="reserved")
        kcv_type = fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    with answering("11", instead_of="10"):  # parity of the exported key, not of the ZMK
        key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    scheme = zmk_scheme or default_scheme(key_field, hsm.key_describe(zmk).length, hsm.key_describe(key).length)
    return hsm.key_to_kek(zmk, key, scheme).encode("ascii") + check_value(hsm.key_check_value(key), kcv_type)
