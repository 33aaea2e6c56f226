"""EI — Generate an RSA key pair.

The unit generates an RSA key pair and returns the public key, DER-encoded,
and the private key encrypted under LMK pair 34-35.

Request:  EI · key type indicator (1 N: 0 signature only, 1 key management only, 2 both)
          · key length (4 N: modulus bits, 0320-4096)
          · public key encoding (2 N: 01 DER with unsigned INTEGERs, 02 DER in two's complement)
          · [public exponent length (4 N: bits) · public exponent (n B, big-endian, odd;
            ceil(bits/8) bytes; absent: 65537)]
          · [%nn LMK identifier]
Response: EJ 00 · public key (n B: DER SEQUENCE { modulus, exponent }; its own length says
          where it ends) · private key length (4 N: bytes) · private key (n B, under LMK 34-35)

Encoding 01 writes the INTEGERs without the leading zero strict DER gives a
number whose top bit is set: a real unit's RSA-2048 public key is 269 bytes
(30 82 01 09 02 82 01 00 C5…), not 270. The exponent's value must fit the
bit length the request gives (06 otherwise).

The private key is hsmd's own format, not a real unit's: a payShield's
layout under LMK 34-35 is not public (656 bytes for RSA-2048). hsmd seals the
key type, the exponent and the CRT components with AES-SIV under a key
derived from LMK pair 34-35; EW and GI take it back and refuse anything
changed (49). The key type indicator travels with it: EW signs only with 0
or 2, GI unwraps only with 1 or 2 (03).

hsmd's choices: generation takes no authorised state (the manual's EI pages
ask for it; hsmd's authorised state covers clear PINs only), and 4096-bit
keys are made under a variant LMK (a 10K makes them under key-block LMKs
only, reports PayShieldPressureTest). The key-block fields a key-block unit
takes after the LMK identifier (`#`, key version, optional blocks, `&`
exportability) are refused (15): hsmd loads variant LMKs only.

Errors: 03 public key encoding · 04 key length not 4 digits or outside
320-4096 · 05 key type indicator · 06 exponent length (not 4 digits, 0,
over 4096, data short) or exponent out of range (below 3, not shorter than
the modulus, longer than its declared length) · 08 exponent even · 13 LMK
identifier · 15 trailing data or key-block fields.

Sources: payShield host command reference, "Generate an RSA Key Set" (EI:
layout, exponent in bits and binary, default 65537, errors 03-08, key under
LMK pair 34-35); softwaregroup-bg/ut-codec-payshield messages.json
(generateRsaKeyPair: request pattern with `%` LMK identifier then `#` fields;
EJ errors) and test/config/test.js (generateRsaKeyPairDecode: a real EJ frame,
269-byte public key, private key length 0656); kambizh/payshield-crypto-client
src/main/java/my/com/kambiz/hsm/command/EICommand.java (EJ parsed by the DER
length, 320-4096 bits); mszeu/PayShieldPressureTest pressureTest.py and
README.md (`EI2<bits>01#0000` on a 10K; 4096 bits with key-block LMKs only;
authorisation). Vectors in tests/test_cmd_ei.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "EI"
VERSION = "1.0.0"

MAX_EXPONENT_BITS: Final = 4096


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


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    key_type = fields.fixed(1, error="05", what="key type indicator").decode("latin-1")
    bits = fields.numeric(4, error="04", what="key length")
    encoding = fields.fixed(2, error="03", what="public key encoding").decode("latin-1")
    exponent = read_exponent(fields)
    lmk_id = fields.lmk_id()
    if fields.peek(1) == b"#":
        raise HsmError("15", "key-block fields: hsmd holds variant LMKs only")
    fields.end()

    pair = hsm.rsa_generate(bits, key_type, encoding, exponent, lmk_id)
    private_key = bytes.fromhex(pair.private_key)
    return bytes.fromhex(pair.public_key) + f"{len(private_key):04d}".encode("ascii") + private_key
