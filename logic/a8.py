"""A8 — Export a Key.

A key stored under the LMK is encrypted under a ZMK for transmission to
another node, in the key scheme the caller names.

Request:  A8 · key type (3 H, e.g. 001 ZPK, 002 TMK/TPK/PVK)
          · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · key under the LMK (16 H, or a scheme letter + 32/48 H, under the pair of its key type)
          · key scheme ZMK (1 A: Z, U, T, X or Y)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [%nn LMK identifier]
Response: A9 00 · key under the ZMK (16 H, or a scheme letter + 32/48 H) · key check value (6 H)

Scheme U or T under the ZMK encrypts half by half (third by third) with the
scheme variant applied to the ZMK, and needs a double- or triple-length ZMK;
X, Y and Z are plain ECB.

Errors: 04 key type · 10 ZMK parity · 11 key parity · 13 LMK identifier
· 15 malformed field · 26 key scheme (or U/T under a single-length ZMK)
· 27 scheme and key length differ · 29 a ZMK may not carry this key type.

Sources: payShield host command reference, "Export a Key" (field layout,
10 ZMK / 11 key parity); ThalesSim `ExportKey_A8` (6 H check value);
vectors in tests/test_cmd_a8.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, answering
from hsmd_sdk.keys import check_value

COMMAND = "A8"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    key_type = fields.text(3, what="key type")
    zmk_field = fields.key(what="ZMK")
    key_field = fields.key(what="key under LMK")
    zmk_scheme = fields.key_scheme(what="key scheme ZMK")
    fields.atalla_variant()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    with answering("11", instead_of="10"):  # parity of the exported key, not of the ZMK
        key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    return hsm.key_to_kek(zmk, key, zmk_scheme).encode("ascii") + check_value(hsm.key_check_value(key), 1)
