"""GK — Export a DES key under an RSA public key.

A DES key held under the LMK is encrypted under another party's RSA public
key, imported with EO: the public key comes with the MAC EO gave it.

Request:  GK · encryption identifier (2 N: 01 RSA)
          · pad mode identifier (2 N: 01 PKCS#1 v1.5, 02 OAEP)
          · [mask generation function (2 N: 01 MGF1) · MGF hash function (2 N: 01 SHA-1)
            · OAEP encoding parameters length (2 N) · OAEP encoding parameters (n B) · ";":
            pad mode 02 only]
          · key type (4 N: first number of the LMK pair and variant, e.g. 0600 ZPK, 1400 TMK)
          · DES key flag (1 N: 0 single, 1 double, 2 triple length)
          · DES key (16 H; 32 H or U/X + 32 H; T/Y + 48 H: under the LMK pair of the key type)
          · check value (16 H: of the DES key)
          · MAC (4 B: EO's, on the public key and authentication data, under LMK pair 36-37)
          · public key (n B: DER SEQUENCE { modulus, exponent }, either encoding)
          · [authentication data (n A, as given to EO)] · [%nn LMK identifier]
Response: GL 00 · initialisation value (16 H) · encrypted key length (4 N: bytes)
          · encrypted key (n B: the modulus' length)

Under a key-block LMK (since 1.1.0) the key and the public key are key blocks:
Request:  GK · encryption identifier · pad mode · [OAEP fields] · key type ("FFFF")
          · DES key flag (1 N) · DES key ("S" + a key block; its length field delimits it)
          · check value (16 H) · public key ("S" + EO's key block) · [%nn LMK identifier]
Response: as above.

The key type is mapped to hsmd's key type code (variant digit and LMK pair
code): 0400 ZMK 000, 0600 ZPK 001, 1400 TMK/TPK/PVK 002, 1404 CVK 402, 1600
TAK 003, 2600 ZAK 008, 2800 BDK 009, 3000 ZEK 00A, 3200 DEK 00B. The OAEP
encoding parameters are the OAEP label; the hash inside OAEP is SHA-1. Both
paddings are randomised: the same request gives a different encrypted key
each time, which the other party's private key decrypts to the same key.

hsmd's choices (no public source gives GL's errors or what the initialisation
value holds): the initialisation value is 16 zeros; a check value that is
not the key's is 01, the code of a verification failure, as is a MAC that
does not verify; an unknown encryption identifier is 15; a key too long for
the modulus with its padding is 76. This is the older manual's layout: the
newer one's signature over the encrypted key (`=` fields), HMAC keys (key
type 3401) and key block types (01-03, after the authentication data) are
not supported. Authentication data ending in "%" and two digits reads as an
LMK identifier.

The key-block form is metalcorpe/payshield-rest-gopher's (key type "FFFF",
the public key without a MAC); that the public key field then holds EO's
block is hsmd's reading, as no public source shows a unit's GK frame in this
form. The public key block must be usage 02, algorithm R and mode of use E
or N (A6, A7, A8: V is for verifying, EY); the key's block must allow export
(A0's exportability: N never leaves, E only under a trusted key, so only S:
AA otherwise). A key data block type after the public key (";" + 2 N) is
not supported (15), as in the variant form.

Errors: 01 MAC on the public key, or check value · 04 key type (no LMK
pair code, variant over 9, not in the key type table), public key not DER ·
05 DES key flag · 07 pad mode · 10 DES key parity · 13 LMK identifier · 15
malformed field (key field not as long as the flag says, check value,
OAEP fields, encryption identifier) · 76 modulus outside 320-4096 bits, or
the key does not fit it · 85 MGF · 86 MGF hash. Bytes after the public key
are authentication data: a wrong one fails the MAC (01).

Sources: payShield host command reference, "Export a DES Key" (GK: the layout
above, DES key flag, check value 16 H, MAC under LMK pair 36-37, DER public
key, authentication data) and "Export Key under RSA Public Key" (pad modes
01/02, the OAEP fields and their ";", key type "LMK pair and variant", no
authorised state); an HPS PowerCARD client, hps_gen_key.c `ExportKeyUnderRSA`
(key type 1400 for a TMK, DES key flag 1, and GL read as initialisation
value 16 H · encrypted key length 4 N · encrypted key n B) and hsm_inc.h
(encryption identifier 01 RSA); shared/reference/payshield.md "Variant LMK"
(pair codes); metalcorpe/payshield-rest-gopher engine/command.go (the
key-block request: key type "FFFF", commit 9fc713f "GK and EO fixes"). Vectors in tests/test_cmd_gk.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle
from hsmd_sdk.asymmetric import Transport, read_key_type, read_public_key, read_transport

from logic.ei import read_block
from logic.ey import public_key_block_follows

COMMAND = "GK"
VERSION = "1.2.0"

INITIALISATION_VALUE: Final = b"0" * 16
SCHEMES_BY_FLAG: Final = {"0": (b"",), "1": (b"", b"U", b"X"), "2": (b"T", b"Y")}
DIGITS_BY_FLAG: Final = {"0": 16, "1": 32, "2": 48}
KEY_BLOCK_TYPE: Final = b"FFFF"  # the key type field of the key-block form
KEY_BLOCK_KEY_TYPE: Final = "FFF"  # hsmd's key type code of a key whose block header says what it is


def read_des_key(fields: Fields) -> str:
    """DES key flag (1 N, 05) and the key field it announces: 16 H, 32 H or U/X + 32 H, T/Y + 48 H."""
    flag = fields.fixed(1, error="05", what="DES key flag").decode("latin-1")
    schemes = SCHEMES_BY_FLAG.get(flag)
    if schemes is None:
        raise HsmError("05", f"DES key flag {flag!r} not 0, 1 or 2")
    scheme = fields.peek(1).upper()
    if scheme not in (b"U", b"X", b"T", b"Y"):
        scheme = b""
    if scheme not in schemes:
        raise HsmError("15", f"a key in scheme {scheme.decode() or 'Z/X (bare)'} is not what DES key flag {flag} announces")
    letter = fields.fixed(len(scheme)).decode("ascii").upper()
    return letter + fields.hex(DIGITS_BY_FLAG[flag], what="DES key")


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    transport = read_transport(fields)
    if fields.optional(KEY_BLOCK_TYPE):
        return _export_key_block(fields, hsm, transport)
    key_type = read_key_type(fields)
    key_field = read_des_key(fields)
    check_value = fields.hex(16, what="check value")
    mac = fields.fixed(4, what="MAC")
    public_key = read_public_key(fields)
    auth_data = fields.before(0, what="authentication data")
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    if hsm.key_check_value(key) != check_value:
        raise HsmError("01", "check value is not the DES key's")
    public = hsm.public_key_from_mac(mac.hex().upper(), (public_key + auth_data).hex().upper(), lmk_id)
    return _encrypted(hsm, public, key, transport)


def _export_key_block(fields: Fields, hsm: Hsm, transport: Transport) -> bytes:
    """The key-block form: the key and the public key are "S" blocks; no MAC."""
    flag = fields.fixed(1, error="05", what="DES key flag").decode("latin-1")
    if flag not in SCHEMES_BY_FLAG:
        raise HsmError("05", f"DES key flag {flag!r} not 0, 1 or 2")
    key_field = fields.key_block(what="DES key")
    check_value = fields.hex(16, what="check value")
    if not public_key_block_follows(fields):
        raise HsmError("15", "public key: no key block")
    public_key = read_block(fields, error="15", what="public key")
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.key_from_lmk(KEY_BLOCK_KEY_TYPE, key_field, lmk_id)
    if hsm.key_check_value(key) != check_value:
        raise HsmError("01", "check value is not the DES key's")
    public = hsm.public_key_from_block(public_key, "encrypt", lmk_id)
    return _encrypted(hsm, public, key, transport)


def _encrypted(hsm: Hsm, public: KeyHandle, key: KeyHandle, transport: Transport) -> bytes:
    encrypted = bytes.fromhex(hsm.key_to_public_key(public, key, transport.text, transport.oaep_parameters.hex().upper()))
    return INITIALISATION_VALUE + f"{len(encrypted):04d}".encode("ascii") + encrypted
