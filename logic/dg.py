"""DG — Generate a Visa PIN verification value (PVV) of a PIN under the LMK.

The PIN, encrypted under LMK pair 02-03, gets its Visa PVV under the PVK pair:
TDES of 11 account digits · PVKI · the PIN's first 4 digits, decimalised.

Request:  DG · PVK pair (32 H: PVK A · PVK B, each single length under LMK 14-15; or U/X + 32 H)
          · PIN under LMK 02-03 (PIN length + 1 N) · account number (12 N) · PVKI (1 N)
          · [%nn LMK identifier]
Response: DH 00 · PVV (4 N)

A bare PVK field is 32 H when the request has room for it and a PIN after
it; otherwise it is read as a single-length 16 H PVK, which the unit refuses
with 27 (the widths never overlap: a PIN under the LMK has 5-13 digits). A
triple-length PVK is refused with 27 too. The excluded-PIN table some 10K
releases accept after the PVKI is not supported (15).

Errors: 10 PVK parity · 13 LMK identifier · 14 PIN under the LMK invalid ·
15 malformed field · 27 PVK not double length.

Sources: payShield host command reference and softwaregroup-bg/ut-codec-payshield
messages.json (generatePvvLmk: layout, error codes); ThalesSim
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb,
TestGenerateVISAPVV) vectors in tests/test_cmd_dg.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply
from hsmd_sdk.pins import read_account, read_lmk_pin

COMMAND = "DG"
VERSION = "1.0.0"

# The shortest PIN under the LMK (5) · account 12 · PVKI 1: the least that follows the PVK pair.
_TAIL = 18


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    pvk_field = fields.key_pair(after=_TAIL, what="PVK pair")
    encrypted_pin = read_lmk_pin(fields, before=13)
    account = read_account(fields)
    pvki = fields.numeric(1, what="PVKI")
    lmk_id = fields.lmk_id()
    fields.end()

    pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    if hsm.key_describe(pvk).length != 16:
        raise HsmError("27", "the PVK pair must be double length")
    pin = hsm.pin_from_lmk(encrypted_pin, account, lmk_id)
    return hsm.pin_pvv(pvk, pin, account, pvki).encode("ascii")
