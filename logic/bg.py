"""BG — Translate a PIN and PIN length from old LMK to new LMK.

A PIN stored under LMK pair 02-03 of the old LMK, the one held in key change
storage, is re-encrypted under the LMK that replaced it (LMK migration). The
key change storage is hsmd.toml's `[lmk] key_change`. A PIN under hsmd's LMK
is always PIN length + 1 characters, so the PIN length stays as it was.

Request:  BG · account number (12 N) · PIN under the old LMK (5-13 N)
          · [%nn LMK identifier]
Response: BH 00 · PIN under the new LMK

Errors: 13 LMK identifier · 14 the PIN under the old LMK fails its check ·
15 malformed field (account not 12 digits, PIN not 5-13 digits) · 33 no old
LMK in key change storage.

Sources: payShield host command reference, "Translate a PIN and PIN Length"
(layout: account number before the PIN; errors 13, 14, 15);
ut-codec-payshield `messages.json` and its tests (a client's BG frame with an
LMK identifier, BH 14).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.pins import read_account, read_lmk_pin

COMMAND = "BG"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    account = read_account(fields)
    encrypted = read_lmk_pin(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    pin = hsm.pin_from_old_lmk(encrypted, account, lmk_id)
    return hsm.pin_to_lmk(pin, account, lmk_id).encode("ascii")
