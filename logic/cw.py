"""CW — Generate a Visa CVV (also CVV2, iCVV and Mastercard CVC).

The card verification value of a card's account number, expiry date and
service code under the CVK pair. CVV2 / CVC2 is the same computation with
service code 000, iCVV / Chip CVC with 999: the caller passes them.

Request:  CW · CVK A/B (32 H: CVK A · CVK B, each single length under LMK 14-15 variant 4; or U/X + 32 H)
          · PAN (1-19 N) · ; · expiry date (4 N) · service code (3 N) · [%nn LMK identifier]
Response: CX 00 · CVV (3 N)

A bare CVK field is 32 H. When fewer than 33 characters come before the `;`
there is no room for 32 H and a PAN, and the field is read as a single-length
16 H CVK, which the unit refuses with 27 (as it does a triple-length one). A
16 H CVK followed by a PAN of 17-19 digits cannot be told from 32 H and is read
as 32 H (the manual's layout).

Errors: 10 CVK parity · 13 LMK identifier · 15 malformed field · 27 CVK not
double length · 29 key type (not reachable: the CVK is always read as type 402).

Sources: payShield host command reference, "Generate a VISA CVV" (layout,
error codes); ThalesSim (nickntg/thalessimulatorlibrary,
HostCommands/GenerateVISACVV_CW.xml; ThalesCore.Tests/HostCommandTests.vb,
TestGenerateCVV) and jPOS (jpos/jPOS, jpos/src/test/java/org/jpos/security/jceadapter/JCESecurityModuleTest.java)
vectors in tests/test_cmd_cw.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.pins import read_pan

COMMAND = "CW"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    cvk_field = fields.key_pair(after=1, until=b";", what="CVK A/B")
    pan = read_pan(fields)
    expiry = f"{fields.numeric(4, what='expiry date'):04d}"
    service_code = f"{fields.numeric(3, what='service code'):03d}"
    lmk_id = fields.lmk_id()
    fields.end()

    cvk = hsm.key_from_lmk(hsm.key_type_code("CVK"), cvk_field, lmk_id)
    return hsm.card_cvv(cvk, pan, expiry, service_code).encode("ascii")
