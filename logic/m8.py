"""M8 — Verify a MAC (ISO 9797-1 MAC algorithm 1 or 3, AES CBC-MAC or CMAC) under a TAK or ZAK, in one or more blocks.

The MAC of the message is computed as M6 computes it (MAC size 0 with
algorithm 1, 3, 5 or 6, padding none, 1 or 2, chained over blocks through
the IV) and, for the only or final block, its left 4 bytes are compared with
the MAC the request gives.

Request:  M8 · mode flag (1 N: 0 only, 1 first, 2 middle, 3 final block)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary, 2 text)
          · MAC size (1 N: 0) · MAC algorithm (1 N: 1, 3, 5, 6) · padding method (1 N: 0 none, 1, 2)
          · key type (3 H: 003 TAK under LMK 16-17, 008 ZAK under LMK 26-27; FFF a key block)
          · key (16 H, or U/X + 32 H, or T/Y + 48 H) · [IV (16 H; 32 H for 5 and 6), modes 2 and 3 only]
          · message length (4 H: the length of the message field) · message (n B / n H / n A)
          · MAC (8 H; may be left out in modes 1 and 2) · [%nn LMK identifier]
Response: M9 00 or M9 01 (verification failure) for modes 0 and 3, no fields;
          M9 00 · IV for the next block (16 H; 32 H for 5 and 6) for modes 1 and 2.

The manual's layout shows the MAC field unconditionally, although a first or
middle block has nothing to verify: hsmd requires it in modes 0 and 3 and, in
modes 1 and 2, reads and ignores it if present (hsmd's reading). The M9
excerpt lists the IV without a condition; it is returned where it has a use
(modes 1 and 2), as ThalesSim does.

Key blocks and AES keys as for M6 (key type FFF, S + key block; A6/A7/A8 from
the header; A7 for an algorithm that does not suit the key's).
Known answer: a real unit verifies MAC F9369211 over hex ABCDEF12 (algorithm
1, padding 1) under the TAK block `S00072M1TN00E0001FFE0…` with key type FFF
and %01 (ut-codec-payshield test/config/test.js, verifyMacEncode 2).

Errors: 01 verification failure · 02 mode flag · 03 input format flag · 04
MAC size or algorithm · 05 key type · 06 message length (as for M6) · 09 padding
method · 10 key parity · 13 LMK identifier · 15 malformed field (key, IV,
length, hex message, MAC, trailing bytes) · 27 algorithm 03 with a key that
is not double length.

Sources: payShield host command reference, "Verify MAC" (M8/M9: layout, IV in
modes 2 and 3, MAC after the message); error codes 01-10 from
softwaregroup-bg/ut-codec-payshield (messages.json); ThalesSim
(nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn/VerifyMAC_M8.vb,
ThalesCore.Tests/HostCommandTests.vb VerifyMAC) vector in tests/test_cmd_m8.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, Reply

from logic.m6 import check_length, compute, read_input_format, read_iv, read_mac, read_message, read_mode, read_spec

COMMAND = "M8"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = read_mode(fields)
    input_format = read_input_format(fields)
    spec = read_spec(fields)
    iv = read_iv(fields, mode, spec)
    data = read_message(fields, input_format)
    mac = read_mac(fields, mode)
    lmk_id = fields.lmk_id()
    fields.end()
    check_length(mode, spec, data)

    key = hsm.key_from_lmk(spec.key_type, spec.key_field, lmk_id)
    value = compute(hsm, key, spec, mode, iv, data)
    if mode in ("1", "2"):
        return value.encode("ascii")
    return b"" if mac is not None and hmac.compare_digest(value[:8], mac) else Reply("01")  # never None in modes 0 and 3
