"""EC — Verify an interchange PIN using the Visa PVV method.

A PIN block under a ZPK is decrypted and its Visa PVV, computed under the PVK
pair from the account number and the PVK index, is compared with the PVV the
request gives.

Request:  EC · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07; or S + key block)
          · PVK pair (32 H: PVK A · PVK B, each single length under LMK 14-15; or U/X + 32 H;
          or S + key block) · PIN block (16 H, under the ZPK; 32 H under an AES ZPK)
          · PIN block format code (2 N) · account number (12 N; 18 characters with
          format 04; the PAN, 12-19 N, and ; with format 48)
          · PVKI (1 N) · PVV (4 N) · [%nn LMK identifier]
Response: ED 00 (the PVV matches) or ED 01 (verification failure); no fields.

A bare PVK field is 32 H (PVK A · PVK B) when the request has room for it and
the fixed fields after it; otherwise it is read as a single-length 16 H PVK,
which the unit refuses with 27 (a PVK pair must be double length; a
triple-length PVK is refused the same way). The manual says the PVKI "should
be between 0 and 6"; every digit is accepted here (hsmd's choice: the manual
gives no error code for 7-9).

Formats: the host's table, and 48 (ISO 9564-1 format 4) under AES keys: a
ZPK in a key block of algorithm A under a key-block LMK takes format 48
only, and 48 goes with AES keys only (23). A format 48 block binds the whole
PAN, which the account field then carries; the PVV takes the 12 account
digits derived from it (its 12 rightmost digits before the check digit), as
in GQ (logic/gq.py). AWS's payShield migration table
(aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists EC as supported
(VerifyPinData) without naming a key algorithm; AES ZPKs, format 48, the
32 H block and the PAN-and-delimiter account field are hsmd's reading, after
the table's AES rows for CA and CC (see hsmd_sdk.pins).

Errors: 01 verification failure · 10 ZPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (for 48, a PAN field without its ; or not
12-19 digits) · 20 PIN block invalid · 23 PIN block format code (48 under a
TDES key, another format under an AES key) · 24 PIN length outside 4-12 ·
27 PVK not double length · 29 key type
(a ZPK that may not carry PINs: not reachable with the unit's key type table).

Sources: payShield host command reference, "Verify an interchange PIN using the
VISA method" (EC: layout, error codes); ThalesSim (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyInterchangePINUsingVISAAlgorithm) vectors
in tests/test_cmd_ec.py; AWS's migration table (above: EC listed).
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.dc import verify

COMMAND = "EC"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="ZPK")
