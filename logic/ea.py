"""EA — Verify an interchange PIN using the IBM method.

A PIN block under a ZPK is checked against the IBM 3624 offset on file: the
offset of the PIN it holds (from the natural PIN, i.e. the validation data
encrypted under the PVK and decimalised) must equal the offset given.

Request:  EA · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · maximum PIN length (2 N, 12) · PIN block under the ZPK (16 H)
          · PIN block format code (2 N) · check length (2 N, 04-12)
          · account number (12 N) · decimalisation table (16 N, or 16 H when
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

Errors: 01 verification failure · 10 ZPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field · 20 PIN block invalid · 23 PIN block format
· 24 PIN length · 25 decimalisation table · 29 key not a ZPK / PVK.

Sources: softwaregroup-bg/ut-codec-payshield `messages.json` (verifyInterPinIbm:
layout, error codes including the 02 warning); Shulyaka/iso8583tools
`parser/formats/fields_thales.frm` (EA layout); nickntg/thalessimulatorlibrary
`HostCommands` XML (maximum PIN length 12) and
`ThalesCore.Tests/HostCommandTests.vb` (the EE → JG → EA chain); payShield
host command reference, "Generate an IBM PIN Offset" (02 for a double or
triple length PVK, the table check 25); vectors in tests/test_cmd_ea.py.
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.da import verify

COMMAND = "EA"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="ZPK")
