"""B2 — Echo test.

The host sends data and the unit sends it back unchanged: a round trip
through the command path, used to check the link.

Request:  B2 · message length (4 H: number of bytes of data) · data
Response: B3 00 · data

Errors: 15 the length is not hex, or more data follows than declared;
80 less data follows than declared.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "B2"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    length = fields.hex_length(4, what="message length")
    if fields.remaining < length:
        raise HsmError("80", f"{fields.remaining} bytes of data, {length} declared")
    data = fields.fixed(length)
    fields.end()
    return data
