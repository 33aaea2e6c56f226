"""Key-block test material: an independent reader of Thales key blocks (versions '0' and '1'; `cryptography`
only, no hsmd code), the real-unit blocks the tests share, and a host with the public test LMKs of each kind.

Constructions as /tmp/research's keyblock notes reproduced them against real-unit traces
(ut-codec-payshield, version '0') and EFTlab BP-Tools output (CryptoCarver, chhil/TR31Keyblock,
version '1'):
- '0': KBEK = KBPK xor 45.., KBAK = KBPK xor 4D..; TDES-CBC with IV = header[0:8]; authenticator =
  TDES CBC-MAC (zero IV) over header + encrypted data, first 4 bytes.
- '1': KBEK/KBAK by the X9.143 (TR-31 D) AES-CMAC derivation; AES-CBC with IV = header[0:16];
  authenticator = AES-CMAC over header + encrypted data, first 8 bytes.
TR-31 blocks are read with psec.tr31 instead (tests call it directly).
"""

from __future__ import annotations

import base64

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES

FIRMWARE = "0007-E000"
K3 = TEST_KEYBLOCK_LMK_3DES.key
KA = TEST_KEYBLOCK_LMK_AES.key

# REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js, test/config/test.js): blocks a payShield 10K
# returned under its LMK 01, the public 3DES key-block test LMK, and their clear keys.
ZMK_1 = "S00072K0TB00E0001DB045F29C053EEFF7B9425B3A88C7258EB7EA7E40E2C47878647072A"
ZMK_1_CLEAR = bytes.fromhex("642C7904A4D5C238CD6E7A9D76D36449")
ZPK_1 = "S00072P0TB00E0001EA421618B34F5FA1A77F7CF6480111B97CF0FAE7BD77D589EC921EF9"
ZPK_1_CLEAR = bytes.fromhex("98519E45CBB9291F49EFAD4AFEFDDC79")
ZPK_1_UNDER_ZMK_1 = "S00072P0TB00N00FFE1D89671C973C7F0DAF91CB2EBF379493C08975679001172C89A0AF8"  # importKey 2
ZPK_1_EXPORTED = "S00072P0TB00N00FFE1D89671C973C7F0DAF91CB2EBF37949D811004295CF66B6AF9CF6A8"  # exportKeyDecode 2
CVK = "S00072C0TN00E0001A417975993E2331918759DD1656AC94306BE01C19FDE29E83A93AB42"
CVK_CLEAR = bytes.fromhex("5179BFD6894C8937EFA1AD3BB9F2A17F")
TAK = "S00072M1TN00E0001FFE01E95CF21BDD0D74B6BEB70E3D90842C137DCA39C1B162C6238D5"
BDK = "S00072B0TN00E0001566678078B5337915F4860C92F3FF2D6A6B11E8786F22DC8032EB758"
# BP-Tools (CryptoCarver ThalesKeyBlockAesTest.java): a BDK (key 000102…0F) under the AES test LMK, LMK identifier 02.
AES_LMK_BDK = "S10096B0TN00E0002F21247ABCAF1AAB60415020B95858FA2D3D35DCE0B9CA675739A1C6EC367061107D66472D5097626"


def make_host(default: int = 0) -> Host:
    """LMK 00 the variant test LMK, 01 the 3DES key-block test LMK (as on the ut-codec-payshield unit), 02 the AES one."""
    return Host(LmkSet({0: TEST_LMK, 1: TEST_KEYBLOCK_LMK_3DES, 2: TEST_KEYBLOCK_LMK_AES}, default=default), FIRMWARE)


def _tdes(key: bytes) -> bytes:
    return key + key[:8] if len(key) == 16 else key


def _aes_cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def _aes_derive(kbpk: bytes) -> tuple[bytes, bytes]:
    algorithm = {16: 2, 24: 3, 32: 4}[len(kbpk)]
    bits = (len(kbpk) * 8).to_bytes(2, "big")
    out = []
    for usage in (0, 1):
        stream = b"".join(_aes_cmac(kbpk, bytes([i, 0, usage, 0, 0, algorithm]) + bits) for i in range(1, len(kbpk) // 16 + 2))
        out.append(stream[: len(kbpk)])
    return out[0], out[1]


def header_length(block: str) -> int:
    """Characters of the header with its optional blocks (block without its tag)."""
    at = 16
    for _ in range(int(block[12:14])):
        at += int(block[at + 2 : at + 4], 16)
    return at


def open_block(kbpk: bytes, field: str) -> tuple[str, bytes]:
    """(header with optional blocks, clear key) of 'S' + a Thales block; AssertionError if it does not authenticate."""
    assert field[0] == "S", field
    block = field[1:]
    assert int(block[1:5]) == len(block)
    head_len = header_length(block)
    mac_hex = 8 if block[0] == "0" else 16
    encrypted, mac = bytes.fromhex(block[head_len:-mac_hex]), bytes.fromhex(block[-mac_hex:])
    payload = _authenticate_and_decrypt(kbpk, block[:head_len], encrypted, mac)
    bits = int.from_bytes(payload[:2], "big")
    return block[:head_len], payload[2 : 2 + bits // 8]


def _authenticate_and_decrypt(kbpk: bytes, header: str, encrypted: bytes, mac: bytes) -> bytes:
    """A Thales block's key data in the clear (version 0: TDES under the LMK's 45/4D variants; 1: AES,
    CMAC-derived keys); AssertionError if its authenticator does not verify."""
    head, version = header.encode("ascii"), header[0]
    if version == "0":
        kbek, kbak = bytes(b ^ 0x45 for b in kbpk), bytes(b ^ 0x4D for b in kbpk)
        enc = Cipher(TripleDES(_tdes(kbak)), modes.CBC(bytes(8))).encryptor()
        assert (enc.update(head + encrypted) + enc.finalize())[-8:][:4] == mac, "authenticator"
        dec = Cipher(TripleDES(_tdes(kbek)), modes.CBC(head[:8])).decryptor()
    else:
        assert version == "1", version
        kbek, kbak = _aes_derive(kbpk)
        assert _aes_cmac(kbak, head + encrypted)[:8] == mac, "authenticator"
        dec = Cipher(algorithms.AES(kbek), modes.CBC(head[:16])).decryptor()
    return dec.update(encrypted) + dec.finalize()


def open_binary_block(kbpk: bytes, field: str) -> tuple[str, bytes]:
    """(header with optional blocks, clear key data with its padding) of 'S' + a Thales block whose key
    data is binary, as a 10K writes a private key (the field as text, one character per byte: latin-1);
    AssertionError if it does not authenticate."""
    assert field[0] == "S", field
    block = field[1:]
    assert int(block[1:5]) == len(block)
    head_len = header_length(block)
    mac_hex = 8 if block[0] == "0" else 16
    encrypted, mac = block[head_len:-mac_hex].encode("latin-1"), bytes.fromhex(block[-mac_hex:])
    return block[:head_len], _authenticate_and_decrypt(kbpk, block[:head_len], encrypted, mac)


def unit_rsa_key(data: bytes) -> rsa.RSAPrivateKey:
    """The RSA key in a 10K's private key block data: DER SEQUENCE { p, q, dp, dq, qinv } (padding after it)."""
    assert data[0] == 0x30
    pos = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
    values = []
    for _ in range(5):
        assert data[pos] == 0x02
        length, pos = data[pos + 1], pos + 2
        if length & 0x80:
            count = length & 0x7F
            length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
        values.append(int.from_bytes(data[pos : pos + length], "big"))
        pos += length
    p, q, dp, dq, qinv = values
    e = pow(dp, -1, p - 1)
    d = pow(e, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qinv, rsa.RSAPublicNumbers(e, p * q)).private_key()


# REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js, keyblock generateRsaKeyPair and
# generateRsaSignature): an RSA-2048 private key block a payShield 10K made under its LMK 01 (the 3DES
# key-block test LMK), as base64 of its bytes, and its PKCS#1 v1.5 SHA-256 signature of ABCBAB (hex).
UNIT_RSA_BLOCK = base64.b64decode(
    "UzAwNjg4MDNSUzAwTjAwMDE6yHlp1+SCrzqgs8SY43N7cM42xJLgUW4w3CZBLB6vyQbYo//SxRe/F6xeITgxNVCNRO/3pj9eUZb1"
    "4YSe98N2ZUn0/t9nbA4AQ3c54/Avttg2x5K8HxYiX6720CK1jpTO7ekeMAFTc7Ats9YE9WFiSIwH+TvxMn/yZBqySLSHq45IWMjT"
    "FVX10dHegZ86QQHnRj6RysFX5btWSUvclXna/OSuRXh3NZBFqEfnmg/AZpKy4jS8ScZFB95U2NWHoEKoR2sVQof4a7o8/ANf0x6I"
    "Hp8EUXt/qoVnz6aP7Oem+UUG8jquw9a/dDj4OBnq3RLfgLI7jbJX7Inb4aY9KfK1/2v2plaq1v8hoqmhITknUM1G5E0CPV21za0J"
    "Dy+pIiBcLwxMMGdhJd7FuGr41yjzJJXdostpsgn2O1fq0ejN4MThBO8Dy7itudUmpayq1kyODeOeHggBk081U7vKw3i2lG0q0vVw"
    "qRgkIcMuIM/cM4UB+/BtHuCbF+OA77Ef2eTlwybjMtV3LPc5a2JexLOoY3UpiXmXwLOVtsztigCRzVx4v5woWzCu56C8HxbgwIOj"
    "L+QjIREZzq4KlXsC+2G0h0BB5IPxiCi9cimzANT9wF++H7nu19b3AaberBDnu/LoEfofMMc1rI4ctCY6kE9knT3IbNpdve3u9NpG"
    "/ObkhqMY8426OrV/8a/c2DmH94WwYMpUPl5LywYj+6izLOuSg4X3UcSdBsvvqjF5leaTdvHV6A3Aa0boazTnE4BzsRQ8w4MucyuC"
    "y8aKgHZofYyJUzFwJEhjZN4q2GJGkn8JnHxV8uAxtQXwU6nZYJ7kuO0KwU1YHZNDvjDMZGKOua8ebXUNHuZturLuVIjNm43Lp3Pq"
    "vI7JnUDPNzY0ODMxMEM="
)
UNIT_RSA_SIGNATURE = bytes.fromhex(
    "06552b758c8b52e1e16472f7ee717496a38b7c1ca6f9829c1eee5289fd6d773c507166421320f2954b449de2e10af31cd6029f30d47a3e5bc7ca2ab1dddc3860"
    "e6abcc88ac1d2142f4a1855cd6331be38acfd25fb71ed513cbae834b3fe760ba3ab077606fdaac8dc8039d3dc70dfe51e9bb5022b4612085eaa2aba0b96e036f"
    "1b4a656324715684b957b1b3dada7319e30f6a8ff09c9c6b8188fd4f430e472bb29b87aee5c96a3b93dcba7e8a5be108d211c3899719c0d23512824d23ba04df"
    "287c49c82b9b2657360916f6b493862f433f17dabd9cde0e989a4e7e56096faaf1c50c2aa9b228664cc94ff0de003ce99e9855ec20e45c6f1c662cdb29691b1b"
)


def aes_kcv(key: bytes) -> str:
    """AES check value: CMAC of a zero block (ANSI X9.24-1:2017 A.3), 6 H."""
    return _aes_cmac(key, bytes(16))[:3].hex().upper()


def seal_block(kbpk: bytes, header: str, key: bytes, lmk_id: str) -> str:
    """'S' + a version '1' Thales block of `key` under the AES key-block LMK `kbpk` (the inverse of `open_block`):
    `header` is usage, algorithm, mode of use, key version and exportability ("P0AB00N"), no optional blocks;
    the padding is zeros, so the block is the same on every run."""
    payload = (len(key) * 8).to_bytes(2, "big") + key
    payload += bytes(-len(payload) % 16)
    head = f"1{16 + 2 * len(payload) + 16:04d}{header}00{lmk_id}".encode("ascii")
    kbek, kbak = _aes_derive(kbpk)
    enc = Cipher(algorithms.AES(kbek), modes.CBC(head[:16])).encryptor()
    encrypted = enc.update(payload) + enc.finalize()
    return "S" + head.decode("ascii") + encrypted.hex().upper() + _aes_cmac(kbak, head + encrypted)[:8].hex().upper()


# The ANSI X9.24-3-2017 supplement's ISO 9564-1 format 4 worked example (tests/test_aes_host.py checks it against
# hsmd's host): transaction 1's PIN key, and its block of PIN 1234 bound to the PAN. Fixed, so a wrong-PAN check
# never meets a random fill that happens to decode. Under the AES test LMK (identifier 02) as a PIN key block.
X9243_PIN_KEY = bytes.fromhex("AF8CB133A78F8DC2D1359F18527593FB")
X9243_BLOCK = "A912150391AB65A67E52883D81CE2D15"  # fill 2F69ADDE2E9E7ACE
X9243_PAN = "4111111111111111"
X9243_PIN = "1234"
X9243_PIN_KEY_BLOCK = seal_block(KA, "P0AB00N", X9243_PIN_KEY, "02")
