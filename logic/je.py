"""JE — Translate a PIN from ZPK to LMK encryption.

A PIN block received from another node under a ZPK is decrypted, decoded and
re-encrypted under LMK pair 02-03 for the account number, for storage.

Request:  JE · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PIN block (16 H; 32 H under an AES ZPK) · PIN block format (2 N)
          · account number (12 N; 18 N with format 04, the PAN right-justified
          and padded on the left with F; the PAN, 12-19 N, and ; with
          format 48) · [%nn LMK identifier]
Response: JF 00 · PIN under LMK pair 02-03 (PIN length + 1 N)

Formats: 01 02 03 04 05 47, and 48 (ISO 9564-1 format 4) under AES ZPKs, as
JC (logic/jc.py) describes. Formats 34, 35 (and 41, 42) serve EMV PIN change
and are only available to KU, so they are answered 23. The PIN under the LMK is
bound to the account number's 12 rightmost digits excluding the check digit
(with format 04, those of the 18-digit PAN field; with format 48, those of the
PAN). No public source gives AES or format 48 for JE (AWS's payShield
migration table lists JE as not applicable); hsmd's reading, by analogy with CC.

Errors: 10 ZPK parity · 13 LMK identifier · 15 malformed field · 20 PIN block
does not decode · 23 PIN block format · 24 PIN fewer than 4 or more than 12
digits. (The manual's 12 and 21 concern user storage, which hsmd does not
have; its 22, invalid account number, is 15 here as in every PIN command.)

Sources: payShield host command reference, "Translate a PIN from ZPK to LMK
Encryption" (layout, errors) and "PIN block format 04"; ThalesSim
`TranslatePINFromZPKToLMK_JE` (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn) and ThalesCore.Tests/HostCommandTests.vb
(vectors in tests/test_cmd_je.py).
"""

from __future__ import annotations

from hsmd_sdk import Hsm

from logic.jc import to_lmk

COMMAND = "JE"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    return to_lmk(request, hsm, pin_key="ZPK")
