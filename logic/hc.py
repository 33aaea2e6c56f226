"""HC — Generate a TMK, TPK or PVK.

A new random key of type 002 is returned encrypted under the current TMK,
TPK or PVK (for the terminal) and under LMK pair 14-15 (for the host).

Request:  HC · current TMK, TPK or PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · [; key scheme TMK (1 A: Z, U, T, X, Y) · key scheme LMK (1 A: Z, U, T)
             · key check value type (1 N: 0 or 1)]
          · [%nn LMK identifier]
Response: HD 00 · new key under the current key · new key under LMK 14-15

The key schemes set the new key's length, so both must name the same length
(15 otherwise); U and T under the current key need it to be double or triple
length (26 otherwise). Without the `;` block the new key is single length,
bare 16 H under both. No check value is returned: the manual's response has
none and client codecs read exactly the two keys; the check value type is
still validated, as the manual requires a valid value in every option.

Errors: 10 current key parity · 13 LMK identifier · 15 malformed field or
schemes of different lengths · 26 key scheme.

Sources: payShield host command reference, "Generate a TMK, TPK or PVK"
(field layout, response without check value, error list) and "Key Generate,
Import and Export" (schemes Z/U/T/X/Y under a transport key, Z/U/T under the
LMK; the schemes define the generated length); ut-codec-payshield test data
`generate_tpk_resp` (HD00 + key under TMK + key under LMK, nothing after);
ThalesSim `GenerateTMKTPKPVK_HC` (single-length keys without the block).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply

COMMAND = "HC"
VERSION = "1.0.0"

_LENGTH = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    current_field = fields.key(what="current TMK, TPK or PVK")
    kek_scheme, lmk_scheme = "Z", "Z"
    if fields.optional(b";"):
        kek_scheme = fields.key_scheme(what="key scheme TMK")
        lmk_scheme = fields.key_scheme(allowed="ZUT", what="key scheme LMK")
        fields.kcv_type()
    lmk_id = fields.lmk_id()
    fields.end()
    if _LENGTH[kek_scheme] != _LENGTH[lmk_scheme]:
        raise HsmError("15", f"key schemes {kek_scheme} and {lmk_scheme} name different key lengths")

    current = hsm.key_from_lmk("002", current_field, lmk_id)
    key = hsm.key_generate("002", lmk_scheme)
    return (hsm.key_to_kek(current, key, kek_scheme) + hsm.key_to_lmk(key, lmk_scheme, lmk_id)).encode("ascii")
