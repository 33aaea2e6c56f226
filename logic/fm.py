"""FM — Translate a ZEK or ZAK from LMK to ZMK.

A ZEK stored under LMK pair 30-31 (key type 00A) or a ZAK under 26-27 (008)
is encrypted under the ZMK shared with another node, for sending to it: the
reverse of FK.

Request:  FM · flag (1 N: 0 ZEK, 1 ZAK)
          · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · ZEK or ZAK under the LMK (16 H, or U/X + 32 H, or T/Y + 48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A: Z, U, T, X, Y) · reserved (1 A: 0 or a key scheme, ignored)
             · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FN 00 · the key under the ZMK · key check value (16 H; 6 H with check value type 1)

After the flag the fields, the checks and the errors are GC's (gc.export).
Without the `;` block the key goes under the ZMK in the scheme for its
length: Z for a single-length key; for a double- or triple-length one U or T
under a double- or triple-length ZMK, and X or Y (ANSI X9.17, each block
under the ZMK on its own) under a single-length ZMK, which cannot carry a
variant scheme. With the block, the scheme must fit the key's length (27);
U and T need a double- or triple-length ZMK (26).

Errors: 15 a flag other than 0 or 1, or a malformed field · 10 ZMK parity
· 11 key parity · 13 LMK identifier · 26 key scheme · 27 scheme and key
length differ.

Sources: payShield host command list ("Translate a ZEK/ZAK from LMK to ZMK
Encryption", FM/FN); ut-codec-payshield `messages.json` (a client's FM
layout: flag, ZMK, key, Atalla variant, the `;` block of key scheme ZMK,
reserved and check value type, LMK identifier); ThalesSim
`TranslateZEKORZAKFromLMKToZMK_FM` (10/11 parity, 16 H default check value,
and its first version's two vectors under a single-length ZMK, scheme X,
which FK's vectors translate back; its later version answers scheme U under
that single-length ZMK instead, which hsmd refuses as GC and FE do).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

from logic.fi import read_flag
from logic.gc import export

COMMAND = "FM"
VERSION = "1.0.0"

_UNDER_SINGLE_ZMK = {8: "Z", 16: "X", 24: "Y"}  # a single-length ZMK carries longer keys by X9.17
_UNDER_LONGER_ZMK = {8: "Z", 16: "U", 24: "T"}


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    key_type, name = read_flag(fields)
    return export(fields, hsm, key_type, name, default_scheme=scheme_for_length)


def scheme_for_length(key_field: str, zmk_length: int, key_length: int) -> str:
    """FM's default: the scheme for the key's length, X9.17 (X, Y) under a single-length ZMK; a key
    block (under a key-block LMK) stays a key block, as GC keeps it."""
    if key_field[:1] == "S":
        return "S"
    scheme = (_UNDER_SINGLE_ZMK if zmk_length == 8 else _UNDER_LONGER_ZMK).get(key_length)
    if scheme is None:
        raise HsmError("27", f"no key scheme under a ZMK for a key of {key_length} bytes")
    return scheme
