"""MACs over DES keys: ISO 9797-1 algorithms 1 and 3 (ANSI X9.9, X9.19), padding methods 1-3, chained blocks.

A message too large for one request is MACed in blocks: the first and middle
blocks return the CBC chaining value (no padding, no final transformation),
which the next block takes as its IV; the last block pads and finishes.

| algorithm | chaining                           | final step                   |
|-----------|------------------------------------|------------------------------|
| 1         | CBC with the whole key (DES/TDES)  | none (ANSI X9.9 when single) |
| 3         | CBC with single DES under K1       | decrypt K2, encrypt K1 (X9.19 retail MAC) |

Padding (ISO 9797-1): 1 zeros up to a block (none if already whole; an empty
message is one zero block), 2 0x80 then zeros, 3 a length block first.
Sources: ISO/IEC 9797-1, ANSI X9.19; payShield host command reference (MA, MS,
M6); vectors in tests/test_macs.py and the MAC commands' tests.
"""

from __future__ import annotations

from hsmd.host import des
from hsmd.host.errors import HostError

BLOCK = 8


def pad(data: bytes, method: int) -> bytes:
    if method == 1:
        return data + bytes(-len(data) % BLOCK) if data else bytes(BLOCK)
    if method == 2:
        return data + b"\x80" + bytes(-(len(data) + 1) % BLOCK)
    if method == 3:
        return (len(data) * 8).to_bytes(BLOCK, "big") + data + bytes(-len(data) % BLOCK)
    raise HostError("15", f"padding method {method} not 1, 2 or 3")


def mac(key: bytes, algorithm: int, padding: int, iv: bytes, data: bytes, *, final: bool) -> bytes:
    """The 8-byte MAC (final) or CBC chaining value (first and middle blocks) of `data` after `iv`."""
    if algorithm not in (1, 3):
        raise HostError("15", f"MAC algorithm {algorithm} not 1 or 3")
    if algorithm == 3 and len(key) == 8:
        raise HostError("27", "MAC algorithm 3 needs a double-length key")
    if len(iv) != BLOCK:
        raise HostError("15", "IV must be 8 bytes")
    if final:
        data = pad(data, padding)
    elif len(data) % BLOCK:
        raise HostError("80", "a first or middle block must be a multiple of 8 bytes")
    state = des.encrypt_cbc(key if algorithm == 1 else key[:8], iv, data)[-BLOCK:] if data else iv
    if final and algorithm == 3:
        state = des.encrypt_ecb(key[:8], des.decrypt_ecb(key[8:16], state))
    return state
