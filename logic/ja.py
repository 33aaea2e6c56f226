"""JA — Generate a random PIN.

A random PIN of the requested length, returned encrypted under LMK pair 02-03
for the account number (PIN length + 1 decimal digits; see below).

Request:  JA · account number (12 N) · [PIN length (2 N, 04-12; default 04)]
          · [%nn LMK identifier]
Response: JB 00 · PIN under LMK pair 02-03 (PIN length + 1 N)

The PIN under the LMK: a real unit's algorithm is not public, so hsmd stores a
PIN of n digits as n + 1 digits with its own format-preserving encryption,
bound to the account number (hsmd.host.pins); with the simulator setting it is
ThalesSim's "0" + PIN. No excluded-PIN table is consulted (none is loaded by
this command and the manual's JA page names no error for one).

Errors: 13 LMK identifier · 15 malformed field, or a PIN length outside 04-12
(the manual's "error in input data or invalid PIN length").

Sources: payShield host command reference, "Generate a Random PIN" (layout;
the optional PIN length, 4 digits when absent; errors 15 and 24);
ThalesSim `GenerateRandomPIN_JA` (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn; lengths 04-12); softwaregroup-bg/ut-codec-payshield
test/config/test.js (`...06%01` request framing); tests in tests/test_cmd_ja.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.pins import read_account

COMMAND = "JA"
VERSION = "1.0.0"

DEFAULT_LENGTH = 4


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    account = read_account(fields)
    length = DEFAULT_LENGTH
    if not fields.at_end and fields.peek(1) != b"%":
        length = fields.numeric(2, what="PIN length")
        if not 4 <= length <= 12:
            raise HsmError("15", f"PIN length {length} outside 04-12")
    lmk_id = fields.lmk_id()
    fields.end()

    pin = hsm.pin_generate(length)
    return hsm.pin_to_lmk(pin, account, lmk_id).encode("ascii")
