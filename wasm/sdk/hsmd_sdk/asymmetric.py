"""Request fields the asymmetric commands share (EO, EW, EY, GK, GI).

Binary fields travel as raw bytes, as on a real unit, and cross to the host as
hex. Each reader names the error code a malformed field answers:

- Public key (EO, EY, GK): a DER SEQUENCE whose own length says where it ends
  (tag 30, a definite length of one byte, or 81/82 and one or two bytes); 04
  ("public key does not conform to encoding rules") when it does not parse or
  is cut short. The host checks the rest (INTEGERs, sizes: 04, 76).
- Signature parameters (EW, EY): hash identifier 2 N (01 SHA-1, 02 MD5, 03
  MDC-2, 04 none, 05 SHA-224, 06 SHA-256, 07 SHA-384, 08 SHA-512; else 05),
  signature identifier 2 N (01 RSA; else 06), pad mode 2 N (01 PKCS#1 v1.5;
  else 07). Checked here, before the fields that follow, because only pad mode
  01 has a known layout for signatures.
- Message data (EW, EY): length 4 N (bytes) · data n B · ";". Less data than
  declared, or no ";" right after it, is 80 (message length error).
- Private key (EW, GI): flag 2 N (99: the key is in the command; 00-20: a key
  loaded with EK into user storage, which hsmd does not hold: 12; anything
  else 04) · length 4 N (bytes) · the key under LMK pair 34-35 n B. A length
  that is not 4 digits (a key-block unit's FFFF) or more than the data left
  is 78 (private key length error); the host opens the key (49, 78).
- Transport (GK, GI): encryption identifier 2 N · pad mode 2 N (01 PKCS#1
  v1.5, 02 OAEP; else 07) · for OAEP: mask generation function 2 N, MGF hash
  2 N, encoding parameters length 2 N, parameters n B, ";" (15 if cut short).
  The host checks the values (15 encryption identifier, 85 MGF, 86 MGF hash).
- Key type (GK, GI): 4 N "LLVV", the first number of the LMK pair and the
  variant (1400: LMK 14-15 variant 0), as hsmd's key type code: the variant
  digit and the pair's code (0600 -> 001 ZPK, 1400 -> 002, 1404 -> 402 CVK).
  A pair with no code (00-01, 02-03, 08-13, an odd number), a variant over 9
  or a field that is not 4 digits is 04; the host refuses a code its key type
  table lacks (04).

Sources: payShield host command reference, "Generate a Signature", "Validate a
Signature", "Export a DES Key" / "Export Key under RSA Public Key", "Import a
DES Key" (field layouts, hash and pad mode identifiers, the OAEP fields, the
secret key flag 99); softwaregroup-bg/ut-codec-payshield messages.json
(generateRsaSignature: EX errors 03-07, 74, 76, 78, 80) and test/config/test.js
(a real EW frame: `EW060101 0003 <data> ; 99 0656 <key>`); kambizh/
payshield-crypto-client src/main/java/my/com/kambiz/hsm/command/EWCommand.java
and EYCommand.java (EW and EY layouts, the ";" delimiters, 4N lengths in
decimal); an HPS PowerCARD client, hps_gen_key.c `ExportKeyUnderRSA` (key
type "1400" for a TMK under LMK 14-15) and hsm_inc.h (hash, signature, pad mode
identifiers); shared/reference/payshield.md "Variant LMK" (pair codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hsmd_sdk import Fields, HsmError

HASH_IDENTIFIERS: Final = frozenset({"01", "02", "03", "04", "05", "06", "07", "08"})
RSA: Final = "01"
PKCS1_V1_5: Final = "01"
OAEP: Final = "02"
KEY_IN_COMMAND: Final = "99"
USER_STORAGE_INDEXES: Final = 21  # flags 00-20 name a key loaded with EK

# The first number of an LMK pair -> its pair code in the key type table (payshield.md, "Variant LMK").
PAIR_CODES: Final = {
    "04": "00", "06": "01", "14": "02", "16": "03", "18": "04", "20": "05", "22": "06", "24": "07",
    "26": "08", "28": "09", "30": "0A", "32": "0B", "34": "0C", "36": "0D", "38": "0E",
}  # fmt: skip


def _code(raw: bytes) -> str:
    return raw.decode("latin-1")


def read_public_key(fields: Fields) -> bytes:
    """A DER public key (SEQUENCE), taken whole as its length says; 04 if it does not parse or is cut short."""
    head = fields.peek(2)
    if len(head) < 2 or head[0] != 0x30:
        raise HsmError("04", "public key: no DER SEQUENCE")
    first = head[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        octets = fields.peek(2 + count)[2:]
        if count not in (1, 2) or len(octets) != count:
            raise HsmError("04", "public key: DER length not in one or two octets")
        header, length = 2 + count, int.from_bytes(octets, "big")
    if fields.remaining < header + length:
        raise HsmError("04", f"public key: {header + length} bytes declared, {fields.remaining} left")
    return fields.fixed(header + length)


def read_signature_parameters(fields: Fields) -> tuple[str, str, str]:
    """Hash identifier (05), signature identifier (06) and pad mode (07), each 2 N."""
    hash_id = _code(fields.fixed(2, error="05", what="hash identifier"))
    if hash_id not in HASH_IDENTIFIERS:
        raise HsmError("05", f"hash identifier {hash_id!r} not 01-08")
    signature_id = _code(fields.fixed(2, error="06", what="signature identifier"))
    if signature_id != RSA:
        raise HsmError("06", f"signature identifier {signature_id!r} not 01 (RSA)")
    pad_mode = _code(fields.fixed(2, error="07", what="pad mode identifier"))
    if pad_mode != PKCS1_V1_5:
        raise HsmError("07", f"pad mode identifier {pad_mode!r} not 01 (PKCS#1 v1.5)")
    return hash_id, signature_id, pad_mode


def read_data(fields: Fields, *, what: str = "message data", error: str = "80") -> bytes:
    """Length 4 N, the data n B and the ";" after it; `error` when they disagree (80 for message
    data; EY's signature and GI's encrypted key answer 15)."""
    length = fields.numeric(4, error=error, what=f"{what} length")
    if fields.remaining < length:
        raise HsmError(error, f"{what}: {length} bytes declared, {fields.remaining} left")
    data = fields.fixed(length)
    if not fields.optional(b";"):
        raise HsmError(error, f"{what}: no ';' after the {length} bytes declared")
    return data


def read_private_key(fields: Fields) -> bytes:
    """Private key flag (99: in the command), length 4 N and the key under LMK pair 34-35."""
    flag = _code(fields.fixed(2, error="04", what="private key flag"))
    if flag != KEY_IN_COMMAND:
        if flag.isdigit() and int(flag) < USER_STORAGE_INDEXES:
            raise HsmError("12", f"private key flag {flag}: hsmd holds no keys in user storage")
        raise HsmError("04", f"private key flag {flag!r} not 99 or a user storage index")
    length = fields.numeric(4, error="78", what="private key length")
    if fields.remaining < length:
        raise HsmError("78", f"private key: {length} bytes declared, {fields.remaining} left")
    return fields.fixed(length)


@dataclass(frozen=True)
class Transport:
    """GK/GI's padding fields: `text` as the host takes it (identifier, pad mode[, MGF, MGF hash]), the OAEP parameters."""

    text: str
    oaep_parameters: bytes


def read_transport(fields: Fields) -> Transport:
    """Encryption identifier, pad mode (07 unless 01 or 02) and, for OAEP, the MGF fields and encoding parameters."""
    encryption_id = _code(fields.fixed(2, what="encryption identifier"))
    pad_mode = _code(fields.fixed(2, error="07", what="pad mode identifier"))
    if pad_mode == PKCS1_V1_5:
        return Transport(encryption_id + pad_mode, b"")
    if pad_mode != OAEP:
        raise HsmError("07", f"pad mode identifier {pad_mode!r} not 01 (PKCS#1 v1.5) or 02 (OAEP)")
    mgf = _code(fields.fixed(2, what="mask generation function"))
    mgf_hash = _code(fields.fixed(2, what="MGF hash function"))
    length = fields.numeric(2, what="OAEP encoding parameters length")
    parameters = fields.fixed(length, what="OAEP encoding parameters")
    if not fields.optional(b";"):
        raise HsmError("15", "no ';' after the OAEP encoding parameters")
    return Transport(encryption_id + pad_mode + mgf + mgf_hash, parameters)


def key_type_code(field: str) -> str:
    """GK/GI's 4 N key type (LMK pair's first number, variant) as hsmd's key type code; 04 if it names none."""
    pair = PAIR_CODES.get(field[:2])
    if len(field) != 4 or not field.isdigit() or pair is None or field[2] != "0":
        raise HsmError("04", f"key type {field!r} is not an LMK pair with a key type code and a variant 00-09")
    return field[3] + pair


def read_key_type(fields: Fields) -> str:
    """The 4 N key type field, as hsmd's key type code."""
    return key_type_code(_code(fields.fixed(4, error="04", what="key type")))
