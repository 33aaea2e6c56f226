"""BA — Encrypt a clear PIN.

A clear PIN from the host is encrypted under LMK pair 02-03 for the account
number. Clear PINs cross the wire only in the authorised state.

Request:  BA · clear PIN (L H: the PIN left-justified, padded with F to the
          encrypted PIN length) · account number (12 N) · [%nn LMK identifier]
Response: BB 00 · PIN under LMK pair 02-03 (PIN length + 1 N)

hsmd's encrypted PIN is PIN length + 1 digits, so the usual clear field is the
PIN and one F (`1234F`); a longer padding (a legacy unit configured for a longer
encrypted length, up to 13) is accepted too. The field's width is what the
request leaves before the 12-digit account number. A field with no F is refused
with 15: the PIN would fill the encrypted length, which the manual forbids
(ThalesSim's C# port instead reads `01234` as a zero-padded `1234`; hsmd does not).

Errors: 13 LMK identifier · 15 malformed field (PIN not digits followed by at
least one F, field longer than 13, account not 12 digits) · 17 not authorised
(clear PINs disabled: the default) · 24 PIN fewer than 4 or more than 12 digits
(ThalesSim's code for it; the manual's BA page lists only 13, 15 and 17).

Sources: payShield host command reference, "Encrypt a Clear PIN" (layout; PIN
"left-justified and padded with X'F to the encrypted PIN length L"; errors 13,
15, 17); ThalesSim `EncryptClearPIN_BA` (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn) and ThalesCore.Tests/HostCommandTests.vb
(vectors in tests/test_cmd_ba.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.pins import read_account

COMMAND = "BA"
VERSION = "1.0.0"

MAX_FIELD = 13  # the longest encrypted PIN length (a 12-digit PIN)


def read_clear_pin(fields: Fields) -> str:
    """The clear PIN field before the 12-digit account number: digits, then at least one F."""
    raw = fields.before(12, what="clear PIN").upper()
    digits = raw.rstrip(b"F")
    if len(raw) > MAX_FIELD or not digits.isdigit() or len(digits) == len(raw):
        raise HsmError("15", "clear PIN must be digits left-justified and padded with F (at most 13 characters)")
    return digits.decode("ascii")


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    clear = read_clear_pin(fields)
    account = read_account(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    pin = hsm.pin_from_clear(clear)
    return hsm.pin_to_lmk(pin, account, lmk_id).encode("ascii")
