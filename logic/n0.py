"""N0 — Generate a random value.

The unit returns random bytes from its random number generator.

Request:  N0 · random value length (3 N: number of bytes, 001 to 999) · [%nn LMK identifier]
Response: N1 00 · random value (n B: that many raw bytes, not hex)

The value is binary: a client tested against payShield 10K units
(mszeu/PayShieldPressureTest, `N0008` for "a random value 8 bytes long")
takes everything after the error code as the value and prints it as hex
itself. The manual page was not found, so neither the binary form nor the
upper bound is confirmed from it; a unit may cap the length lower than the
999 the 3 N field can express.

Errors: 01 length 000 (invalid random value length) · 13 LMK identifier ·
15 length not 3 digits, or anything follows the fields.

Sources: mszeu/PayShieldPressureTest `pressureTest.py` (request `N0` +
3-digit length in bytes) and `decode_n0` (01 = invalid random value
length; binary payload); tests in tests/test_cmd_n0.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "N0"
VERSION = "1.0.0"

MIN_LENGTH, MAX_LENGTH = 1, 999


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    length = fields.numeric(3, what="random value length")
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise HsmError("01", f"random value length {length} outside {MIN_LENGTH}..{MAX_LENGTH}")
    lmk_id = fields.lmk_id()
    fields.end()
    hsm.lmk_check_value(lmk_id)  # an LMK identifier must name a loaded LMK (13), as in every command
    return bytes.fromhex(hsm.random_hex(length))
