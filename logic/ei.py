"""EI — Generate an RSA key pair.

The unit generates an RSA key pair and returns the public key, DER-encoded,
and the private key under the LMK: encrypted under LMK pair 34-35 with a
variant LMK, in a key block with a key-block LMK.

Request:  EI · key type indicator (1 N: 0 signature only, 1 key management only, 2 both)
          · key length (4 N: modulus bits, 0320-4096)
          · public key encoding (2 N: 01 DER with unsigned INTEGERs, 02 DER in two's complement)
          · [public exponent length (4 N: bits) · public exponent (n B, big-endian, odd;
            ceil(bits/8) bytes; absent: 65537)]
          · [%nn LMK identifier]
          · [key-block LMK only: "#" · key version number (2 N) · number of optional blocks (2 N)
            · the optional blocks · ["&" · exportability (1 A: E, N, S; absent: N)]]
Response: EJ 00 · public key (n B: DER SEQUENCE { modulus, exponent }; its own length says
          where it ends) · private key length (4 N: bytes; "FFFF" for a key block)
          · private key (n B under LMK 34-35, or "S" + a Thales key block under the LMK)

Encoding 01 writes the INTEGERs without the leading zero strict DER gives a
number whose top bit is set: a real unit's RSA-2048 public key is 269 bytes
(30 82 01 09 02 82 01 00 C5…), not 270. The exponent's value must fit the
bit length the request gives (06 otherwise).

Key-block LMK: the private key is a block as a 10K writes it, its key data
in binary (DER SEQUENCE { p, q, dp, dq, qinv }, unsigned INTEGERs, no key
length field), so its length field counts bytes: a 10K answered FFFF +
S0068803RS00N0001 + 664 bytes + 7648310C for RSA-2048 under the public 3DES
key-block test LMK, and signed with it (ut-codec-payshield docs/examples.js,
generateRsaKeyPair and generateRsaSignature; tests/test_cmd_ew.py replays
it). The host hands the block over in transport form, the key data in hex
(hsmd.host.keyblock.wrap_binary); `block_to_wire` and `read_block` here turn
it into the wire's bytes and back, for EI, EW, GI, EY and GK. Blocks hsmd made before
(PKCS#8 in hex key data, a length field counting characters) are still read.

Variant LMK: the private key is hsmd's own format, not a real unit's (a
payShield's layout under LMK 34-35 is not public: 656 bytes for RSA-2048).
hsmd seals the key type, the exponent and the CRT components with AES-SIV
under a key derived from LMK pair 34-35; EW and GI take it back and refuse
anything changed (49). The key type indicator travels with it: EW signs only
with 0 or 2, GI unwraps only with 1 or 2 (03).

Key-block LMK: the "#" fields select the key-block form (a variant LMK
answers them with A1, a key-block LMK a request without them with A1). The
private key is "S" + a Thales key block under the LMK (version 0 under the
3DES key-block LMK, 1 under the AES one), after the length field "FFFF".
Its header: usage 03 (RSA private key), algorithm R, mode of use from the key
type indicator (hsmd's reading of the usage table's row 03/R, modes D N S:
0 -> S signature only, 1 -> D key management (decrypt) only, 2 -> N both),
the request's key version, exportability (N when "&" is absent: hsmd's
choice) and optional blocks, and the LMK identifier. Its key data is a
unit's (above); RSA-4096 fits the 9999 characters a block can have under
either LMK. EW and GI take it back as
"99FFFF" + the block, and the host enforces its header (A4 changed, A6 usage,
A8 mode of use).

hsmd's choices: generation takes no authorised state (the manual's EI pages
ask for it; hsmd's authorised state covers clear PINs only), and 4096-bit
keys are made under a variant LMK too (a 10K makes them under key-block LMKs
only, reports PayShieldPressureTest).

Errors: 03 public key encoding · 04 key length not 4 digits or outside
320-4096 · 05 key type indicator · 06 exponent length (not 4 digits, 0,
over 4096, data short) or exponent out of range (below 3, not shorter than
the modulus, longer than its declared length) · 08 exponent even · 13 LMK
identifier · 15 trailing data, key-block fields cut short · A1 key-block
fields with a variant LMK or none with a key-block LMK · A9 key version
number · AA exportability · AB number of optional blocks · AC optional
blocks.

Sources: payShield host command reference, "Generate an RSA Key Set" (EI:
layout, exponent in bits and binary, default 65537, errors 03-08, key under
LMK pair 34-35); softwaregroup-bg/ut-codec-payshield messages.json
(generateRsaKeyPair: request pattern with `%` LMK identifier then `#` fields;
EJ errors) and test/config/test.js (generateRsaKeyPairDecode: a real EJ frame,
269-byte public key, private key length 0656); kambizh/payshield-crypto-client
src/main/java/my/com/kambiz/hsm/command/EICommand.java (EJ parsed by the DER
length, 320-4096 bits); mszeu/PayShieldPressureTest pressureTest.py and
README.md (`EI2<bits>01#0000` on a 10K; 4096 bits with key-block LMKs only;
authorisation); aws-samples/samples-for-payment-cryptography-service
key-import-export/key_exchange/hsm/payshield/commands.py (a client of real
units: `EI` key type, bits, `02#0000&N` under a key-block LMK, the EJ's
private key taken after the public key and "FFFF"); the payShield key usage
table via keyblock._USAGE_TABLE (usage 03, algorithm R, modes D N S). Vectors
in tests/test_cmd_ei.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.fields import is_hex, printable

from logic.a0 import optional_blocks

COMMAND = "EI"
VERSION = "1.2.0"

MAX_EXPONENT_BITS: Final = 4096
BLOCK_LENGTH: Final = b"FFFF"  # EJ's private key length field when the key is a key block
DEFAULT_EXPORTABILITY: Final = "N"


_MAC_CHARS: Final = {"0": 8, "1": 16}  # a block's authenticator in hex characters, by version ID (TDES, AES)


def block_to_wire(text: str) -> bytes:
    """A key block from the host as the wire has it: in transport form (its length field counts
    fewer characters than it has: the key data is in hex) with the key data in binary."""
    declared = int(text[2:6])
    body = text[1:]
    if declared == len(body):
        return text.encode("ascii")
    mac = _MAC_CHARS[body[0]]
    data_bytes = len(body) - declared
    head = declared - data_bytes - mac
    return (text[0] + body[:head]).encode("ascii") + bytes.fromhex(body[head:-mac]) + body[-mac:].encode("ascii")


def read_block(fields: Fields, *, error: str, what: str) -> str:
    """A tag and a key block off the wire, in the text the host takes: as it stands when it is
    text, in transport form (key data in hex) when its key data is binary (`block_to_wire`)."""
    head = fields.peek(6)
    if len(head) < 6 or not head[2:6].isdigit():
        raise HsmError(error, f"{what}: key block without a length field")
    if int(head[2:6]) < 16:
        raise HsmError(error, f"{what}: key block of {int(head[2:6])} characters is shorter than its header")
    raw = fields.fixed(1 + int(head[2:6]), error=error, what=what)
    if printable(raw):
        return raw.decode("ascii")
    mac = _MAC_CHARS.get(chr(raw[1]))
    count = raw[13:15]
    if mac is None or not count.isdigit():
        raise HsmError(error, f"{what}: key block header malformed")
    end = 16  # the header, then its optional blocks: id (2), length (2 H, the block's whole length)
    for _ in range(int(count)):
        length = raw[end + 3 : end + 5]
        if len(length) != 2 or not is_hex(length) or int(length, 16) < 4:
            raise HsmError(error, f"{what}: optional block malformed")
        end += int(length, 16)
    header, data, authenticator = raw[: 1 + end], raw[1 + end : -mac], raw[-mac:]
    if not printable(header + authenticator) or not data:
        raise HsmError(error, f"{what}: key block header or authenticator not text")
    return header.decode("ascii") + data.hex().upper() + authenticator.decode("ascii")


def read_exponent(fields: Fields) -> str:
    """The optional public exponent (length 4 N in bits, value n B) as hex; "" when absent (65537)."""
    if fields.at_end or fields.peek(1) in (b"%", b"#"):
        return ""
    bits = fields.numeric(4, error="06", what="public exponent length")
    if not 0 < bits <= MAX_EXPONENT_BITS:
        raise HsmError("06", f"public exponent length {bits} bits")
    raw = fields.fixed(-(-bits // 8), error="06", what="public exponent")
    if int.from_bytes(raw, "big").bit_length() > bits:
        raise HsmError("06", f"public exponent longer than the {bits} bits declared")
    return raw.hex().upper()


def block_fields(fields: Fields) -> str:
    """The fields after '#' as rsa-generate-block takes them: key version (2), exportability (1), count (2), blocks.

    The request carries key version (2) · number of optional blocks (2) · the blocks · [& exportability (1)].
    """
    version = fields.text(2, what="key version number")
    count = fields.text(2, what="number of optional blocks")
    if not count.isdigit():
        raise HsmError("AB", f"number of optional blocks {count!r}")
    blocks = optional_blocks(fields, int(count))
    exportability = fields.text(1, what="exportability") if fields.optional(b"&") else DEFAULT_EXPORTABILITY
    return version + exportability + count + blocks


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    key_type = fields.fixed(1, error="05", what="key type indicator").decode("latin-1")
    bits = fields.numeric(4, error="04", what="key length")
    encoding = fields.fixed(2, error="03", what="public key encoding").decode("latin-1")
    exponent = read_exponent(fields)
    lmk_id = fields.lmk_id()
    if fields.optional(b"#"):
        header = block_fields(fields)
        fields.end()
        block_pair = hsm.rsa_generate_block(bits, key_type, encoding, exponent, header, lmk_id)
        return bytes.fromhex(block_pair.public_key) + BLOCK_LENGTH + block_to_wire(block_pair.private_key)
    fields.end()

    pair = hsm.rsa_generate(bits, key_type, encoding, exponent, lmk_id)
    private_key = bytes.fromhex(pair.private_key)
    return bytes.fromhex(pair.public_key) + f"{len(private_key):04d}".encode("ascii") + private_key
