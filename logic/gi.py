"""GI — Import a DES key encrypted under an RSA public key.

A DES key another party encrypted under this unit's RSA public key (EI's) is
decrypted with the private key, held under the LMK, and stored under the LMK
pair of its key type.

Request:  GI · encryption identifier (2 N: 01 RSA)
          · pad mode identifier (2 N: 01 PKCS#1 v1.5, 02 OAEP)
          · [mask generation function (2 N: 01 MGF1) · MGF hash function (2 N: 01 SHA-1)
            · OAEP encoding parameters length (2 N) · OAEP encoding parameters (n B) · ";":
            pad mode 02 only]
          · key type (4 N: first number of the LMK pair and variant, e.g. 0600 ZPK, 1400 TMK;
            FFFF: the key-block fields alone say what the key is)
          · encrypted key length (4 N: bytes) · encrypted key (n B) · ";"
          · private key flag (2 N: 99, the key follows) · private key length (4 N: bytes;
            "FFFF" for a key block) · private key (n B under LMK pair 34-35, or "S" + a
            Thales key block under a key-block LMK) · [%nn LMK identifier]
          · [key-block LMK: "#" · key usage (2 A) · mode of use (1 A) · key version number (2 N)
            · exportability (1 A) · number of optional blocks (2 N) · the optional blocks]
Response: GJ 00 · DES key (16 H, U + 32 H or T + 48 H: under the LMK pair of the key type;
          "S" + a key block under a key-block LMK) · check value (16 H)

The key type is mapped to hsmd's key type code as in GK (0600 ZPK 001, 1400
002, 1404 CVK 402, …). The decrypted block must be a single, double or
triple length key (8, 16 or 24 bytes: 77 otherwise); it goes under the LMK in
scheme Z, U or T by its length. A key whose parity is not odd is stored
parity-adjusted and answered with 01 (advice, the fields follow), as A6 does.
The private key must allow key management: key type indicator 1 or 2 (03).
Bad PKCS#1 v1.5 padding and a wrong OAEP label are not told apart from a
block of the wrong length (77): a unit that tells them apart is an oracle.

Under a key-block LMK the private key is EI's block ("99FFFF" + "S" + block,
the private key field EW takes); the host enforces its header: usage 03
(A6), algorithm R (A7), mode of use D or N (A8: a signature-only key, S, does
not unwrap), A4 if changed. The imported key goes under the LMK as a key
block whose header the "#" fields give (the fields key-to-kek takes for a
variant key leaving as TR-31), algorithm D or T by its length, checked
against the payShield usage table (A6 usage, A8 mode, A9 version, AA
exportability, AB/AC optional blocks); key type FFFF takes that header as it
is, a variant key type only if the usage suits it (0600 ZPK: P0 or 72; A6
otherwise). Without "#" fields the key has no header and a key-block LMK
refuses it (A1), as a variant LMK refuses "#" fields (A1).

hsmd's choices (no public source gives GJ's layout or GI's errors, nor GI's
key-block fields: their "#" form and FFFF key type follow A0 and A6): the
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
block is not a key · 78 private key length · 85 MGF · 86 MGF hash · A1 a key
or fields of the other LMK kind · A3 another LMK's block · A4 block
authentication · A6 usage · A7 algorithm · A8 mode of use · A9 key version ·
AA exportability · AB/AC optional blocks.

Sources: payShield host command reference, "Import a DES Key" (GI: the layout
above, the secret key flag 99 and its length, LMK pair 34-35) and "Import Key
under RSA Public Key" (pad modes 01/02, the OAEP fields and their ";", key
type "LMK pair and variant"); an HPS PowerCARD client hsm_inc.h (encryption
identifier 01, pad modes 01/02); "Import a Key" (A6: parity advice 01 with
the fields); shared/reference/payshield.md "Variant LMK" (pair codes);
aws-samples/samples-for-payment-cryptography-service key-import-export/
key_exchange/hsm/payshield/commands.py (key-block private keys as `FFFF` +
block). Vectors in tests/test_cmd_gi.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, Reply
from hsmd_sdk.asymmetric import read_data, read_key_type, read_transport
from hsmd_sdk.keys import DEFAULT_SCHEME

from logic.a0 import optional_blocks
from logic.ew import read_private_key_field

COMMAND = "GI"
VERSION = "1.2.0"

BLOCK_KEY_TYPE: Final = b"FFFF"  # key type under a key-block LMK: the '#' fields alone say what the key is


def read_block_fields(fields: Fields) -> str:
    """After '#': key usage (2), mode of use (1), key version (2), exportability (1), count (2), the blocks."""
    fixed = fields.text(8, what="key block fields")
    return fixed + (optional_blocks(fields, int(fixed[6:])) if fixed[6:].isdigit() else "")


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    transport = read_transport(fields)
    key_type = "FFF" if fields.optional(BLOCK_KEY_TYPE) else read_key_type(fields)
    encrypted = read_data(fields, what="encrypted key", error="15")
    private_key = read_private_key_field(fields)
    lmk_id = fields.lmk_id()
    header = read_block_fields(fields) if fields.optional(b"#") else None
    fields.end()

    private = hsm.private_key_from_lmk(private_key, lmk_id)
    oaep_parameters = transport.oaep_parameters.hex().upper()
    if header is not None:
        key = hsm.key_from_public_key_block(private, key_type, header, encrypted.hex().upper(), transport.text, oaep_parameters)
        scheme = "S"
    else:
        key = hsm.key_from_public_key(private, key_type, encrypted.hex().upper(), transport.text, oaep_parameters)
        scheme = DEFAULT_SCHEME[hsm.key_describe(key).length]
    answer = hsm.key_to_lmk(key, scheme, lmk_id).encode("ascii") + hsm.key_check_value(key).encode("ascii")
    return answer if hsm.key_describe(key).odd_parity else Reply("01", answer)
