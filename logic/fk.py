"""FK — Translate a ZEK or ZAK from ZMK to LMK.

A ZEK or ZAK received from another node under the ZMK shared with it is
re-encrypted under the LMK for local storage: a ZEK under LMK pair 30-31
(key type 00A), a ZAK under 26-27 (008), as FI generates them. After the flag
everything is FA's: the fields, the schemes, the check value, the parity
advice and the error codes (logic/fa.py).

Request:  FK · flag (1 N: 0 ZEK, 1 ZAK)
          · ZMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · ZEK or ZAK under the ZMK (16 H, or a scheme letter + 32/48 H)
          · [Atalla variant (1-2 N; only 0 is supported)]
          · [; key scheme ZMK (1 A, ignored) · key scheme LMK (1 A) · key check value type (1 N)]
          · [%nn LMK identifier]
Response: FL 00 · the key under the LMK · key check value (16 H; 6 H with check value type 1)

Errors: 15 a flag other than 0 or 1; then as FA: 01 key parity (advice,
fields present) · 10 ZMK parity · 13 LMK identifier · 15 malformed field ·
26 key scheme · 27 scheme and key length differ.

Sources: payShield host command list ("Translate a ZEK/ZAK from ZMK to LMK
Encryption", FK/FL); ThalesSim `TranslateZEKorZAKFromZMKToLMK_FK` and its two
host-command test vectors (a ZEK and a ZAK under a single-length ZMK, in
tests/test_cmd_fk.py), and its test that FK gives back what FI generated.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply

from logic.fa import translate
from logic.fi import read_flag

COMMAND = "FK"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type, name = read_flag(fields)
    return translate(fields, hsm, key_type, name)
