"""NG — Decrypt an encrypted PIN.

A PIN under LMK pair 02-03 is returned in the clear. Clear PINs cross the
wire only in the authorised state.

Request:  NG · account number (12 N) · PIN under LMK pair 02-03 (5-13 N)
          · [%nn LMK identifier]
Response: NH 00 · clear PIN (left-justified, padded with F to the encrypted PIN
          length) · reference number (12 N)

The reference number: the manual says it is "derived by encrypting the account
number under LMK pair 18-19", for solicitation (PE/PG) processing; the
derivation is not public and the SDK offers no host function encrypting data
under that pair, so hsmd answers twelve zeros (`000000000000`) to keep the
response layout. ThalesSim omits the field altogether.

Errors: 13 LMK identifier · 14 the PIN under the LMK fails its check · 15
malformed field (account not 12 digits, PIN not 5-13 digits) · 17 not authorised
(clear PINs disabled: the default).

Sources: payShield host command reference, "Decrypt an Encrypted PIN" (layout:
account number before the PIN; reference number; errors 13, 14, 15, 17);
ThalesSim `DecryptEncryptedPIN_NG` (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn) and ThalesCore.Tests/HostCommandTests.vb
(vector in tests/test_cmd_ng.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm
from hsmd_sdk.pins import read_account, read_lmk_pin

COMMAND = "NG"
VERSION = "1.0.0"

REFERENCE_NUMBER = b"000000000000"  # derivation not public: see the module docstring


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    account = read_account(fields)
    encrypted = read_lmk_pin(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    pin = hsm.pin_from_lmk(encrypted, account, lmk_id)
    clear = hsm.pin_reveal(pin)
    return clear.ljust(len(encrypted), "F").encode("ascii") + REFERENCE_NUMBER
