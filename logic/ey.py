"""EY — Validate an RSA signature.

The unit checks a PKCS#1 v1.5 signature on a message under a public key it
imported with EO: the public key comes with the MAC EO gave it.

Request:  EY · hash identifier (2 N: 01 SHA-1, 02 MD5, 04 none, 05 SHA-224, 06 SHA-256,
            07 SHA-384, 08 SHA-512) · signature identifier (2 N: 01 RSA)
          · pad mode identifier (2 N: 01 PKCS#1 v1.5)
          · signature length (4 N: bytes) · signature (n B) · ";"
          · message data length (4 N: bytes) · message data (n B) · ";"
          · MAC (4 B: EO's, on the public key and authentication data, under LMK pair 36-37)
          · public key (n B: DER SEQUENCE { modulus, exponent }, either encoding)
          · [authentication data (n A, as given to EO)] · [%nn LMK identifier]
Response: EZ 00 (the signature verifies) · or EZ 01 (the MAC on the public key
          fails) · or EZ 02 (the signature does not verify)

Under a key-block LMK the public key is EO's block, in place of MAC, key and
authentication data (since 1.1.0):
Request:  EY · hash · signature · pad mode · signature length · signature · ";"
          · message data length · message data · ";"
          · public key ("S" + the key block EO answered; its length field delimits it)
          · [%nn LMK identifier]

The block form is told by an "S", a version and four digits where the MAC
would start (a MAC that begins so, one in about 10^8, reads as a block and is
refused). The block must be usage 02 (A6), algorithm R (A7) and mode of use V
or N (A8: E is for encrypting keys, GK); A4 tampered, A3 another LMK's, A1
either form under the other LMK kind.

With hash identifier 04 the message data is the DER DigestInfo that was
signed (74 if it is not one, 79 if it names an unknown hash). A signature of
the wrong length, or made with another hash, is 02 as any other mismatch.
Authentication data ending in "%" and two digits reads as an LMK identifier.

Errors: 01 MAC on the public key · 02 signature · 04 public key not DER or
cut short · 05 hash identifier (03 MDC-2 included: hsmd's refusal) · 06
signature identifier · 07 pad mode · 13 LMK identifier · 15 signature field
shorter than its length, no ";" after it, trailing data · 74 DigestInfo
syntax (hash 04) · 76 modulus outside 320-4096 bits · 79 DigestInfo hash
unknown · 80 message length (data shorter than declared, or no ";" after it).

Sources: payShield host command reference, "Validate a Signature" (EY:
layout, MAC on the public key under LMK pair 36-37); kambizh/
payshield-crypto-client src/main/java/my/com/kambiz/hsm/command/
EYCommand.java (variant-LMK layout with the ";" delimiters, tested on a 10K;
EZ 00 valid, 01 MAC verification failure, 02 signature verification failure)
and README.md ("00 (valid) or 02 (signature mismatch)"); since commit 89bc909
the key-block form (the "S" block from EO after the message data's ";"); an HPS PowerCARD
client, hps_gen_key.c `verify_rsa_signature` and hsm_inc.h (identifiers,
"Thales: EY"). Vectors in tests/test_cmd_ey.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle
from hsmd_sdk.asymmetric import read_data, read_public_key, read_signature_parameters

from logic.ei import read_block

COMMAND = "EY"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    hash_id, signature_id, pad_mode = read_signature_parameters(fields)
    signature = read_data(fields, what="signature", error="15")
    data = read_data(fields)
    if public_key_block_follows(fields):
        block = read_block(fields, error="15", what="public key")
        lmk_id = fields.lmk_id()
        fields.end()
        key = hsm.public_key_from_block(block, "verify", lmk_id)
        return _verified(hsm, key, hash_id, signature_id, pad_mode, signature, data)
    mac = fields.fixed(4, what="MAC")
    public_key = read_public_key(fields)
    auth_data = fields.before(0, what="authentication data")
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.public_key_from_mac(mac.hex().upper(), (public_key + auth_data).hex().upper(), lmk_id)
    return _verified(hsm, key, hash_id, signature_id, pad_mode, signature, data)


def public_key_block_follows(fields: Fields) -> bool:
    """Whether the public key field is "S" + a key block (a version character, then its 4-digit length)."""
    head = fields.peek(6)
    return len(head) == 6 and head[:1] == b"S" and head[2:6].isdigit()


def _verified(hsm: Hsm, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, signature: bytes, data: bytes) -> bytes:
    if not hsm.rsa_verify(key, hash_id, signature_id, pad_mode, signature.hex().upper(), data.hex().upper()):
        raise HsmError("02", "signature does not verify")
    return b""
