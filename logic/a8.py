"""A8 — Export a Key.

A key stored under the LMK is encrypted under a ZMK for transmission to
another node, in the key scheme the caller names.

Request:  A8 · key type (3 H, e.g. 001 ZPK, 002 TMK/TPK/PVK)
          · [; · ZMK/TMK flag (1 N: 0 ZMK, 1 TMK)]
          · ZMK or TMK (16 H, or U/X + 32 H, or T/Y + 48 H; a ZMK under LMK 04-05, a TMK under 14-15)
          · key under the LMK (16 H, or a scheme letter + 32/48 H, under the pair of its key type)
          · key scheme ZMK (1 A: Z, U, T, X or Y)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [%nn LMK identifier]
Response: A9 00 · key under the ZMK (16 H, or a scheme letter + 32/48 H) · key check value (6 H)

The `;` and flag export under a TMK (a TPK or TAK to a terminal): the TMK is
whatever key type the unit's table gives a TMK (002, or 80D in PCI HSM
compliance mode), as A0's flag. Without them the key-encryption key is a ZMK.

Scheme U or T under the ZMK encrypts half by half (third by third) with the
scheme variant applied to the ZMK, and needs a double- or triple-length ZMK;
X, Y and Z are plain ECB.

Errors: 04 key type · 10 ZMK parity · 11 key parity · 13 LMK identifier
· 15 malformed field · 26 key scheme (or U/T under a single-length ZMK)
· 27 scheme and key length differ · 29 a ZMK may not carry this key type.

Key blocks: the key scheme ZMK S exports a Thales key block under the ZMK
(LMK identifier FF), R a TR-31 block; either may be followed, after the LMK
identifier, by `&` and a modified exportability (the same or stricter: AA
otherwise), and R by `!` and the TR-31 version ID (A, B, C or D; B under a TDES
ZMK, D under an AES one when absent). With a key-block LMK the key type is FFF
(or one the block's usage suits), the ZMK and the key are S + key blocks, and
the key's exportability is enforced: N never leaves, E only in a key block
(AA). With a variant LMK, a key exported as TR-31 (R) takes its header from
`&` + key usage (2 A) · mode of use (1 A) · key version number (2 A) ·
exportability (1 A) · number of optional blocks (2 N) · optional blocks. The
answer is S or R + the block, then the check value. Layouts from real-unit
traces: ut-codec-payshield test/config/test.js (`A8FFF` + ZMK + key + `S%01&N`,
answered `S00072P0TB00N00FF…` with check value 4FE9FD) and aws-samples
payshield/commands.py (`A8FFF` + KEK + key + `R%00!B`; variant LMK `A8009` +
KEK + key + `R%00&B0X00S00!B`).

Sources: payShield host command reference, "Export a Key" (field layout,
10 ZMK / 11 key parity; the `;` ZMK/TMK flag: ut-codec-payshield
docs/A8_exportKey.png); ThalesSim `ExportKey_A8` (6 H check value);
vectors in tests/test_cmd_a8.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, answering
from hsmd_sdk.keys import check_value

from logic.a0 import KEK_ROLES, block_scheme, read_kek_flag

COMMAND = "A8"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    key_type = fields.text(3, what="key type")
    flag = read_kek_flag(fields)
    zmk_field = fields.key(what="ZMK/TMK")
    key_field = fields.key(what="key under LMK")
    zmk_scheme = fields.key_scheme(allowed="ZUTXYSR", what="key scheme ZMK")
    fields.atalla_variant()
    lmk_id = fields.lmk_id()
    scheme = block_scheme(fields, zmk_scheme)
    fields.end()

    zmk = hsm.key_from_lmk(hsm.key_type_code(KEK_ROLES[flag]), zmk_field, lmk_id)
    with answering("11", instead_of="10"):  # parity of the exported key, not of the ZMK
        key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    return hsm.key_to_kek(zmk, key, scheme).encode("ascii") + check_value(hsm.key_check_value(key), 1)
