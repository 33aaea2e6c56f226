"""BE — Verify an interchange PIN using the comparison method.

The PIN in a PIN block received from another node under a ZPK is compared
with the PIN the host database holds encrypted under LMK pair 02-03.

Request:  BE · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PIN block (16 H; 32 H under an AES ZPK) · PIN block format (2 N)
          · account number (12 N; 18 characters with format 04; the PAN,
            12-19 N, and ; with format 48)
          · PIN under LMK 02-03 (PIN length + 1 N, 5-13 digits)
          · [%nn LMK identifier]
Response: BF 00 (the PINs agree) or BF 01 (verification failure)

The PIN under the LMK is bound to the account number's 12 rightmost digits
excluding the check digit (with format 04, taken from the 18-character field;
with format 48, from the PAN).

Format 48 (ISO 9564-1 format 4) goes with AES ZPKs, as BC (logic/bc.py)
describes: no public source gives it for BE (AWS's payShield migration
table has no BE row); hsmd's reading, by analogy with CC.

Errors: 01 verification failure · 10 ZPK parity · 13 LMK identifier · 14 PIN
under the LMK not valid · 15 malformed field · 20 PIN block not valid · 23
PIN block format code · 24 PIN of fewer than 4 or more than 12 digits.

Sources: payShield host command reference, "Verify an Interchange PIN Using
the Comparison Method" (field layout, error list) and "PIN block formats"
(BE accepts format 04); nickntg/thalessimulatorlibrary
`ThalesCore.Tests/HostCommandTests.vb` (`TestVerifyInterchangePINUsingComparisonMethod`).
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.bc import compare

COMMAND = "BE"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return compare(request, hsm, pin_key="ZPK")
