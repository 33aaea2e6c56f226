"""MS — Generate a MAC (MAB) for a large message under a TAK or ZAK, in blocks (ANSI X9.9 / X9.19).

A message too large for one request is sent in blocks: the first (1) and
middle (2) blocks return the CBC chaining value (the MAB), which the next
block gives back as its IV; the last (3) or only (0) block zero-pads the
message (ISO 9797-1 padding method 1) and returns the MAC. A single-length
key gives ANSI X9.9 (ISO 9797-1 MAC algorithm 1), a double-length key ANSI
X9.19 (MAC algorithm 3: chaining with single DES under the left half).

Request:  MS · message block number (1 N: 0 only, 1 first, 2 middle, 3 last)
          · key type (1 N: 0 TAK under LMK 16-17, 1 ZAK under LMK 26-27)
          · key length (1 N: 0 single, 1 double) · message type (1 N: 0 binary, 1 expanded hex)
          · key (16 H, or U/X + 32 H) · [IV (16 H), blocks 2 and 3 only]
          · message length (4 H: bytes of message, half the field's length if hex)
          · message block (n B, or 2n H) · [%nn LMK identifier]
Response: MT 00 · MAB (16 H): the chaining value after blocks 1 and 2, the
          MAC (the caller usually keeps its left 8 H) after blocks 0 and 3.

First and middle blocks must be whole 8-byte blocks. A last block must carry
data: zero padding cannot finish a message already in whole blocks (hsmd's
reading; an empty only block is MACed as one zero block, as MA does).

Errors: 03 message type · 04 key type, or the key length flag differs from
the key field's length · 05 block number · 06 key length flag · 10 key
parity · 13 LMK identifier · 15 malformed field (key, IV, length, hex
message, trailing bytes) · 80 message shorter than its length, a first or
middle block not a multiple of 8 bytes, or an empty last block.

Sources: payShield host command reference, "Generate a MAC (MAB) for a large
message" (MS: layout, X9.9/X9.19 by key length, multiple-of-8 rule; the MT
error list is cut in the public excerpt: 03-06 and 80 follow ThalesSim,
10/13/15 the manual's sibling MQ); ThalesSim (nickntg/thalessimulatorlibrary,
ThalesCore/HostCommands/BuildIn/GeneraceMACMABUsingAnsiX919ForLargeMessage_MS.vb,
ThalesCore.Tests/HostCommandTests.vb TestGenerateMACMABMS) vectors in tests/test_cmd_ms.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply

COMMAND = "MS"
VERSION = "1.0.0"

KEY_TYPES = {b"0": "003", b"1": "008"}  # TAK (LMK 16-17), ZAK (LMK 26-27)
KEY_FIELD_LENGTHS = {b"0": 16, b"1": 33}  # 16 H; U/X + 32 H
ZERO_IV = "0" * 16
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def _flag(fields: Fields, allowed: bytes, error: str, what: str) -> bytes:
    value = fields.fixed(1, what=what)
    if value not in [allowed[i : i + 1] for i in range(len(allowed))]:
        raise HsmError(error, f"{what} {value!r} not one of {allowed!r}")
    return value


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    block = _flag(fields, b"0123", "05", "message block number")
    key_type = _flag(fields, b"01", "04", "key type")
    key_length = _flag(fields, b"01", "06", "key length")
    message_type = _flag(fields, b"01", "03", "message type")
    key_field = fields.key(what="MAC key")
    if len(key_field) != KEY_FIELD_LENGTHS[key_length]:
        raise HsmError("04", "the key length flag does not match the key")
    iv = fields.hex(16, what="IV") if block in (b"2", b"3") else ZERO_IV
    length = fields.hex_length(4, what="message length")
    raw = fields.fixed(length * 2 if message_type == b"1" else length, error="80", what="message block")
    lmk_id = fields.lmk_id()
    fields.end()
    if message_type == b"1":
        if not _HEX.issuperset(raw):
            raise HsmError("15", "message block is not hex")
        data = bytes.fromhex(raw.decode("ascii"))
    else:
        data = raw
    if block == b"3" and not data:
        raise HsmError("80", "an empty last block cannot be padded")

    key = hsm.key_from_lmk(KEY_TYPES[key_type], key_field, lmk_id)
    algorithm = 1 if key_length == b"0" else 3
    return hsm.mac_compute(key, algorithm, 1, iv, data, block in (b"0", b"3")).encode("ascii")
