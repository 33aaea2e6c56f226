"""GM — Hash a block of data.

The unit returns the digest of the data by a payShield hash identifier.

Request:  GM · hash identifier (2 N) · data length (5 N: decimal count of bytes)
          · message data (n B) · [%nn LMK identifier]
Response: GN 00 · hash value (n B: raw bytes, as long as the algorithm's digest)

Hash identifiers: 01 SHA-1 (20 bytes) · 02 MD5 (16) · 03 ISO/IEC 10118-2
MDC-2 (16) · 05 SHA-224 (28) · 06 SHA-256 (32) · 07 SHA-384 (48) · 08 SHA-512
(64). 04 ("no hash") belongs to the RSA signature commands and is refused
here, as ThalesSim refuses it. The data may be empty. The optional RSA
licence some manual issues require (67) is not modelled.

Errors: 05 hash identifier · 13 LMK identifier · 15 data length not 5
digits · 80 data length error: less data than declared, or more (other than
a final %nn).

Sources: payShield host command reference, "Hash a Block of Data" (GM:
layout, binary data and hash, errors 05, 15, 80, the SHA-1 example);
nickntg/thalessimulatorlibrary HostCommands/BuildIn/HashDataBlock_GM.vb
(identifiers, 05, 80 when the length differs); softwaregroup-bg/
ut-codec-payshield test/config/test.js (a real unit's SHA-1 and SHA-256
answers, binary). Vectors in tests/test_cmd_gm.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "GM"
VERSION = "1.0.0"

IDENTIFIERS: Final = ("01", "02", "03", "05", "06", "07", "08")


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    algorithm = fields.fixed(2, error="05", what="hash identifier").decode("latin-1")
    if algorithm not in IDENTIFIERS:
        raise HsmError("05", f"hash identifier {algorithm!r} not one of {', '.join(IDENTIFIERS)}")
    length = fields.numeric(5, what="data length")
    if fields.remaining < length:
        raise HsmError("80", f"{fields.remaining} bytes of data, {length} declared")
    data = fields.fixed(length)
    lmk_id = fields.lmk_id()
    fields.end(error="80")
    hsm.lmk_check_value(lmk_id)  # an LMK identifier must name a loaded LMK (13), as in every command
    return bytes.fromhex(hsm.hash(algorithm, data))
