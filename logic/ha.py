"""HA — Generate a TAK.

A new random terminal authentication key (type 003) is returned encrypted
under a TMK (for the terminal) and under LMK pair 16-17 (for the host).

Request:  HA · TMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15;
          under 36-37 as key type 80D in PCI HSM compliance mode)
          · [; key scheme TMK (1 A: Z, U, T, X, Y) · key scheme LMK (1 A: Z, U, T)
             · reserved (1 A: 0)]
          · [%nn LMK identifier]
Response: HB 00 · TAK under the TMK · TAK under LMK 16-17

The key schemes set the TAK's length, so both must name the same length
(15 otherwise); U and T under the TMK need it to be double or triple length
(26 otherwise). Without the `;` block the TAK is single length, bare 16 H
under both. No check value is returned.

Errors: 10 TMK parity · 13 LMK identifier · 15 malformed field, reserved
not 0, or schemes of different lengths · 26 key scheme.

Sources: payShield host command reference, "Generate a TAK" (field layout,
reserved "must be 0", response, error list) and "Key Generate, Import and
Export" (schemes Z/U/T/X/Y under a transport key, Z/U/T under the LMK; the
schemes define the generated length); ThalesSim `GenerateTAK_HA`
(single-length TAK without the block).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply

COMMAND = "HA"
VERSION = "1.0.0"

_LENGTH = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    tmk_field = fields.key(what="TMK")
    kek_scheme, lmk_scheme = "Z", "Z"
    if fields.optional(b";"):
        kek_scheme = fields.key_scheme(what="key scheme TMK")
        lmk_scheme = fields.key_scheme(allowed="ZUT", what="key scheme LMK")
        if fields.text(1, what="reserved") != "0":
            raise HsmError("15", "reserved option must be 0")
    lmk_id = fields.lmk_id()
    fields.end()
    if _LENGTH[kek_scheme] != _LENGTH[lmk_scheme]:
        raise HsmError("15", f"key schemes {kek_scheme} and {lmk_scheme} name different key lengths")

    tmk = hsm.key_from_lmk(hsm.key_type_code("TMK"), tmk_field, lmk_id)
    tak = hsm.key_generate("003", lmk_scheme)
    return (hsm.key_to_kek(tmk, tak, kek_scheme) + hsm.key_to_lmk(tak, lmk_scheme, lmk_id)).encode("ascii")
