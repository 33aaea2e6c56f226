"""MACs: ISO 9797-1 algorithms 1 and 3 (ANSI X9.9, X9.19) over DES keys, padding methods 1-3,
and algorithm 5 (CMAC, NIST SP 800-38B) over TDES and AES keys; all in chained blocks.

A message too large for one request is MACed in blocks: the first and middle
blocks return the CBC chaining value (no padding, no final transformation),
which the next block takes as its IV; the last block pads and finishes.

| algorithm | chaining                           | final step                   |
|-----------|------------------------------------|------------------------------|
| 1         | CBC with the whole key (DES/TDES)  | none (ANSI X9.9 when single) |
| 3         | CBC with single DES under K1       | decrypt K2, encrypt K1 (X9.19 retail MAC) |
| 5         | CBC with the whole key (TDES, AES) | last block XOR subkey K1 (whole) or K2 (padded 80 00..) |

An AES key runs algorithm 1 (CBC-MAC over 16-byte blocks) and 5; 3 is DES only (A7).

CMAC pads by itself (the padding method is ignored). Chained, its first and
middle blocks must be whole blocks and leave the last block to the final call:
the final block is the one CMAC treats specially, so an empty final call means
an empty last block (padded with K2), as the chaining of RFC 4493 implies.

Padding (ISO 9797-1): 1 zeros up to a block (none if already whole; an empty
message is one zero block), 2 0x80 then zeros, 3 a length block first.
Sources: ISO/IEC 9797-1, ANSI X9.19; payShield host command reference (MA, MS,
M6); vectors in tests/test_macs.py and the MAC commands' tests.
"""

from __future__ import annotations

from collections.abc import Callable

from hsmd.host import aes, des
from hsmd.host.errors import HostError

BLOCK = 8
CMAC = 5
_RB = {8: 0x1B, 16: 0x87}  # SP 800-38B: the constant of the subkey doubling per block size


def pad(data: bytes, method: int, block: int = BLOCK) -> bytes:
    if method == 1:
        return data + bytes(-len(data) % block) if data else bytes(block)
    if method == 2:
        return data + b"\x80" + bytes(-(len(data) + 1) % block)
    if method == 3:
        return (len(data) * 8).to_bytes(block, "big") + data + bytes(-len(data) % block)
    raise HostError("15", f"padding method {method} not 1, 2 or 3")


def _double(block: bytes) -> bytes:
    value = int.from_bytes(block, "big") << 1
    if value >> (8 * len(block)):
        value ^= (1 << (8 * len(block))) | _RB[len(block)]
    return value.to_bytes(len(block), "big")


def cmac(key: bytes, iv: bytes, data: bytes, *, aes_key: bool, final: bool) -> bytes:
    """CMAC under a TDES (8-byte blocks) or AES (16) key: the full MAC (final) or the CBC chaining value."""
    size, encrypt = (aes.BLOCK, aes.encrypt_ecb) if aes_key else (BLOCK, des.encrypt_ecb)
    cbc: Callable[[bytes, bytes, bytes], bytes] = aes.encrypt_cbc if aes_key else des.encrypt_cbc
    if len(iv) != size:
        raise HostError("15", f"IV must be {size} bytes")
    if not final:
        if len(data) % size:
            raise HostError("80", f"a first or middle block must be a multiple of {size} bytes")
        return cbc(key, iv, data)[-size:] if data else iv
    k1 = _double(encrypt(key, bytes(size)))
    whole = bool(data) and len(data) % size == 0
    head, last = (data[:-size], data[-size:]) if whole else (data[: len(data) - len(data) % size], data[len(data) - len(data) % size :])
    if not whole:
        last = last + b"\x80" + bytes(size - len(last) - 1)
    state = cbc(key, iv, head)[-size:] if head else iv
    subkey = k1 if whole else _double(k1)
    return encrypt(key, des.xor(des.xor(state, last), subkey))


def aes_mac(key: bytes, algorithm: int, padding: int, iv: bytes, data: bytes, *, final: bool) -> bytes:
    """Under an AES key: algorithm 1 (CBC-MAC over 16-byte blocks, padding 1-3) or 5 (CMAC); 16 bytes."""
    if algorithm == CMAC:
        return cmac(key, iv, data, aes_key=True, final=final)
    if algorithm != 1:
        raise HostError("A7", f"MAC algorithm {algorithm} needs a DES key: an AES key runs algorithm 1 or 5 (CMAC)")
    if len(iv) != aes.BLOCK:
        raise HostError("15", f"IV must be {aes.BLOCK} bytes")
    if final:
        data = pad(data, padding, aes.BLOCK)
    elif len(data) % aes.BLOCK:
        raise HostError("80", f"a first or middle block must be a multiple of {aes.BLOCK} bytes")
    return aes.encrypt_cbc(key, iv, data)[-aes.BLOCK :] if data else iv


def mac(key: bytes, algorithm: int, padding: int, iv: bytes, data: bytes, *, final: bool) -> bytes:
    """The 8-byte MAC (final) or CBC chaining value (first and middle blocks) of `data` after `iv` (DES keys)."""
    if algorithm == CMAC:
        return cmac(key, iv, data, aes_key=False, final=final)
    if algorithm not in (1, 3):
        raise HostError("15", f"MAC algorithm {algorithm} not 1, 3 or 5")
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
