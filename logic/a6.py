"""A6 — Import a Key.

A key of any type a ZMK may carry, received from another node under the ZMK
shared with it, is re-encrypted under the LMK pair (and variant) of its key
type for local storage.

Request:  A6 · key type (3 H, e.g. 001 ZPK, 002 TMK/TPK/PVK)
          · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · key under the ZMK (16 H, or a scheme letter + 32/48 H)
          · key scheme LMK (1 A: Z, U, T, X or Y)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [%nn LMK identifier]
Response: A7 00 · key under the LMK (16 H, or a scheme letter + 32/48 H) · key check value (6 H)

A key under the ZMK in scheme U or T was encrypted half by half (third by
third) under the ZMK with the scheme variant applied; scheme X, Y and bare
16 H are plain ECB. The imported key need not have odd parity: it is
parity-adjusted, stored, and answered with 01 (advice only) and all fields.
A single-length ZMK may carry a single-length key.

Errors: 01 key parity (advice, fields present) · 04 key type · 10 ZMK parity
· 11 key all zeros · 13 LMK identifier · 15 malformed field · 26 key scheme
· 27 scheme and key length differ · 29 a ZMK may not carry this key type.

Key blocks: with a key-block LMK the key type is FFF (or a key type the
block's usage suits), the ZMK is S + a key block under the LMK, the key under
the ZMK is S + a Thales key block (LMK identifier FF) or R + a TR-31 block, and
the key scheme LMK is S: the answer is S + the block under the LMK, keeping the
header it came with (a TR-31 header must fit the payShield usage table: A6-A8).
The same R block can be imported under a variant ZMK into a variant LMK with a
variant key type and scheme. Errors A1-BE as the host answers them (A4 the
block's authenticator does not verify under the ZMK). Layout from
ut-codec-payshield test/config/test.js (`A6FFF` + ZMK + key + `S%01`, answered
with a block of usage P0 under LMK 01 and check value 4FE9FD).

Sources: payShield host command reference, "Import a Key" (field layout;
01 advice only); ThalesSim `ImportKey_A6` (parsing, 6 H check value);
vectors in tests/test_cmd_a6.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.keys import check_value

COMMAND = "A6"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type = fields.text(3, what="key type")
    zmk_field = fields.key(what="ZMK")
    key_field = fields.key(what="key under ZMK", blocks="SR")
    lmk_scheme = fields.key_scheme(allowed="ZUTXYS", what="key scheme LMK")
    fields.atalla_variant()
    lmk_id = fields.lmk_id()
    fields.end()

    zmk = hsm.key_from_lmk("000", zmk_field, lmk_id)
    key = hsm.key_from_kek(zmk, key_type, key_field)
    answer = hsm.key_to_lmk(key, lmk_scheme, lmk_id).encode("ascii") + check_value(hsm.key_check_value(key), 1)
    return answer if hsm.key_describe(key).odd_parity else Reply("01", answer)
