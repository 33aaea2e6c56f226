"""DUKPT working keys (ANSI X9.24-1 TDES, X9.24-3 AES): a terminal's per-transaction key from the BDK and the KSN.

- The KSN is 10 bytes (20 H); a shorter one is padded on the left with F. Its
  rightmost 21 bits are the transaction counter.
- TDES DUKPT (X9.24-1:2004 Annex A): the initial key is TDES(BDK, the KSN's left 8 bytes, counter cleared)
  and TDES(BDK xor C0C0C0C0 00000000 C0C0C0C0 00000000, the same); each set
  counter bit, from the left, steps the key with the non-reversible function
  (right half DES_KL(R xor KR) xor KR, left half the same under K xor C0C0..).
  Working keys are variants: PIN ..FF in bytes 7 and 15; MAC request ..FF00;
  MAC response FF000000 in bytes 4 and 12; data request FF0000 in bytes 5 and 13,
  then TDES-encrypted under itself (X9.24-1:2009 A.4.1); data response byte 3 and 11.
- Single-DES DUKPT (X9.24-1:1998), which the legacy CI command uses: the
  initial key is the left half of the TDES initial key, each step is
  DES_K(R xor K) xor K, and the PIN key is K xor ..FF.
Vectors: BDK 0123456789ABCDEFFEDCBA9876543210, KSN FFFF9876543210E00000:
initial key 6AC292FAA1315B4D858AB3A3D7D5933A (X9.24-1 and tests/test_dukpt.py).

AES DUKPT (ANSI X9.24-3-2017, section 6): the KSN is 12 bytes (24 H), the
8-byte initial key ID (BDK ID, derivation ID) and a 32-bit transaction counter
with at most 16 one bits. Every key is AES-ECB of 16-byte derivation data under
its parent, one block per 128 output bits: version 01 · block counter · key
usage (2 bytes) · algorithm of the derived key (2) · its length in bits (2) ·
8 bytes of context (the initial key ID for the initial key; else the
derivation ID and the counter). The initial key comes from the BDK (usage
8001); each set counter bit, from the left, derives the next derivation key
(usage 8000) under the last one; the working key (PIN 1000, MAC 2000/2001,
data 3000/3001) comes from the counter's derivation key. Derivation keys have
the BDK's algorithm and length; working keys here too (X9.24-3 lets them be
shorter; no payShield field for that is public). Vectors: BDK
FEDCBA9876543210F1F1F1F1F1F1F1F1, initial key ID 1234567890123456 → initial key
1273671EA26AC29AFA4D1084127652A1 (X9.24-3-2017 annex B; tests/test_dukpt_aes.py).
"""

from __future__ import annotations

from typing import Final

from hsmd.host import aes, des
from hsmd.host.errors import HostError

_C0: Final = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
_COUNTER_BITS: Final = 21
VARIANTS: Final = {
    "pin": bytes.fromhex("00000000000000FF00000000000000FF"),
    "mac-request": bytes.fromhex("000000000000FF00000000000000FF00"),
    "mac-response": bytes.fromhex("00000000FF00000000000000FF000000"),
    "data-request": bytes.fromhex("0000000000FF00000000000000FF0000"),
    "data-response": bytes.fromhex("000000FF00000000000000FF00000000"),
}


def parse_ksn(ksn: str) -> bytes:
    """10 bytes from 10-20 hex characters, padded on the left with F."""
    if not 10 <= len(ksn) <= 20:
        raise HostError("15", f"KSN of {len(ksn)} hex characters (10-20)")
    try:
        return bytes.fromhex(ksn.rjust(20, "F"))
    except ValueError:
        raise HostError("15", "KSN is not hex") from None


def _base(ksn: bytes) -> bytes:
    """The initial key's input: the KSN's leftmost 8 bytes once the counter is cleared."""
    return ksn[:7] + bytes([ksn[7] & 0xE0])


def _steps(ksn: bytes) -> list[bytes]:
    """The KSN registers (8 bytes) at each set counter bit, left to right."""
    counter = int.from_bytes(ksn[-3:], "big") & ((1 << _COUNTER_BITS) - 1)
    register = int.from_bytes(ksn[2:], "big") & ~((1 << _COUNTER_BITS) - 1)
    out = []
    for bit in range(_COUNTER_BITS - 1, -1, -1):
        if counter >> bit & 1:
            register |= 1 << bit
            out.append(register.to_bytes(8, "big"))
    return out


def _one_way(key8: bytes, data: bytes) -> bytes:
    return des.xor(des.encrypt_ecb(key8, des.xor(data, key8)), key8)


def tdes_key(bdk: bytes, ksn: bytes, usage: str) -> bytes:
    if len(bdk) not in (16, 24):
        raise HostError("27", "the BDK must be double or triple length")
    base = _base(ksn)
    key = des.encrypt_ecb(bdk, base) + des.encrypt_ecb(des.xor(bdk[:16], _C0) + bdk[16:], base)
    for register in _steps(ksn):
        right = des.xor(des.encrypt_ecb(key[:8], des.xor(register, key[8:])), key[8:])
        other = des.xor(key, _C0)
        left = des.xor(des.encrypt_ecb(other[:8], des.xor(register, other[8:])), other[8:])
        key = left + right
    variant = VARIANTS.get(usage)
    if variant is None:
        raise HostError("15", f"DUKPT key usage {usage!r} unknown")
    key = des.xor(key, variant)
    if usage == "data-request" or usage == "data-response":
        key = des.encrypt_ecb(key, key[:8]) + des.encrypt_ecb(key, key[8:])
    return key


def des_pin_key(bdk: bytes, ksn: bytes) -> bytes:
    """Single-DES DUKPT PIN key (X9.24-1:1998)."""
    if len(bdk) not in (16, 24):
        raise HostError("27", "the BDK must be double or triple length")
    key = des.encrypt_ecb(bdk, _base(ksn))
    for register in _steps(ksn):
        key = _one_way(key, register)
    return des.xor(key, bytes.fromhex("00000000000000FF"))


# --- AES DUKPT (ANSI X9.24-3) ---

AES_KSN_HEX: Final = 24
_AES_USAGES: Final = {
    "pin": 0x1000,
    "mac-request": 0x2000,  # the terminal generates, the host verifies
    "mac-response": 0x2001,  # the host generates, the terminal verifies
    "data-request": 0x3000,
    "data-response": 0x3001,
}
_KEY_DERIVATION, _INITIAL_KEY = 0x8000, 0x8001
_AES_ALGORITHM: Final = {16: 2, 24: 3, 32: 4}  # X9.24-3 table: AES-128, -192, -256
_MAX_COUNTER_ONES: Final = 16


def parse_aes_ksn(ksn: str) -> tuple[bytes, int]:
    """The initial key ID (8 bytes) and the transaction counter of a 24 H KSN (15 if malformed)."""
    if len(ksn) != AES_KSN_HEX:
        raise HostError("15", f"AES DUKPT KSN of {len(ksn)} hex characters (24)")
    try:
        raw = bytes.fromhex(ksn)
    except ValueError:
        raise HostError("15", "KSN is not hex") from None
    counter = int.from_bytes(raw[8:], "big")
    if counter.bit_count() > _MAX_COUNTER_ONES:
        raise HostError("15", "AES DUKPT transaction counter with more than 16 one bits")
    return raw[:8], counter


def _aes_derive(key: bytes, usage: int, length: int, context: bytes) -> bytes:
    blocks = [
        aes.encrypt_ecb(key, bytes([1, n]) + usage.to_bytes(2, "big") + _AES_ALGORITHM[length].to_bytes(2, "big")
                        + (8 * length).to_bytes(2, "big") + context)
        for n in range(1, (length + 15) // 16 + 1)
    ]  # fmt: skip
    return b"".join(blocks)[:length]


def aes_initial_key(bdk: bytes, initial_key_id: bytes) -> bytes:
    if len(bdk) not in _AES_ALGORITHM:
        raise HostError("27", "an AES BDK is 16, 24 or 32 bytes")
    return _aes_derive(bdk, _INITIAL_KEY, len(bdk), initial_key_id)


def aes_key(bdk: bytes, ksn: str, usage: str) -> bytes:
    """The working key for `usage` of the transaction `ksn` (24 H) names, from an AES BDK."""
    if usage not in _AES_USAGES:
        raise HostError("15", f"AES DUKPT key usage {usage!r} unknown")
    initial_key_id, counter = parse_aes_ksn(ksn)
    key, register, derivation_id = aes_initial_key(bdk, initial_key_id), 0, initial_key_id[4:]
    for bit in range(31, -1, -1):
        if counter >> bit & 1:
            register |= 1 << bit
            key = _aes_derive(key, _KEY_DERIVATION, len(key), derivation_id + register.to_bytes(4, "big"))
    return _aes_derive(key, _AES_USAGES[usage], len(key), derivation_id + counter.to_bytes(4, "big"))
