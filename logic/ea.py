"""EA — Verify an interchange PIN using the IBM method.

A PIN block under a ZPK is checked against the IBM 3624 offset on file: the
offset of the PIN it holds (from the natural PIN, i.e. the validation data
encrypted under the PVK and decimalised) must equal the offset given.

Request:  EA · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07; or S + key block)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · maximum PIN length (2 N, 12) · PIN block under the ZPK (16 H; 32 H
          under an AES ZPK) · PIN block format code (2 N) · check length (2 N,
          04-12) · account number (12 N; 18 characters, the PAN padded on the left
          with F, when the format is 04; the PAN, 12-19 N, and ; when the
          format is 48) · decimalisation table (16 N, or 16 H when
          the unit keeps encrypted tables) · PIN validation data (12 A: hex
          and one N) · offset (12 H, left-justified, padded with F)
          · [%nn LMK identifier]
Response: EB 00 (verified; 02 when the PVK is double or triple length, as a
          warning: TDES is used in place of DES) · EB 01 (verification failure)

The PIN has as many digits as the offset field has before its F padding; a
PIN of another length fails verification (01). An offset with fewer digits
than the check length (the minimum PIN length) is malformed input (15: hsmd's
choice, no source states it). No excluded-PIN table, no user-storage (`K`)
decimalisation tables.

Formats: the host's table, and 48 (ISO 9564-1 format 4) under AES keys: a
ZPK in a key block of algorithm A under a key-block LMK takes format 48
only, and 48 goes with AES keys only (23). A format 48 block binds the whole
PAN, which the account field then carries; the validation data's N takes the
last five of the 12 account digits derived from it (its 12 rightmost digits
before the check digit), as in GO (logic/go.py). For every other format the
account is 12 N; format 04 (PLUS) takes 18 characters, as DA (logic/da.py). AWS's payShield
migration table (aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists EA as supported
(Verify Pin Data with IBM Offset Option) without naming a key algorithm;
AES ZPKs, format 48, the 32 H block and the PAN-and-delimiter account field
are hsmd's reading, after the table's AES rows for CA and CC (see
hsmd_sdk.pins).

Errors: 01 verification failure · 10 ZPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (for 48, a PAN field without its ; or not
12-19 digits) · 20 PIN block invalid · 23 PIN block format (48 under a TDES
key, another format under an AES key) · 24 PIN length · 25 decimalisation
table · 29 key not a ZPK / PVK.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json` (verifyInterPinIbm:
layout, error codes including the 02 warning); Shulyaka/iso8583tools
`parser/formats/fields_thales.frm` (EA layout); nickntg/thalessimulatorlibrary
`HostCommands` XML (maximum PIN length 12) and
`ThalesCore.Tests/HostCommandTests.vb` (the EE → JG → EA chain); payShield
host command reference, "Generate an IBM PIN Offset" (02 for a double or
triple length PVK, the table check 25); AWS's migration table (above: EA
listed); vectors in tests/test_cmd_ea.py.
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.da import verify

COMMAND = "EA"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="ZPK")
