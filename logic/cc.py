"""CC — Translate a PIN from one ZPK to another.

A PIN block received from one node under the ZPK shared with it is decrypted,
decoded in its format and re-encoded in the destination format under the ZPK
shared with the next node. The two ZPKs may be the same (only the format
changes) and so may the formats (only the key changes).

Request:  CC · source ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · destination ZPK (the same forms, under LMK 06-07)
          · maximum PIN length (2 N: 12) · source PIN block (16 H; 32 H under an AES ZPK)
          · source PIN block format (2 N) · destination PIN block format (2 N)
          · account number (12 N; 18 characters when either format is 04; the
            PAN, 12-19 N, and ; when either is 48) · [%nn LMK identifier]
Response: CD 00 · PIN length (2 N) · destination PIN block (16 H; 32 H under an AES ZPK)
          · destination PIN block format (2 N, as received)

Formats 01 02 03 04 05 34 35 47 (the host's table), and 48 under AES ZPKs
as CA (logic/ca.py) describes. In PCI HSM compliance mode a PIN received in
format 01, 47 or 48 may leave only in one of them (23).

Errors: 10 source ZPK parity · 11 destination ZPK parity · 13 LMK identifier
· 15 malformed field or maximum PIN length not 12 · 20 PIN block not valid
· 23 PIN block format code (or disallowed in PCI mode) · 24 PIN of fewer
than 4 or more than 12 digits. The 20/24 split for formats other than 05
follows the manual's format-05 rule (the manual states it for 05 only).

Sources: payShield host command reference, "Translate a PIN from ZPK to ZPK"
(field layout, response, error list, same-key/same-format note) and "PIN
block formats" (format 04's 18-character account field);
nickntg/thalessimulatorlibrary `ThalesCore.Tests/HostCommandTests.vb`
(vectors in tests/test_cmd_cc.py); softwaregroup-bg/ut-codec-payshield
`messages.json` (response framing); krestfield/docs
`ezsign/payshield_error_codes.md` (23 for a PCI HSM disallowed format).
"""

from __future__ import annotations

from hsmd_sdk import Hsm, Reply

from logic.ca import translate

COMMAND = "CC"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return translate(request, hsm, source="ZPK")
