"""EW — Generate an RSA signature.

The unit signs a message with an RSA private key it holds under the LMK
(as EI returned it), PKCS#1 v1.5 (EMSA-PKCS1-v1_5).

Request:  EW · hash identifier (2 N: 01 SHA-1, 02 MD5, 04 none, 05 SHA-224, 06 SHA-256,
            07 SHA-384, 08 SHA-512) · signature identifier (2 N: 01 RSA)
          · pad mode identifier (2 N: 01 PKCS#1 v1.5)
          · message data length (4 N: bytes) · message data (n B) · ";"
          · private key flag (2 N: 99, the key follows) · private key length (4 N: bytes;
            "FFFF" for a key block) · private key (n B under LMK pair 34-35, or "S" + a
            Thales key block under a key-block LMK, which its own length field delimits)
          · [%nn LMK identifier]
Response: EX 00 · signature length (4 N: bytes, the modulus' length) · signature (n B)

With hash identifier 04 the message data is the DER DigestInfo to sign (a
hash algorithm's OID and the digest): 74 if it is not one, 79 if it names a
hash hsmd does not know. PKCS#1 v1.5 signatures are deterministic: the same
key and data always give the same signature. The key must allow signing:
key type indicator 0 or 2 (03 otherwise, hsmd's reading of EX's "invalid
private key type").

Under a key-block LMK the private key is the block EI made ("99FFFF" + "S"
+ block, as aws-samples' client sends a key-block private key to a 10K). The
host authenticates it (A4) and enforces its header: usage 03 (A6 otherwise),
algorithm R (A7: an ECC key from FY does not sign here), mode of use S or N
(A8: a key-management key, D, does not sign). A block under a variant LMK,
or a sealed key under a key-block LMK, is A1; a block made for another LMK
identifier A3.

hsmd's choices: hash 03 (MDC-2) is refused (05): no DigestInfo for it is
defined. Pad modes other than 01 (the 10K-tested client lists 02 ANSI X9.31,
03 ISO 9796, 04 PSS; the older manual copies OAEP here) are refused (07)
before the rest is read. Private key flags 00-20 name a key loaded with EK
into user storage, which hsmd does not have (12).

Errors: 03 the key does not allow signing · 04 private key flag · 05 hash
identifier · 06 signature identifier · 07 pad mode · 12 a user storage
index as flag · 13 LMK identifier · 15 trailing data · 49 private key does
not authenticate under this LMK (changed, or from another LMK) · 74
DigestInfo syntax (hash 04) · 76 modulus too short for the DigestInfo · 78
private key length (not 4 digits, longer than the data, impossible; "FFFF"
without a whole "S" block after it) · 79 DigestInfo hash unknown · 80 message
length (data shorter than declared, or no ";" after it) · A1 a key of the
other LMK kind · A3 another LMK's block · A4 block authentication · A6 usage
· A7 algorithm · A8 mode of use.

Sources: payShield host command reference, "Generate a Signature" (EW:
layout, identifiers, private key flag 99 and LMK pair 34-35);
softwaregroup-bg/ut-codec-payshield messages.json (generateRsaSignature:
request pattern, EX errors 03-07, 74, 76, 78, 80) and test/config/test.js
(generateRsaSignatureEncode: a real frame `EW060101` `0003` data `;99` `0656`
key; generateRsaSignatureDecode: `EX00` `0256` + 256 bytes, and `EX78`);
kambizh/payshield-crypto-client src/main/java/my/com/kambiz/hsm/command/
EWCommand.java (inline key, lengths in decimal, EX parsed as 4 N + bytes) and
CommandUtils.java (hash identifiers); an HPS PowerCARD client, hps_gen_key.c
`GenerateSignatureBlock` and hsm_inc.h (identifiers 01 for SHA-1, RSA,
PKCS#1 v1.5); aws-samples/samples-for-payment-cryptography-service
key-import-export/key_exchange/hsm/payshield/commands.py (B8: a key-block
private key sent as `99FFFF` + the block). Vectors in tests/test_cmd_ew.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.asymmetric import KEY_IN_COMMAND, read_data, read_private_key, read_signature_parameters

from logic.ei import BLOCK_LENGTH, read_block

COMMAND = "EW"
VERSION = "1.2.0"


def read_private_key_field(fields: Fields) -> str:
    """The private key as the host takes it: the sealed key as hex, or "S" + the key block as text
    (a 10K's binary key data in transport form: logic/ei.py).

    Flag 99 then "FFFF" announces a key block, which its own length field delimits (78 when no
    "S" block follows); anything else is read as flag, 4 N length and sealed key.
    """
    if fields.peek(6) == KEY_IN_COMMAND.encode("ascii") + BLOCK_LENGTH:
        fields.fixed(6)
        if fields.peek(1) != b"S":
            raise HsmError("78", "private key length FFFF without a key block after it")
        return read_block(fields, error="78", what="private key")
    return read_private_key(fields).hex().upper()


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    hash_id, signature_id, pad_mode = read_signature_parameters(fields)
    data = read_data(fields)
    private_key = read_private_key_field(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.private_key_from_lmk(private_key, lmk_id)
    signature = bytes.fromhex(hsm.rsa_sign(key, hash_id, signature_id, pad_mode, data.hex().upper()))
    return f"{len(signature):04d}".encode("ascii") + signature
