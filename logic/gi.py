"""GI — Import a DES key encrypted under an RSA public key.

A DES key another party encrypted under this unit's RSA public key (EI's) is
decrypted with the private key, held under the LMK, and stored under the LMK
pair of its key type.

Request:  GI · encryption identifier (2 N: 01 RSA)
          · pad mode identifier (2 N: 01 PKCS#1 v1.5, 02 OAEP)
          · [mask generation function (2 N: 01 MGF1) · MGF hash function (2 N: 01 SHA-1)
            · OAEP encoding parameters length (2 N) · OAEP encoding parameters (n B) · ";":
            pad mode 02 only]
          · key type (4 N: first number of the LMK pair and variant, e.g. 0600 ZPK, 1400 TMK)
          · encrypted key length (4 N: bytes) · encrypted key (n B) · ";"
          · private key flag (2 N: 99, the key follows) · private key length (4 N: bytes)
          · private key (n B, under LMK pair 34-35) · [%nn LMK identifier]
Response: GJ 00 · DES key (16 H, U + 32 H or T + 48 H: under the LMK pair of the key type)
          · check value (16 H)

The key type is mapped to hsmd's key type code as in GK (0600 ZPK 001, 1400
002, 1404 CVK 402, …). The decrypted block must be a single, double or
triple length key (8, 16 or 24 bytes: 77 otherwise); it goes under the LMK in
scheme Z, U or T by its length. A key whose parity is not odd is stored
parity-adjusted and answered with 01 (advice, the fields follow), as A6 does.
The private key must allow key management: key type indicator 1 or 2 (03).
Bad PKCS#1 v1.5 padding and a wrong OAEP label are not told apart from a
block of the wrong length (77): a unit that tells them apart is an oracle.

hsmd's choices (no public source gives GJ's layout or GI's errors): the
answer is the key and its 16 H check value; an unknown encryption identifier
is 15, an encrypted key not as long as the modulus 76, an encrypted key
shorter than its length or without the ";" after it 15; private key flags
00-20 (EK's user storage, which hsmd does not have) are 12. The newer
manual's signature fields (`=`), HMAC keys (3401) and key block types are not
supported.

Errors: 01 parity advice · 03 the key does not allow key management · 04
key type, private key flag · 07 pad mode · 12 a user storage index as flag ·
13 LMK identifier · 15 malformed field, trailing data · 49 private key does
not authenticate under this LMK · 76 encrypted key length · 77 decrypted
block is not a key · 78 private key length · 85 MGF · 86 MGF hash.

Sources: payShield host command reference, "Import a DES Key" (GI: the layout
above, the secret key flag 99 and its length, LMK pair 34-35) and "Import Key
under RSA Public Key" (pad modes 01/02, the OAEP fields and their ";", key
type "LMK pair and variant"); an HPS PowerCARD client hsm_inc.h (encryption
identifier 01, pad modes 01/02); "Import a Key" (A6: parity advice 01 with
the fields); shared/reference/payshield.md "Variant LMK" (pair codes).
Vectors in tests/test_cmd_gi.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.asymmetric import read_data, read_key_type, read_private_key, read_transport
from hsmd_sdk.keys import DEFAULT_SCHEME

COMMAND = "GI"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    transport = read_transport(fields)
    key_type = read_key_type(fields)
    encrypted = read_data(fields, what="encrypted key", error="15")
    private_key = read_private_key(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    private = hsm.private_key_from_lmk(private_key.hex().upper(), lmk_id)
    key = hsm.key_from_public_key(private, key_type, encrypted.hex().upper(), transport.text, transport.oaep_parameters.hex().upper())
    info = hsm.key_info(key)
    answer = hsm.key_to_lmk(key, DEFAULT_SCHEME[info.length], lmk_id).encode("ascii") + hsm.key_check_value(key).encode("ascii")
    return answer if info.odd_parity else Reply("01", answer)
