"""CU — Verify a PIN by its Visa PVV and generate the PVV of a new PIN (a PIN change).

The customer's current PIN (a PIN block under a TPK or ZPK) is verified
against its PVV; if it matches, the PVV of the new PIN, which arrives in a
second PIN block under the same key and in the same format, is returned.

Request:  CU · key type (3 H: 001 = ZPK under LMK 06-07, 002 = TPK under
          LMK 14-15; the unit's TPK code, 70D, in PCI HSM mode; FFF with a key
          block under a key-block LMK)
          · TPK or ZPK (16 H, or U/X + 32 H, or T/Y + 48 H; or S + key block)
          · PVK pair (32 H, or U/X + 32 H, under LMK 14-15; or S + key block)
          · current PIN block (16 H) · PIN block format code (2 N) · account
          number (12 N; 18 characters for format 04) · PVKI (1 N) · current
          PVV (4 N) · new PIN block (16 H) · [%nn LMK identifier]
Response: CV 00 · new PVV (4 N); CV 01 when the current PIN does not verify
          (no PVV)

A 10K answered CV00 6010 under its key-block LMK 01 (ut-codec-payshield
docs/examples.js, verifyPinGeneratePvv: PIN 300672 with PVV 7548, as its DG
and FW gave, changed to 121791); tests/test_cmd_cu.py replays it. The
excluded PIN table a 10K may hold (86) is not supported.

Errors: 01 PIN verification failure · 04 key type · 10 TPK/ZPK parity ·
11 PVK parity · 13 LMK identifier · 15 malformed field · 20 PIN block
invalid · 23 PIN block format · 27 PVK not double length · 29 a key not of its use.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json`
(verifyPinGeneratePvv: layout, CV 00 + PVV 4 N, errors 01 10 11 27 81 86) and
docs/examples.js (the unit's answer); payShield host command reference,
"Verify PIN & Generate a New PVV"; the PVV as DG and DC (logic/dg.py, logic/dc.py).
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.pins import account_for, read_account, read_format

from logic.bk import load_pin_key
from logic.dc import load_pvk_pair

COMMAND = "CU"
VERSION = "1.0.0"

# PIN block 16 · format 2 · account 12 · PVKI 1 · PVV 4 · new PIN block 16: the least that follows the PVK pair.
_TAIL = 51


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type = fields.text(3, what="key type").upper()
    pin_key_field = fields.key(what="TPK or ZPK")
    pvk_field = fields.key_pair(after=_TAIL, what="PVK pair")
    block = fields.hex(16, what="current PIN block")
    pin_format = read_format(fields)
    account = read_account(fields, pin_format)
    pvki = fields.numeric(1, what="PVKI")
    pvv = fields.numeric(4, what="PVV")
    new_block = fields.hex(16, what="new PIN block")
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key = load_pin_key(hsm, key_type, pin_key_field, lmk_id)
    pvk = load_pvk_pair(hsm, pvk_field, lmk_id)
    block_account, pvv_account = account_for(pin_format, account), account_for("01", account)
    current = hsm.pin_from_block(pin_key, block, pin_format, block_account)
    if not hmac.compare_digest(hsm.pin_pvv(pvk, current, pvv_account, pvki), f"{pvv:04d}"):
        return Reply("01")
    new = hsm.pin_from_block(pin_key, new_block, pin_format, block_account)
    return hsm.pin_pvv(pvk, new, pvv_account, pvki).encode("ascii")
