"""JG — Translate a PIN from LMK to ZPK encryption.

A PIN stored under LMK pair 02-03 is decrypted and sent on as a PIN block of
the requested format under a ZPK.

Request:  JG · destination ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PIN block format (2 N) · account number (12 N; the PAN, 12-19 N,
            and ; with format 48)
          · PIN under LMK pair 02-03 (5-13 N) · [%nn LMK identifier]
Response: JH 00 · PIN block (16 H; 32 H under an AES ZPK) under the ZPK

Formats: 01 02 03 05 47, and 48 (ISO 9564-1 format 4) under AES ZPKs. Format
04 is not among the commands the manual's PLUS page names (JG is not one), and
34, 35 (and 41, 42) serve EMV PIN change, only available to KU: all are
answered 23. Formats 05, 47 and 48 carry random fill. The PIN under the LMK is
bound to the account number (with format 48, the PAN's 12 rightmost digits
excluding the check digit).

Format 48 goes with AES keys as in CA (logic/ca.py): a ZPK in a key block of
algorithm A under a key-block LMK gives format 48 only, and 48 goes with AES
keys only (23). No public source gives AES or format 48 for JG: AWS's
payShield migration table (aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists JG as not applicable
(the service keeps no PIN under an LMK). That JG gives them, the 32 H block
and the PAN-and-delimiter account field are hsmd's reading, by analogy with
CA and CC (see hsmd_sdk.pins).

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
from hsmd_sdk.pins import ISO4, account_for, read_account, read_format, read_lmk_pin

COMMAND = "JG"
VERSION = "1.1.0"

REFUSED = frozenset({"04", "34", "35", "41", "42"})  # PLUS (not a JG format), EMV PIN change (KU only)


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    zpk_field = fields.key(what="ZPK")
    pin_format = read_format(fields)
    # 12 N, or the PAN and ; for format 48 (04 is refused below, after a 12 N field as before).
    account = read_account(fields, pin_format if pin_format == ISO4 else "01")
    encrypted = read_lmk_pin(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    with answering("11", instead_of="10"):
        zpk = hsm.key_from_lmk(hsm.key_type_code("ZPK"), zpk_field, lmk_id)
    if pin_format in REFUSED:
        raise HsmError("23", f"PIN block format {pin_format} is not available to JG")
    pin = hsm.pin_from_lmk(encrypted, account_for("01", account), lmk_id)
    return hsm.pin_to_block(zpk, pin, pin_format, account_for(pin_format, account)).encode("ascii")
