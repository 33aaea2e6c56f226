"""Message digests a payShield offers (GM): SHA-1, MD5, MDC-2, SHA-224/256/384/512, by its identifiers.

MDC-2 (ISO/IEC 10118-2, hash-function 2 with DES) is not in hashlib: each
8-byte block M goes through DES under two keys made from the running halves
A and B (bits 2-3 of byte 0 set to 10 and 01), each result XORed with M, and
the halves swap their right words. Initial values 5252… and 2525…; the last
block is padded with zeros (ISO/IEC 10118-1 padding method 1, as OpenSSL's
MDC2). Published vector: MDC-2 of "Now is the time for all " =
42E50CD224BACEBA760BDD2BD409281A (tests/test_hashes.py).
"""

from __future__ import annotations

import hashlib
from typing import Final

from hsmd.host import des
from hsmd.host.errors import HostError

ALGORITHMS: Final = {"01": "sha1", "02": "md5", "03": "mdc2", "05": "sha224", "06": "sha256", "07": "sha384", "08": "sha512"}


def mdc2(data: bytes) -> bytes:
    a, b = bytes([0x52] * 8), bytes([0x25] * 8)
    data += bytes(-len(data) % 8)
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        key_a = bytes([(a[0] & 0x9F) | 0x40]) + a[1:]
        key_b = bytes([(b[0] & 0x9F) | 0x20]) + b[1:]
        la = des.xor(des.encrypt_ecb(key_a, block), block)
        lb = des.xor(des.encrypt_ecb(key_b, block), block)
        a, b = la[:4] + lb[4:], lb[:4] + la[4:]
    return a + b


def digest(identifier: str, data: bytes) -> bytes:
    name = ALGORITHMS.get(identifier)
    if name is None:
        raise HostError("05", f"hash identifier {identifier!r} not one of {', '.join(ALGORITHMS)}")
    return mdc2(data) if name == "mdc2" else hashlib.new(name, data).digest()
