"""DES keys as a payShield stores them: schemes, parity, and encryption under the LMK or a KEK.

A key travels as text in a command: bare 16 hex (single length, scheme Z),
or a scheme letter and 32/48 hex:

| scheme | length | encryption under the LMK pair (or a KEK)                      |
|--------|--------|---------------------------------------------------------------|
| Z      | 8      | ECB under the (key-type variant of the) pair                  |
| X / Y  | 16/24  | ECB, each 8-byte block on its own (ANSI X9.17)                |
| U      | 16     | left half under pair^A6 at byte 8, right half under pair^5A   |
| T      | 24     | thirds under pair^6A, ^DE, ^2B at byte 8                      |

Key-type variant n (the first digit of a key type code) XORs
A6 5A 6A DE 2B 50 74 9C FA[n-1] into byte 0 of the LMK pair; keys under a
KEK (ZMK, TMK) get the scheme variant only. Facts: shared/reference/payshield.md
"Variant LMK"; each rule is pinned by published test vectors in tests/test_keys.py.
"""

from __future__ import annotations

import functools
import secrets
from typing import Final, NamedTuple

from hsmd.host import des
from hsmd.host.errors import HostError

TYPE_VARIANTS: Final = (0xA6, 0x5A, 0x6A, 0xDE, 0x2B, 0x50, 0x74, 0x9C, 0xFA)
SCHEME_VARIANTS: Final = {"U": (0xA6, 0x5A), "T": (0x6A, 0xDE, 0x2B)}
SCHEME_LENGTH: Final = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}
HEX: Final = frozenset("0123456789ABCDEFabcdef")


class EncodedKey(NamedTuple):
    """A key as written in a command: its scheme and its encrypted bytes (never clear)."""

    scheme: str
    data: bytes

    @classmethod
    def parse(cls, text: str) -> EncodedKey:
        """`16H`, `32H` (legacy double length, read as X), or scheme letter + 32/48 H. Error 15 if malformed."""
        scheme, digits = ("Z", text) if len(text) == 16 else ("X", text) if len(text) == 32 else (text[:1].upper(), text[1:])
        if scheme not in SCHEME_LENGTH or len(digits) != 2 * SCHEME_LENGTH[scheme] or not HEX.issuperset(digits):
            raise HostError("15", f"malformed key field of {len(text)} characters")
        return cls(scheme, bytes.fromhex(digits))

    def text(self) -> str:
        hexed = self.data.hex().upper()
        return hexed if self.scheme == "Z" else self.scheme + hexed


# Byte -> the same byte with odd parity (its low bit flipped when needed): one C-speed translate.
_ODD: Final = bytes(b ^ (bin(b).count("1") % 2 == 0) for b in range(256))


def odd_parity(key: bytes) -> bool:
    return key.translate(_ODD) == key


def force_odd_parity(key: bytes) -> bytes:
    return key.translate(_ODD)


def generate(length: int) -> bytes:
    """A random key of `length` bytes with odd parity, never all zeros nor with equal halves."""
    while True:
        key = force_odd_parity(secrets.token_bytes(length))
        halves = [key[i : i + 8] for i in range(0, length, 8)]
        if len(set(halves)) == len(halves):
            return key


def type_variant(pair: bytes, variant: int) -> bytes:
    if variant == 0:
        return pair
    return bytes([pair[0] ^ TYPE_VARIANTS[variant - 1]]) + pair[1:]


@functools.lru_cache(maxsize=256)
def _lmk_scheme_keys(pair: bytes, scheme: str, length: int) -> tuple[bytes, ...]:
    """`_scheme_keys` for LMK pairs, which are few and fixed: derived once."""
    return tuple(_scheme_keys(pair, scheme, length))


def _scheme_keys(kek: bytes, scheme: str, length: int) -> list[bytes]:
    """One encryption key per 8-byte block of the protected key."""
    variants = SCHEME_VARIANTS.get(scheme)
    if variants is None:
        return [kek] * (length // 8)
    if len(kek) < 16:
        raise HostError("26", f"key scheme {scheme} needs a double- or triple-length key encryption key")
    # U protects 16 bytes in two blocks, T 24 in three: one variant each.
    return [kek[:8] + bytes([kek[8] ^ v]) + kek[9:] for v in variants]


def _check_scheme(scheme: str, length: int) -> None:
    if scheme not in SCHEME_LENGTH:
        raise HostError("26", f"unknown key scheme {scheme!r}")
    if SCHEME_LENGTH[scheme] != length:
        raise HostError("27", f"key scheme {scheme} does not hold a {length}-byte key")


def encrypt(kek: bytes, scheme: str, clear: bytes, *, lmk_key: bool = False) -> EncodedKey:
    """`clear` under `kek` (an LMK pair already carrying its type variant, or a KEK) with `scheme`."""
    _check_scheme(scheme, len(clear))
    keys = _lmk_scheme_keys(kek, scheme, len(clear)) if lmk_key else _scheme_keys(kek, scheme, len(clear))
    data = b"".join(des.encrypt_ecb(k, clear[i * 8 : i * 8 + 8], lmk_key=lmk_key) for i, k in enumerate(keys))
    return EncodedKey(scheme, data)


def decrypt(kek: bytes, key: EncodedKey, *, lmk_key: bool = False) -> bytes:
    _check_scheme(key.scheme, len(key.data))
    keys = _lmk_scheme_keys(kek, key.scheme, len(key.data)) if lmk_key else _scheme_keys(kek, key.scheme, len(key.data))
    return b"".join(des.decrypt_ecb(k, key.data[i * 8 : i * 8 + 8], lmk_key=lmk_key) for i, k in enumerate(keys))


def check_value(clear: bytes) -> str:
    """16 hex: 3DES-ECB of eight zero bytes under the key; commands print the first 6 or all 16."""
    return des.key_check_value(clear).hex().upper()
