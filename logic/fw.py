"""FW — Generate a Visa PVV for a customer-selected PIN.

The customer's PIN arrives in a PIN block under a TPK or ZPK; the answer is
its Visa PIN Verification Value under a PVK pair, the value DG computes from
a PIN under the LMK (and DC, EC, CU verify).

Request:  FW · key type (3 H: 001 = ZPK under LMK 06-07, 002 = TPK under
          LMK 14-15; the unit's TPK code, 70D, in PCI HSM mode; FFF with a key
          block under a key-block LMK)
          · TPK or ZPK (16 H, or U/X + 32 H, or T/Y + 48 H; or S + key block)
          · PVK pair (32 H, or U/X + 32 H, under LMK 14-15; or S + key block)
          · PIN block (16 H) · PIN block format code (2 N) · account number
          (12 N; 18 characters for format 04) · PVKI (1 N) · [%nn LMK identifier]
Response: FX 00 · PVV (4 N)

A 10K answered FX00 7548 and FX00 7547 to two of these under its key-block
LMK 01 (ut-codec-payshield docs/examples.js, generatePvv: BK's ZPK and a TPK
block with a V2 PVK block); tests/test_cmd_fw.py replays both. The excluded
PIN table a 10K may hold (86) is not supported.

Errors: 04 key type · 10 TPK/ZPK parity · 11 PVK parity · 13 LMK identifier
· 15 malformed field · 20 PIN block invalid · 23 PIN block format · 27 PVK
not double length · 29 a key not of its use. The codec's error list names 10
"PVK parity error" for FW; hsmd keeps the order of its PIN commands (DC, EC,
CU): the PIN key's parity 10, the PVK's 11.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json` (generatePvv:
layout, FX 00 + PVV 4 N, errors 10 27 81 86) and docs/examples.js (the
unit's answers); payShield host command reference, "Generate a VISA PVV (of
a customer selected PIN)"; the PVV itself as DG (logic/dg.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.pins import account_for, read_account, read_format

from logic.bk import load_pin_key
from logic.dc import load_pvk_pair

COMMAND = "FW"
VERSION = "1.0.0"

# PIN block 16 · format 2 · account 12 · PVKI 1: the least that follows the PVK pair.
_TAIL = 31


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    key_type = fields.text(3, what="key type").upper()
    pin_key_field = fields.key(what="TPK or ZPK")
    pvk_field = fields.key_pair(after=_TAIL, what="PVK pair")
    block = fields.hex(16, what="PIN block")
    pin_format = read_format(fields)
    account = read_account(fields, pin_format)
    pvki = fields.numeric(1, what="PVKI")
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key = load_pin_key(hsm, key_type, pin_key_field, lmk_id)
    pvk = load_pvk_pair(hsm, pvk_field, lmk_id)
    pin = hsm.pin_from_block(pin_key, block, pin_format, account_for(pin_format, account))
    return hsm.pin_pvv(pvk, pin, account_for("01", account), pvki).encode("ascii")
