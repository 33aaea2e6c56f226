"""JG — Translate a PIN from LMK to ZPK encryption.

A PIN stored under LMK pair 02-03 is decrypted and sent on as a PIN block of
the requested format under a ZPK.

Request:  JG · destination ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PIN block format (2 N) · account number (12 N)
          · PIN under LMK pair 02-03 (5-13 N) · [%nn LMK identifier]
Response: JH 00 · PIN block (16 H) under the ZPK

Formats: 01 02 03 05 47. Format 04 is not among the commands the manual's PLUS
page names (JG is not one), and 34, 35 (and 41, 42) serve EMV PIN change, only
available to KU: all are answered 23. Formats 05 and 47 carry random fill.

Errors: 11 ZPK parity · 13 LMK identifier · 14 the PIN under the LMK fails its
check · 15 malformed field · 23 PIN block format · 24 PIN too long for the
format (Docutel, 02, holds 4-6 digits). ThalesSim answers 10 for the ZPK's
parity; the manual says 11, which hsmd follows.

Sources: payShield host command reference, "Translate a PIN from LMK to ZPK
Encryption" (layout: format and account before the PIN; errors 11, 13, 14, 15,
20, 23) and "PIN block format 04"; ThalesSim `TranslatePINFromLMKToZPK_JG`
(nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn) and
ThalesCore.Tests/HostCommandTests.vb (vectors in tests/test_cmd_jg.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, answering
from hsmd_sdk.pins import read_account, read_format, read_lmk_pin

COMMAND = "JG"
VERSION = "1.0.0"

REFUSED = frozenset({"04", "34", "35", "41", "42"})  # PLUS (not a JG format), EMV PIN change (KU only)


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    zpk_field = fields.key(what="ZPK")
    pin_format = read_format(fields)
    account = read_account(fields)
    encrypted = read_lmk_pin(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    with answering("11", instead_of="10"):
        zpk = hsm.key_from_lmk(hsm.key_type_code("ZPK"), zpk_field, lmk_id)
    if pin_format in REFUSED:
        raise HsmError("23", f"PIN block format {pin_format} is not available to JG")
    pin = hsm.pin_from_lmk(encrypted, account, lmk_id)
    return hsm.pin_to_block(zpk, pin, pin_format, account).encode("ascii")
