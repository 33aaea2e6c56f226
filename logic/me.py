"""ME — Verify and translate a MAC (ANSI X9.9 / X9.19) from one TAK to another.

The MAC of the data is verified under the source TAK as MC verifies it and,
if it verifies, computed again under the destination TAK as MA computes it
(zero IV, zero padding; X9.9 with a single-length key, X9.19 with a
double-length one).

Request:  ME · source TAK · destination TAK (each 16 H, or U/X + 32 H, under LMK 16-17)
          · MAC (8 H) · data (0-n bytes, to the end)
Response: MF 00 · MAC under the destination TAK (8 H); MF 01 (the source MAC
          does not verify) carries no MAC.

As for MA, the data runs to the end of the message, so no `%nn` LMK
identifier is taken (a trailing `%nn` is MACed as data: hsmd's reading).
Both keys are read before the MAC is checked, so a parity error is reported
even when the MAC would not verify.

Errors: 01 verification failure · 10 source TAK parity · 11 destination TAK
parity · 15 malformed key or MAC field · 27 a TAK is triple length.

Sources: payShield host command reference, "Verify and translate a MAC" (ME:
layout, error codes, no destination MAC on failure); ThalesSim
(nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn/VerifyAndTranslateMAC_ME.vb,
ThalesCore.Tests/HostCommandTests.vb TestVerifyTranslateMAC) vectors in tests/test_cmd_me.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, Reply, answering

from logic.ma import TAK, x9_mac

COMMAND = "ME"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    source_field = fields.key(what="source TAK")
    destination_field = fields.key(what="destination TAK")
    mac = fields.hex(8, what="MAC")
    data = fields.rest()

    source = hsm.key_from_lmk(TAK, source_field)
    with answering("11", instead_of="10"):
        destination = hsm.key_from_lmk(TAK, destination_field)
    if not hmac.compare_digest(x9_mac(hsm, source, data)[:8], mac):
        return Reply("01")
    return x9_mac(hsm, destination, data)[:8].encode("ascii")
