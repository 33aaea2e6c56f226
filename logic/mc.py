"""MC — Verify a MAC (ANSI X9.9 / X9.19) under a TAK.

The MAC of the data after the MAC field is computed as MA computes it (zero
IV, zero padding; X9.9 with a single-length TAK, X9.19 with a double-length
one) and its left 4 bytes are compared with the MAC the request gives.

Request:  MC · TAK (16 H, or U/X + 32 H, under LMK 16-17) · MAC (8 H)
          · data (0-n bytes, to the end)
Response: MD 00 (the MAC verifies) or MD 01 (verification failure); no fields.

As for MA, the data runs to the end of the message, so no `%nn` LMK
identifier is taken (a trailing `%nn` is MACed as data: hsmd's reading).

Errors: 01 verification failure · 10 TAK parity · 15 malformed TAK or MAC
field · 27 TAK triple length.

Sources: payShield host command reference, "Verify a MAC" (MC: layout,
error codes); ThalesSim (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn/VerifyMAC_MC.vb, ThalesCore.Tests/HostCommandTests.vb
TestVerifyMAC) vectors in tests/test_cmd_mc.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, Reply

from logic.ma import TAK, x9_mac

COMMAND = "MC"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    tak_field = fields.key(what="TAK")
    mac = fields.hex(8, what="MAC")
    data = fields.rest()

    tak = hsm.key_from_lmk(TAK, tak_field)
    return b"" if hmac.compare_digest(x9_mac(hsm, tak, data)[:8], mac) else Reply("01")
