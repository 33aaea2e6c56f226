"""FI — Generate a ZEK or ZAK.

A new random zone key, for data encryption (ZEK) or MACs (ZAK), returned
encrypted under a ZMK (for the other node) and under the LMK (for the host
database): a ZEK under LMK pair 30-31 (key type 00A), a ZAK under 26-27 (008).
After the flag everything is IA's: the fields, the key schemes that set the
key's length, the check value and the error codes (logic/ia.py).

Request:  FI · flag (1 N: 0 ZEK, 1 ZAK)
          · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A: Z, U, T, X, Y) · key scheme LMK (1 A: Z, U, T)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FJ 00 · key under the ZMK · key under the LMK
          · key check value (16 H; 6 H with check value type 1)

Errors: 15 a flag other than 0 or 1; then as IA: 10 ZMK parity · 13 LMK
identifier · 15 malformed field or schemes of different lengths · 26 key scheme.

Sources: payShield host command list ("Generate ZEK/ZAK", FI/FJ); ThalesSim
`GenerateZEKorZAK_FI` (flag, ZMK and the `;` block; the ZEK under LMK 30-31
and the ZAK under 26-27; check value 16 H, or 6 H with type 1; its test
generating a ZEK with "0" + ZMK + ";UU1"); a public payShield command
catalogue (flag 0 ZEK / 1 ZAK, the Atalla variant after the ZMK).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply

from logic.ia import generate

COMMAND = "FI"
VERSION = "1.0.0"

KEY_TYPES = {"0": ("00A", "ZEK"), "1": ("008", "ZAK")}  # flag -> key type, name


def read_flag(fields: Fields) -> tuple[str, str]:
    """The ZEK/ZAK flag of FI and FK: the key type and name it selects (15 for another flag)."""
    flag = fields.text(1, what="flag")
    if flag not in KEY_TYPES:
        raise HsmError("15", f"flag {flag!r} not 0 (ZEK) or 1 (ZAK)")
    return KEY_TYPES[flag]


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type, _ = read_flag(fields)
    return generate(fields, hsm, key_type)
