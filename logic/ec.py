"""EC — Verify an interchange PIN using the Visa PVV method.

A PIN block under a ZPK is decrypted and its Visa PVV, computed under the PVK
pair from the account number and the PVK index, is compared with the PVV the
request gives.

Request:  EC · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PVK pair (32 H: PVK A · PVK B, each single length under LMK 14-15; or U/X + 32 H)
          · PIN block (16 H, under the ZPK) · PIN block format code (2 N)
          · account number (12 N; 18 characters with format 04)
          · PVKI (1 N) · PVV (4 N) · [%nn LMK identifier]
Response: ED 00 (the PVV matches) or ED 01 (verification failure); no fields.

A bare PVK field is 32 H (PVK A · PVK B) when the request has room for it and
the fixed fields after it; otherwise it is read as a single-length 16 H PVK,
which the unit refuses with 27 (a PVK pair must be double length; a
triple-length PVK is refused the same way). The manual says the PVKI "should
be between 0 and 6"; every digit is accepted here (hsmd's choice: the manual
gives no error code for 7-9).

Errors: 01 verification failure · 10 ZPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field · 20 PIN block invalid · 23 PIN block format
code · 24 PIN length outside 4-12 · 27 PVK not double length · 29 key type
(a ZPK that may not carry PINs: not reachable with the unit's key type table).

Sources: payShield host command reference, "Verify an interchange PIN using the
VISA method" (EC: layout, error codes); ThalesSim (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyInterchangePINUsingVISAAlgorithm) vectors
in tests/test_cmd_ec.py.
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.dc import verify

COMMAND = "EC"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="ZPK")
