"""The variant-LMK rules, restated with psec: the oracle the command tests check hsmd's answers against.

It stays independent of the code under test (it never imports hsmd): every rule is
written out again from shared/reference/payshield.md, "Variant LMK":

- A key type is a variant digit and a pair code; its LMK pair is the pair of that code
  with key-type variant n (1-9: A6, 5A, 6A, DE, 2B, 50, 74, 9C, FA) XORed into byte 0.
- A key under a key-encrypting key (an LMK pair, or a clear ZMK/TMK/TPK): scheme U/T
  encrypts block i (8 bytes) with byte 8 of the KEK XORed with the scheme's i-th
  variant (U: A6, 5A; T: 6A, DE, 2B); Z, X, Y and a bare 16/32 H field are plain ECB.
  A single-length KEK is single DES, i.e. TDES with K1 = K2 = K3.
- A check value is 3DES-ECB of eight zero bytes under the clear key (6 or 16 H).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

import psec
import pyemv

# The public test LMK (shared/reference/payshield.md, "The public test LMK"), by the pair code of
# the key type table (payshield.md: 00=04-05, 01=06-07, … 0E=38-39).
TEST_LMK_PAIRS = {
    "00": "40404040404040405151515151515151",  # 04-05: ZMK
    "01": "61616161616161617070707070707070",  # 06-07: ZPK
    "02": "E0E0010101010101F1F1010101010101",  # 14-15: TMK/TPK/PVK
    "03": "1C587F1C13924FEF0101010101010101",  # 16-17: TAK
    "04": "01010101010101010101010101010101",  # 18-19
    "05": "02020202020202020404040404040404",  # 20-21
    "06": "07070707070707071010101010101010",  # 22-23
    "07": "13131313131313131515151515151515",  # 24-25
    "08": "16161616161616161919191919191919",  # 26-27
    "09": "1A1A1A1A1A1A1A1A1C1C1C1C1C1C1C1C",  # 28-29: BDK
    "0A": "23232323232323232525252525252525",  # 30-31: ZEK
    "0B": "26262626262626262929292929292929",  # 32-33
    "0C": "2A2A2A2A2A2A2A2A2C2C2C2C2C2C2C2C",  # 34-35
    "0D": "2F2F2F2F2F2F2F2F3131313131313131",  # 36-37
    "0E": "01010101010101010101010101010101",  # 38-39
}
TYPE_VARIANTS = (0xA6, 0x5A, 0x6A, 0xDE, 0x2B, 0x50, 0x74, 0x9C, 0xFA)
SCHEME_VARIANTS = {"U": (0xA6, 0x5A), "T": (0x6A, 0xDE, 0x2B)}
LENGTHS = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}  # bytes of key a scheme holds


def lmk(key_type: str, pairs: Mapping[str, str] = TEST_LMK_PAIRS) -> bytes:
    """The LMK pair keys of `key_type` (variant digit + pair code) are encrypted under (the test LMK's, or `pairs`)."""
    pair = bytes.fromhex(pairs[key_type[1:]])
    variant = int(key_type[0])
    return pair if variant == 0 else bytes([pair[0] ^ TYPE_VARIANTS[variant - 1]]) + pair[1:]


def _block_keys(kek: bytes, scheme: str, blocks: int) -> list[bytes]:
    """The TDES key each 8-byte block of a key in `scheme` is encrypted with."""
    kek = kek if len(kek) > 8 else kek * 2
    variants = SCHEME_VARIANTS.get(scheme)
    if variants is None:
        return [kek] * blocks
    return [kek[:8] + bytes([kek[8] ^ v]) + kek[9:] for v in variants]


def _blocks(data: bytes) -> list[bytes]:
    return [data[i : i + 8] for i in range(0, len(data), 8)]


def encrypt(kek: bytes, scheme: str, clear: bytes) -> str:
    """`clear` under `kek` in `scheme`, as a key field: the scheme letter (none for Z) and hex."""
    blocks = _blocks(clear)
    keys = _block_keys(kek, scheme, len(blocks))
    data = b"".join(psec.des.encrypt_tdes_ecb(k, b) for k, b in zip(keys, blocks, strict=True))
    return ("" if scheme == "Z" else scheme) + data.hex().upper()


def decrypt(kek: bytes, field: str) -> bytes:
    """The clear key of a key field under `kek` (bare 16 or 32 H: plain ECB)."""
    scheme = scheme_of(field)
    blocks = _blocks(bytes.fromhex(field if scheme == "Z" else field[1:]))
    keys = _block_keys(kek, scheme, len(blocks))
    return b"".join(psec.des.decrypt_tdes_ecb(k, b) for k, b in zip(keys, blocks, strict=True))


def to_lmk(key_type: str, scheme: str, clear: bytes, pairs: Mapping[str, str] = TEST_LMK_PAIRS) -> str:
    """`clear` under the test LMK (or the LMK of `pairs`) as a key of `key_type`, as a key field."""
    return encrypt(lmk(key_type, pairs), scheme, clear)


def from_lmk(key_type: str, field: str, pairs: Mapping[str, str] = TEST_LMK_PAIRS) -> bytes:
    """The clear key of a key field under the test LMK (or the LMK of `pairs`) for `key_type`."""
    return decrypt(lmk(key_type, pairs), field)


def kcv(clear: bytes, digits: int = 16) -> str:
    """The key check value, `digits` hex digits of it (16 or 6)."""
    return psec.des.generate_kcv(clear if len(clear) > 8 else clear * 2, 8).hex().upper()[:digits]


def odd_parity(key: bytes) -> bool:
    return all(bin(b).count("1") % 2 == 1 for b in key)


def with_odd_parity(key: bytes) -> bytes:
    return psec.des.adjust_key_parity(key)


def xor(parts: list[bytes]) -> bytes:
    out = bytes(len(parts[0]))
    for part in parts:
        out = bytes(a ^ b for a, b in zip(out, part, strict=True))
    return out


def scheme_of(field: str) -> str:
    """The scheme a key field is in: its letter, or Z for bare hex (no scheme letter is a hex digit)."""
    return field[0] if field[:1] in ("U", "X", "T", "Y") else "Z"


def split_keys(text: str, count: int) -> list[str]:
    """The first `count` key fields of `text` (16 H, U/X + 32 H, T/Y + 48 H), then the rest of it."""
    fields = []
    for _ in range(count):
        scheme = scheme_of(text)
        width = 16 if scheme == "Z" else 1 + 2 * LENGTHS[scheme]
        fields.append(text[:width])
        text = text[width:]
    return [*fields, text]


def generated_key(text: str, kek: bytes, kek_scheme: str, key_type: str, lmk_scheme: str) -> tuple[bytes, str]:
    """Check `key under a KEK · key under the LMK` at the start of an answer's fields.

    Both must be in the schemes named and hold the same odd-parity key of the schemes'
    length. Returns the clear key and the text after the two fields.
    """
    under_kek, under_lmk, rest = split_keys(text, 2)
    assert (scheme_of(under_kek), scheme_of(under_lmk)) == (kek_scheme, lmk_scheme)
    clear = from_lmk(key_type, under_lmk)
    assert decrypt(kek, under_kek) == clear
    assert len(clear) == LENGTHS[lmk_scheme]
    assert odd_parity(clear)
    return clear, rest


# --- PIN translation and comparison (CA, CC, BC, BE): PIN blocks by payShield format code ---
#
# From the payShield host command reference, "PIN block formats" (and ISO 9564-1): psec encodes
# and decodes ISO 0 (01; 04 is ISO 0 bound to the PAN's leftmost 12 digits), ISO 2 (34) and ISO 3
# (47); the others are written out here. 35 is the ISO 2 PIN field XORed with 0000 + account 12;
# 05 (ISO 1) is 1 · length · PIN · any fill; 03 (IBM 3624) is the PIN · F fill; 02 (Docutel) is
# hsmd's reading, length · PIN · decimal fill (no public manual text was found for it).


def _pan_for_psec(account12: str) -> str:
    """psec binds to pan[-13:-1]: the 12 account digits followed by a (dummy) check digit."""
    return account12 + "0"


def _xor_account(clear: bytes, account12: str) -> bytes:
    return (int.from_bytes(clear, "big") ^ int(account12, 16)).to_bytes(8, "big")


def pinblock_encode(fmt: str, pin: str, account12: str = "000000000000", fill: str = "") -> str:
    """The clear PIN block (16 H) of `pin` in payShield format `fmt`; `fill` overrides 05/02 fill."""
    n = len(pin)
    if fmt in ("01", "04"):
        clear = psec.pinblock.encode_pinblock_iso_0(pin, _pan_for_psec(account12))
    elif fmt == "34":
        clear = psec.pinblock.encode_pinblock_iso_2(pin)
    elif fmt == "35":
        clear = _xor_account(psec.pinblock.encode_pinblock_iso_2(pin), account12)
    elif fmt == "47":
        clear = psec.pinblock.encode_pinblock_iso_3(pin, _pan_for_psec(account12))
    elif fmt == "05":
        clear = bytes.fromhex(f"1{n:X}{pin}{(fill or '0123456789ABCD')[: 14 - n]}")
    elif fmt == "03":
        clear = bytes.fromhex(pin.ljust(16, "F"))
    elif fmt == "02":
        clear = bytes.fromhex(f"{n}{pin}{(fill or '987654321098765')[: 15 - n]}")
    else:
        raise ValueError(fmt)
    return clear.hex().upper()


def pinblock_decode(fmt: str, clear_hex: str, account12: str = "000000000000") -> str:
    """The PIN in clear PIN block `clear_hex` of payShield format `fmt` (ValueError if malformed)."""
    clear = bytes.fromhex(clear_hex)
    if fmt in ("01", "04"):
        return psec.pinblock.decode_pinblock_iso_0(clear, _pan_for_psec(account12))
    if fmt == "34":
        return psec.pinblock.decode_pinblock_iso_2(clear)
    if fmt == "35":
        return psec.pinblock.decode_pinblock_iso_2(_xor_account(clear, account12))
    if fmt == "47":
        return psec.pinblock.decode_pinblock_iso_3(clear, _pan_for_psec(account12))
    text = clear_hex.upper()
    if fmt == "05":
        if text[0] != "1":
            raise ValueError("ISO 1 control nibble")
        pin = text[2 : 2 + int(text[1], 16)]
    elif fmt == "03":
        pin = text.split("F", 1)[0]
        if text[len(pin) :].strip("F"):
            raise ValueError("IBM 3624 fill")
    elif fmt == "02":
        pin = text[1 : 1 + int(text[0])]
    else:
        raise ValueError(fmt)
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("PIN digits")
    return pin


def pinblock_encrypt(key_type: str, key_field: str, clear_hex: str) -> str:
    """A clear PIN block encrypted under the PIN key `key_field` (under the test LMK as `key_type`)."""
    key = from_lmk(key_type, key_field)
    key = key if len(key) > 8 else key * 2
    return psec.des.encrypt_tdes_ecb(key, bytes.fromhex(clear_hex)).hex().upper()


def pinblock_decrypt(key_type: str, key_field: str, block: str) -> str:
    """The clear PIN block (16 H) of `block` under the PIN key `key_field`."""
    key = from_lmk(key_type, key_field)
    key = key if len(key) > 8 else key * 2
    return psec.des.decrypt_tdes_ecb(key, bytes.fromhex(block)).hex().upper()


# --- PIN blocks for JA BA NG JC JE JG (PIN under the LMK) ---
#
# A PIN block (payShield format codes, the host command reference's "PIN block formats"):
# 01 ISO 9564-1 format 0 (psec, bound to the account's 12 digits), 03 Diebold / IBM 3624
# (the PIN, F fill), 47 ISO format 3 (psec), under a clear TPK or ZPK with TDES-ECB.
# psec takes a PAN with its check digit: the 12-digit account number plus any digit.


def _pinlmk_tdes(key: bytes) -> bytes:
    return key if len(key) > 8 else key * 2


def pinlmk_encode_block(key: bytes, fmt: str, pin: str, account: str) -> str:
    """`pin` in PIN block format `fmt` (01, 03), encrypted under the clear `key` (16 H)."""
    if fmt == "01":
        clear = psec.pinblock.encode_pinblock_iso_0(pin, account + "0")
    elif fmt == "03":
        clear = bytes.fromhex(pin.ljust(16, "F"))
    else:
        raise ValueError(f"format {fmt} not in this oracle")
    return psec.des.encrypt_tdes_ecb(_pinlmk_tdes(key), clear).hex().upper()


def pinlmk_decode_block(key: bytes, fmt: str, block: str, account: str) -> str:
    """The PIN of a PIN block (16 H) of format `fmt` (01, 03, 47) under the clear `key`."""
    clear = psec.des.decrypt_tdes_ecb(_pinlmk_tdes(key), bytes.fromhex(block))
    if fmt == "01":
        return psec.pinblock.decode_pinblock_iso_0(clear, account + "0")
    if fmt == "47":
        return psec.pinblock.decode_pinblock_iso_3(clear, account + "0")
    if fmt == "03":
        text = clear.hex().upper()
        pin = text.rstrip("F")
        assert pin.isdigit() and text == pin.ljust(16, "F"), text
        return pin
    raise ValueError(f"format {fmt} not in this oracle")


# --- IBM 3624 offsets and PINs for DA EA DE EE BK ---
#
# psec's IBM 3624 functions take the validation data as `pan` (offset 0, length 16, pad F),
# so it must be 16 decimal digits here: the 12-character payShield validation data with its
# N replaced by the account's last five digits. A single-length PVK is single DES.


def ibm_validation_data(data: str, account12: str) -> str:
    """The 16 characters of payShield PIN validation data: `N` becomes the account's last five digits."""
    return data.replace("N", account12[-5:])


def ibm_offset(pvk: bytes, table: str, pin: str, validation_data: str) -> str:
    """The IBM 3624 offset of `pin` (as many digits as the PIN) under the clear PVK."""
    return psec.pin.generate_ibm3624_offset(pvk, table, pin, validation_data, 0, 16, "F")


def ibm_pin(pvk: bytes, table: str, offset: str, validation_data: str) -> str:
    """The IBM 3624 PIN of natural PIN + `offset` (as many digits as the offset) under the clear PVK."""
    return psec.pin.generate_ibm3624_pin(pvk, table, offset, validation_data, 0, 16, "F")


# --- Visa PVV and CVV for DC EC DG CW CY ---
#
# psec's Visa PVV takes the full PAN and uses pan[-12:-1]: the 11 rightmost digits before the
# check digit, i.e. the last 11 of the 12-digit account field (plus a dummy check digit here),
# and the PIN's first 4 digits. psec's CVV keeps only decimal digits (no A-F fallback).


def visa_pvv(pvk: bytes, account12: str, pvki: int, pin: str) -> str:
    """The Visa PVV (4 digits) of `pin` under the clear PVK pair, for the 12-digit account field."""
    return psec.pin.generate_visa_pvv(pvk, str(pvki), pin[:4], account12 + "0")


def visa_cvv(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    """The Visa CVV (3 digits) under the clear CVK pair (CVV2: service code 000, iCVV: 999)."""
    return psec.cvv.generate_cvv(cvk, pan, expiry, service_code)


# --- dynamic CVV and CVC3 for PM ---
#
# pyemv derives the card's key (EMV Option A/B; Option B falls back to A for PANs of 16
# digits or fewer, as EMV Book 2 A1.4.2 says) and computes CVC3; the Visa dCVV is psec's CVV
# under that key with the ATC's four digits in place of the PAN's first four.


def icc_key(mk: bytes, method: str, pan: str, psn: str) -> bytes:
    derive = pyemv.kd.derive_icc_mk_a if method == "A" else pyemv.kd.derive_icc_mk_b
    return bytes(derive(mk, pan, psn))


def dcvv(mk: bytes, method: str, pan: str, expiry: str, service_code: str, atc4: str) -> str:
    return str(psec.cvv.generate_cvv(icc_key(mk, method, pan, "00"), atc4 + pan[4:], expiry, service_code))


def cvc3(mk: bytes, method: str, pan: str, psn: str, track: bytes, un: bytes, atc: int) -> str:
    """Five digits (pyemv returns the number without leading zeros)."""
    return str(pyemv.cvv.generate_cvc3(icc_key(mk, method, pan, psn), track, atc.to_bytes(2, "big"), un)).zfill(5)


# --- EMV ARQC verification and ARPC generation for KQ KW ---
#
# pyemv (kd, ac) restated per method: the card's key is icc_key above; session keys: none (Visa
# CVN 10: the card key), M/Chip's own (ATC · 0000 · UN into derive_common_sk, which sets byte 2
# to F0 / 0F), the EMV common session key (ATC · six zero bytes), the EMV2000 tree (EMV 4.1 Book 2
# A1.3, branch factor 2 height 16 or 4 and 8, with the IV). The ARQC is ISO 9797-1 MAC algorithm 3
# with zero padding (pyemv's VISA padding: the host adds any 80 itself).


def emv_session_key(card_key: bytes, method: str, atc: bytes, un: bytes = b"", iv: bytes = bytes(16)) -> bytes:
    if method == "none":
        return card_key
    if method == "mchip":
        return bytes(pyemv.kd.derive_common_sk(card_key, atc + bytes(2) + un))
    if method == "common":
        return bytes(pyemv.kd.derive_common_sk(card_key, atc + bytes(6)))
    branch, height = {"tree-2-16": (2, 16), "tree-4-8": (4, 8)}[method]
    return bytes(pyemv.kd.derive_emv2000_tree_sk(card_key, atc, height, branch, iv))


def emv_arqc(session_key: bytes, data: bytes) -> bytes:
    return bytes(pyemv.ac.generate_ac(session_key, data, pyemv.ac.PaddingType.VISA))


def emv_arpc_1(key: bytes, arqc: bytes, arc: bytes) -> bytes:
    return bytes(pyemv.ac.generate_arpc_1(key, arqc, arc))


def emv_arpc_2(key: bytes, arqc: bytes, csu: bytes, proprietary: bytes = b"") -> bytes:
    return bytes(pyemv.ac.generate_arpc_2(key, arqc, csu, proprietary or None))


# --- DUKPT for CI G0 GO GQ GW (ANSI X9.24-1) ---
#
# Written out from ANSI X9.24-1 (2004 Annex A for TDES; 1998 for the single-DES key CI uses),
# with psec.des only. The KSN is 10 bytes (a shorter one padded on the left with F); its
# rightmost 21 bits are the transaction counter.
# - Initial key (IPEK): TDES-encrypt the KSN's leftmost 8 bytes with the counter bits cleared,
#   under the BDK (left half) and under BDK xor C0C0C0C000000000C0C0C0C000000000 (right half).
# - For each counter bit set, from the most significant: set that bit in the register
#   R (the KSN's rightmost 8 bytes, counter cleared, then the bits so far) and replace the
#   key by the non-reversible function of R: TDES: right = DES_KL(R xor KR) xor KR and left =
#   the same under K xor C0C0..; single DES (1998): K = DES_K(R xor K) xor K.
# - Working keys are variants: PIN ..FF in bytes 7 (and 15); MAC request ..FF00 in bytes 6 and 14.
# - Single-DES DUKPT encrypts the PIN block "whitened": DES_K(P xor K) xor K.

_DUKPT_C0 = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
_DUKPT_VARIANTS = {
    "pin": bytes.fromhex("00000000000000FF00000000000000FF"),
    "mac-request": bytes.fromhex("000000000000FF00000000000000FF00"),
}


def _dukpt_xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _dukpt_des(key8: bytes, block: bytes) -> bytes:
    return psec.des.encrypt_tdes_ecb(key8 * 2, block)


def _dukpt_ksn(ksn_hex: str) -> int:
    return int(ksn_hex.rjust(20, "F"), 16)


def dukpt_ipek(bdk: bytes, ksn_hex: str) -> bytes:
    """The initial key (16 bytes) of a terminal from the BDK (double length) and its KSN."""
    base = ((_dukpt_ksn(ksn_hex) & ~0x1FFFFF) >> 16).to_bytes(8, "big")  # the leftmost 8 bytes, counter cleared
    bdk = bdk[:16]
    return psec.des.encrypt_tdes_ecb(bdk, base) + psec.des.encrypt_tdes_ecb(_dukpt_xor(bdk, _DUKPT_C0), base)


def _dukpt_registers(ksn_hex: str) -> list[bytes]:
    ksn = _dukpt_ksn(ksn_hex) & ((1 << 64) - 1)
    counter, register = ksn & 0x1FFFFF, ksn & ~0x1FFFFF
    out = []
    for bit in reversed(range(21)):
        if counter & (1 << bit):
            register |= 1 << bit
            out.append(register.to_bytes(8, "big"))
    return out


def dukpt_key(bdk: bytes, ksn_hex: str, usage: str = "") -> bytes:
    """The TDES DUKPT key of the KSN (16 bytes), with the `usage` variant (pin, mac-request) or none."""
    key = dukpt_ipek(bdk, ksn_hex)
    for register in _dukpt_registers(ksn_hex):
        left, right = key[:8], key[8:]
        new_right = _dukpt_xor(_dukpt_des(left, _dukpt_xor(register, right)), right)
        c_left, c_right = _dukpt_xor(left, _DUKPT_C0[:8]), _dukpt_xor(right, _DUKPT_C0[8:])
        new_left = _dukpt_xor(_dukpt_des(c_left, _dukpt_xor(register, c_right)), c_right)
        key = new_left + new_right
    return _dukpt_xor(key, _DUKPT_VARIANTS[usage]) if usage else key


def dukpt_des_pin_key(bdk: bytes, ksn_hex: str) -> bytes:
    """The single-DES DUKPT PIN key (X9.24-1:1998, 8 bytes): the IPEK's left half stepped with DES."""
    key = dukpt_ipek(bdk, ksn_hex)[:8]
    for register in _dukpt_registers(ksn_hex):
        key = _dukpt_xor(_dukpt_des(key, _dukpt_xor(register, key)), key)
    return _dukpt_xor(key, bytes.fromhex("00000000000000FF"))


def dukpt_encrypt_block(bdk: bytes, ksn_hex: str, clear_hex: str, *, single_des: bool = False) -> str:
    """A clear PIN block (16 H) encrypted under the KSN's DUKPT PIN key (TDES, or single DES whitened)."""
    clear = bytes.fromhex(clear_hex)
    if single_des:
        key = dukpt_des_pin_key(bdk, ksn_hex)
        return _dukpt_xor(_dukpt_des(key, _dukpt_xor(clear, key)), key).hex().upper()
    return psec.des.encrypt_tdes_ecb(dukpt_key(bdk, ksn_hex, "pin"), clear).hex().upper()


def dukpt_pinblock(bdk: bytes, ksn_hex: str, pin: str, account12: str, *, single_des: bool = False) -> str:
    """A terminal's ISO 9564 format 0 PIN block (16 H) under its DUKPT PIN key."""
    clear = psec.pinblock.encode_pinblock_iso_0(pin, account12 + "0").hex().upper()
    return dukpt_encrypt_block(bdk, ksn_hex, clear, single_des=single_des)


def dukpt_mac(bdk: bytes, ksn_hex: str, data: bytes) -> str:
    """ANSI X9.19 MAC (16 H, zero padding) under the DUKPT MAC request key of the KSN."""
    key = dukpt_key(bdk, ksn_hex, "mac-request")
    return psec.mac.generate_retail_mac(key[:8], key[8:], data, 1).hex().upper()


# --- data blocks and hashes for M0 M2 M4 GM ---
#
# TDES in ECB and CBC is psec's; CFB (FIPS 81 / SP 800-38A) is written out over psec's ECB:
# CFB64 encrypts the previous ciphertext block (the IV first) and XORs it with the next 8 bytes;
# CFB8 does the same a byte at a time, shifting each ciphertext byte into an 8-byte register.
# A single-length key is single DES: TDES with K1 = K2 = K3.
# The DUKPT data key (ANSI X9.24-1:2009 A.4.1): the terminal's key (dukpt_key above, no variant)
# XORed with 0000000000FF0000 in each half ("data encryption, request or both ways"), then each
# half TDES-encrypted under that variant key itself.
# Hashes are hashlib's; MDC-2 has no oracle here (the GM test uses its published vector).

_DATA_REQUEST_VARIANT = bytes.fromhex("0000000000FF00000000000000FF0000")


def _data_tdes(key: bytes) -> bytes:
    return key * 3 if len(key) == 8 else key


def _data_cfb(key: bytes, iv: bytes, data: bytes, *, encrypt: bool, segment: int) -> bytes:
    register, out = iv, bytearray()
    for i in range(0, len(data), segment):
        chunk = data[i : i + segment]
        stream = psec.des.encrypt_tdes_ecb(key, register)[: len(chunk)]
        result = bytes(a ^ b for a, b in zip(chunk, stream, strict=True))
        out += result
        register = (register + (result if encrypt else chunk))[-8:]
    return bytes(out)


def _ofb(encrypt_block: Callable[[bytes], bytes], iv: bytes, data: bytes) -> bytes:
    """OFB (NIST SP 800-38A 6.4): the keystream is the IV encrypted again and again; the same both ways."""
    register, out = iv, bytearray()
    for i in range(0, len(data), len(iv)):
        register = encrypt_block(register)
        out += bytes(a ^ b for a, b in zip(data[i : i + len(iv)], register, strict=False))
    return bytes(out)


def data_crypt(key: bytes, mode: str, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """`data` encrypted (or decrypted) under the clear key in ECB, CBC, CFB8, CFB64 or OFB."""
    key = _data_tdes(key)
    if mode == "OFB":
        return _ofb(lambda block: psec.des.encrypt_tdes_ecb(key, block), iv, data)
    if mode == "ECB":
        return (psec.des.encrypt_tdes_ecb if encrypt else psec.des.decrypt_tdes_ecb)(key, data)
    if mode == "CBC":
        return (psec.des.encrypt_tdes_cbc if encrypt else psec.des.decrypt_tdes_cbc)(key, iv, data)
    return _data_cfb(key, iv, data, encrypt=encrypt, segment=1 if mode == "CFB8" else 8)


def dukpt_data_variant(bdk: bytes, ksn_hex: str) -> bytes:
    """The DUKPT key of the KSN XORed with the data (request or both ways) variant."""
    return _dukpt_xor(dukpt_key(bdk, ksn_hex), _DATA_REQUEST_VARIANT)


def dukpt_data_key(bdk: bytes, ksn_hex: str) -> bytes:
    """The DUKPT data encryption key (16 bytes): the data variant, TDES-encrypted under itself."""
    variant = dukpt_data_variant(bdk, ksn_hex)
    return psec.des.encrypt_tdes_ecb(variant, variant)


# --- MACs for MA MC ME MS M6 M8 MY ---
#
# ISO 9797-1 with DES (ANSI X9.9 = MAC algorithm 1 under a single-length key, ANSI X9.19 = MAC
# algorithm 3 under a double-length key): psec's generate_cbc_mac (algorithm 1, TDES CBC: a
# single-length key is single DES) and generate_retail_mac (algorithm 3). Neither chains across
# requests, so a message MACed in blocks is rebuilt here from psec.des CBC: the chaining value is
# the last CBC block (algorithm 3 chains with single DES under the left key half), and the final
# block of algorithm 3 is decrypted under the right half and encrypted under the left.


def _mac_tdes(key: bytes) -> bytes:
    return key if len(key) > 8 else key * 2


def mac_iso9797(key: bytes, algorithm: int, padding: int, data: bytes) -> str:
    """The full MAC block (16 H) of `data` under the clear `key`, zero IV; padding 0 = whole blocks as they are."""
    if padding == 0:
        assert data and len(data) % 8 == 0
        padding = 1  # method 1 adds nothing to whole blocks
    if algorithm == 1:
        return psec.mac.generate_cbc_mac(_mac_tdes(key), data, padding).hex().upper()
    return psec.mac.generate_retail_mac(key[:8], key[8:16], data, padding).hex().upper()


def mac_chain(key: bytes, algorithm: int, iv: bytes, blocks: bytes) -> bytes:
    """The CBC chaining value after whole `blocks` from `iv` (algorithm 3: single DES under the left half)."""
    chaining_key = _mac_tdes(key) if algorithm == 1 else key[:8] * 2
    return psec.des.encrypt_tdes_cbc(chaining_key, iv, blocks)[-8:]


def mac_finish(key: bytes, algorithm: int, state: bytes) -> bytes:
    """Algorithm 3's output transformation of the last chaining value: decrypt under K2, encrypt under K1."""
    if algorithm == 1:
        return state
    return psec.des.encrypt_tdes_ecb(key[:8] * 2, psec.des.decrypt_tdes_ecb(key[8:16] * 2, state))


# --- RSA public keys and their MAC for EI EO EW EY GK GI ---
#
# A public key as EJ, EP and the RSA commands carry it: DER SEQUENCE { INTEGER modulus, INTEGER
# exponent }, the INTEGERs unsigned (encoding 01: no leading zero before a set top bit, as a real
# EJ shows) or in two's complement (02: strict DER, what OpenSSL reads). Read and written here by
# hand. The MAC on a public key (EO's answer, EY/GK's input) is ISO/IEC 9797-1 MAC algorithm 3,
# padding method 1, zero IV, under LMK pair 36-37 (pair code 0D) without variant, over the key
# and the authentication data: its leftmost 4 bytes (the manual's EQ/EU examples).


def _der_element(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """The contents of the DER element of `tag` at `pos`, and where it ends."""
    assert data[pos] == tag, f"tag {data[pos]:02X} at {pos}, {tag:02X} expected"
    length, pos = data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
    assert pos + length <= len(data), "DER element runs past the data"
    return data[pos : pos + length], pos + length


def rsa_public_numbers(der: bytes) -> tuple[int, int]:
    """(modulus, exponent) of a public key DER in either encoding; it must be the whole of `der`."""
    body, end = _der_element(der, 0, 0x30)
    assert end == len(der), "bytes after the public key"
    modulus, pos = _der_element(body, 0, 0x02)
    exponent, pos = _der_element(body, pos, 0x02)
    assert pos == len(body), "more than two INTEGERs"
    return int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big")


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets


def rsa_der(modulus: int, exponent: int, *, unsigned: bool) -> bytes:
    """The public key DER: encoding 01 (`unsigned`) or 02 (two's complement, a leading 00 before a set top bit)."""
    integers = b""
    for value in (modulus, exponent):
        content = value.to_bytes((value.bit_length() + 7) // 8, "big")
        if not unsigned and content[0] & 0x80:
            content = b"\x00" + content
        integers += _der_header(0x02, len(content)) + content
    return _der_header(0x30, len(integers)) + integers


def public_key_mac(der: bytes, auth_data: bytes = b"") -> str:
    """The MAC (8 H) on a public key and its authentication data under the test LMK's pair 36-37."""
    return mac_iso9797(bytes.fromhex(TEST_LMK_PAIRS["0D"]), 3, 1, der + auth_data)[:8]


# --------------------------------------------------------------------------- AES (key-block LMKs)
# Written again from the standards: NIST SP 800-38B (CMAC), ISO 9564-1:2017 format 4 (psec),
# ANSI X9.24-3-2017 section 6 (AES DUKPT).


def aes_cmac(key: bytes, data: bytes) -> str:
    """AES-CMAC, 32 H, by `cryptography`."""
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize().hex().upper()


def aes_crypt(key: bytes, mode: str, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """AES ECB, CBC or OFB by psec."""
    if mode == "OFB":
        return _ofb(lambda block: psec.aes.encrypt_aes_ecb(key, block), iv, data)
    if mode == "ECB":
        return psec.aes.encrypt_aes_ecb(key, data) if encrypt else psec.aes.decrypt_aes_ecb(key, data)
    return psec.aes.encrypt_aes_cbc(key, iv, data) if encrypt else psec.aes.decrypt_aes_cbc(key, iv, data)


def iso4_encrypt(key: bytes, pin: str, pan: str) -> str:
    return psec.pinblock.encipher_pinblock_iso_4(key, pin, pan).hex().upper()


def iso4_decrypt(key: bytes, block: str, pan: str) -> str:
    return psec.pinblock.decipher_pinblock_iso_4(key, bytes.fromhex(block), pan)


# X9.24-3 key usage indicators (table 2) and the derived key's algorithm codes (table 3).
_AES_DUKPT_USAGE = {"derivation": 0x8000, "initial": 0x8001, "pin": 0x1000, "mac-request": 0x2000, "mac-response": 0x2001,
                    "data-request": 0x3000, "data-response": 0x3001}  # fmt: skip
_AES_DUKPT_ALGORITHM = {16: 0x0002, 24: 0x0003, 32: 0x0004}


def _aes_dukpt_derive(key: bytes, usage: str, length: int, tail: bytes) -> bytes:
    out = b""
    counter = 1
    while len(out) < length:
        data = struct.pack(">BBHHH", 1, counter, _AES_DUKPT_USAGE[usage], _AES_DUKPT_ALGORITHM[length], length * 8) + tail
        out += psec.aes.encrypt_aes_ecb(key, data)
        counter += 1
    return out[:length]


def aes_dukpt_key(bdk: bytes, ksn_hex: str, usage: str) -> bytes:
    """An AES DUKPT working key of the same length as the BDK, for a 24 H KSN."""
    ksn = bytes.fromhex(ksn_hex)
    ikid, counter = ksn[:8], int.from_bytes(ksn[8:], "big")
    key = _aes_dukpt_derive(bdk, "initial", len(bdk), ikid)
    mask = 0
    for bit in [1 << n for n in reversed(range(32))]:
        if counter & bit:
            mask |= bit
            key = _aes_dukpt_derive(key, "derivation", len(bdk), ikid[4:] + mask.to_bytes(4, "big"))
    return _aes_dukpt_derive(key, usage, len(bdk), ikid[4:] + counter.to_bytes(4, "big"))
