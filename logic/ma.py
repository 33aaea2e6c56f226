"""MA — Generate a MAC (ANSI X9.9 / X9.19) under a TAK.

The data after the TAK, to the end of the message, is MACed with a zero IV
and its last block zero-padded (ISO 9797-1 padding method 1): ANSI X9.9
(ISO 9797-1 MAC algorithm 1, single DES) with a single-length TAK, ANSI X9.19
(MAC algorithm 3, the retail MAC) with a double-length one. The MAC is the
left 4 bytes of the result.

Request:  MA · TAK (16 H, or U/X + 32 H, under LMK 16-17) · data (0-n bytes, to the end)
Response: MB 00 · MAC (8 H)

The data has no length field: it is every byte after the TAK up to the end of
the message (a trailer after 0x19 has already been removed), so this command,
like MC and ME, takes no `%nn` LMK identifier: a trailing `%nn` could not be
told from data and is MACed as data (hsmd's reading; M6 and M8 carry a
length and take the identifier). The manual's "n = 1024 (can be increased
towards 2047)" is a recommendation: hsmd MACs whatever the frame carries.
The data is MACed as received (no character-set conversion; ThalesSim's
simulator instead hex-decodes it, which a real unit does not do).

Errors: 10 TAK parity · 15 malformed TAK field · 27 TAK triple length
(X9.9 takes a single-length key, X9.19 a double-length one).

Sources: payShield host command reference, "Generate a MAC" (MA: layout,
error codes, X9.9 for single and X9.19 for double-length keys); ThalesSim
(nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn/GenerateMAC_MA.vb,
ThalesCore.Tests/HostCommandTests.vb TestGenerateMAC) vectors in tests/test_cmd_ma.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply

COMMAND = "MA"
VERSION = "1.0.0"

TAK = "003"  # LMK pair 16-17
ZERO_IV = "0" * 16


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    tak_field = fields.key(what="TAK")
    data = fields.rest()

    tak = hsm.key_from_lmk(TAK, tak_field)
    return x9_mac(hsm, tak, data)[:8].encode("ascii")


def x9_mac(hsm: Hsm, key: KeyHandle, data: bytes) -> str:
    """The full MAC block (16 H) of MA, MC and ME: X9.9 under a single-length key, X9.19 under a double-length one."""
    length = hsm.key_describe(key).length
    if length == 24:
        raise HsmError("27", "a triple-length TAK is neither X9.9 nor X9.19")
    return hsm.mac_compute(key, 1 if length == 8 else 3, 1, ZERO_IV, data, True)
