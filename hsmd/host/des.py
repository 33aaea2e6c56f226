"""DES/3DES primitives on top of `cryptography` (its three-key TDES form: two-key keys are expanded K1K2K1)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from cryptography.hazmat.decrepit.ciphers import modes as decrepit_modes
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, modes
from cryptography.hazmat.primitives.cmac import CMAC

BLOCK = 8


def _tdes_key(key: bytes) -> bytes:
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ValueError(f"DES key of {len(key)} bytes")


@functools.lru_cache(maxsize=256)
def _lmk_contexts(key: bytes) -> tuple[CipherContext, CipherContext]:
    """ECB contexts for a key derived from the LMK, kept for reuse.

    Building a cipher and its key schedule is 90 % of a DES operation's cost.
    ECB keeps no state between blocks, so one context serves every call. Only
    LMK-derived keys are kept (a bounded set the host holds anyway); keys from
    requests are never cached, so they do not outlive their request here.
    """
    cipher = Cipher(TripleDES(_tdes_key(key)), modes.ECB())
    return cipher.encryptor(), cipher.decryptor()


def encrypt_ecb(key: bytes, data: bytes, *, lmk_key: bool = False) -> bytes:
    if lmk_key:
        return _lmk_contexts(key)[0].update(data)
    enc = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_ecb(key: bytes, data: bytes, *, lmk_key: bool = False) -> bytes:
    if lmk_key:
        return _lmk_contexts(key)[1].update(data)
    dec = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()


def cmac(key: bytes, data: bytes) -> bytes:
    """TDES-CMAC (NIST SP 800-38B), the full 8 bytes: TR-31 version B's derivation and authenticator."""
    mac = CMAC(TripleDES(_tdes_key(key)))
    mac.update(data)
    return mac.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    """Two blocks of the same length, XORed."""
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def key_check_value(key: bytes) -> bytes:
    """Encrypt eight zero bytes under the key: the payShield key check value (first 3 or 8 bytes shown)."""
    return encrypt_ecb(key, bytes(8))


def lmk_check_value(pairs: Sequence[bytes]) -> str:
    """The LMK check value NC reports: 16 hex characters.

    Real units report six significant hex digits padded with zeros (the public
    test LMK shows as 2686040000000000), but no public reference says what
    those six digits are computed from, and no computation over the test LMK
    we tried reproduces 268604 (notes in README, "LMK check value"). hsmd
    reports the key check value of LMK pair 00-01 in the same format, so
    different LMKs are told apart; it does not match a real unit's value.
    """
    return key_check_value(pairs[0]).hex().upper()[:6] + "0" * 10


_MODES = {"ECB": None, "CBC": modes.CBC, "CFB8": decrepit_modes.CFB8, "CFB64": decrepit_modes.CFB, "OFB": decrepit_modes.OFB}


def crypt(key: bytes, mode: str, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """Data under a request's key (never cached): ECB, CBC, CFB8, CFB64 or OFB (the IV unused in ECB)."""
    make = _MODES[mode]
    cipher = Cipher(TripleDES(_tdes_key(key)), modes.ECB() if make is None else make(iv))
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(data) + context.finalize()


def encrypt_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    return crypt(key, "CBC", iv, data, encrypt=True)
