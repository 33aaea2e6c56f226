"""EO — Import a public key: generate a MAC on it under the LMK.

A public key received from another party is given a MAC under LMK pair 36-37
over the key and optional authentication data; EY, GK (and EQ on a real unit)
take the key only with that MAC.

Request:  EO · public key encoding (2 N: 01 DER with unsigned INTEGERs, 02 DER in two's complement)
          · public key (n B: DER SEQUENCE { modulus, exponent }; its own length says where it ends)
          · [authentication data (n A: to the end of the request, no ";")]
          · [%nn LMK identifier]
Response: EP 00 · MAC (4 B) · public key (n B, as received)

Under a key-block LMK the key comes back as a key block instead:
Request:  EO · encoding · public key · [authentication data] · "~" · [%nn LMK identifier]
          · "#" · mode of use (1 A: E, V or N) · key version number (2 N)
          · exportability (1 A) · number of optional blocks (2 N) · [optional blocks]
Response: EP 00 · "S" + a Thales key block of usage 02 (RSA public key), algorithm R

The MAC is ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19), padding method 1,
zero IV, under LMK pair 36-37 without variant, over the public key followed
by the authentication data; its leftmost 4 bytes. This reproduces the
manual's examples under the public test LMK: MAC 9C350891 on its 512-bit
example key with authentication data "AUTHEN-DATA" (EQ), 530548CE on the same
key without (EU). Encoding 02 takes strict DER only (a leading zero before
a set top bit, none otherwise); 01 takes the unsigned form a unit's EJ
writes, and a redundant leading zero as well. The key is answered as it came.
Authentication data ending in "%" and two digits reads as an LMK identifier.

The key-block form (since 1.1.0) is told by its "~". The block's key data is
the DER public key followed by the authentication data, so that the block's
authenticator binds both as the variant form's MAC does (hsmd's reading: no
public source decodes an EO block); EY and GK take the block in place of MAC
and key. Either form for the other LMK kind is A1; the "#" fields answer as
A0's do (15 short, A8 a mode of use other than E, V or N, A9 key version,
AA exportability, AB/AC optional blocks).

Errors: 03 public key encoding · 04 public key does not conform to the
encoding (not DER, cut short, an INTEGER in the other encoding, an even or
tiny exponent) · 13 LMK identifier · 15 ";" in the authentication data · 76
modulus outside 320-4096 bits.

Sources: payShield host command reference, "Generate a MAC on a Public Key"
(EO: layout, encodings 01/02, errors 03, 04, 13, 15), "Verify a MAC on a
Public Key" (EQ example: MAC 9C350891, key 30470240AE21…0203010001,
authentication data 41555448454E2D44415441) and "Translate a Public Key MAC"
(EU example: new MAC 530548CE); kambizh/payshield-crypto-client
src/main/java/my/com/kambiz/hsm/command/EOCommand.java (EO/EP layout tested on
a 10K: MAC 4 bytes then the DER key; `%` LMK identifier appended last;
since commit 89bc909 the key-block form, "~" then "#" mode, version,
exportability and "00", answered with "S" + a block);
metalcorpe/payshield-rest-gopher engine/command.go (the same key-block form
with "%nn" between "~" and "#", commit 9fc713f "GK and EO fixes"); the
key usage table (02: RSA public key; modes E, V, N) as hsmd/host/keyblock.py
holds it.
Vectors in tests/test_cmd_eo.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.asymmetric import read_public_key

COMMAND = "EO"
VERSION = "1.1.0"

ENCODINGS: Final = ("01", "02")
KEY_BLOCK_MARK: Final = b"~"  # ends the key and authentication data of the key-block form


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    encoding = fields.fixed(2, error="03", what="public key encoding").decode("latin-1")
    if encoding not in ENCODINGS:
        raise HsmError("03", f"public key encoding {encoding!r} not 01 or 02")
    public_key = read_public_key(fields)
    if KEY_BLOCK_MARK in fields.peek(fields.remaining):
        auth_data = fields.delimited(KEY_BLOCK_MARK, what="authentication data")
        lmk_id = fields.lmk_id()
        if not fields.optional(b"#"):
            raise HsmError("15", "key block form: no '#' fields after the '~'")
        header = fields.rest().decode("latin-1")
        return hsm.public_key_import_block(encoding, (public_key + auth_data).hex().upper(), header, lmk_id).encode("ascii")
    auth_data = fields.before(0, what="authentication data")
    lmk_id = fields.lmk_id()
    fields.end()

    imported = hsm.public_key_import(encoding, (public_key + auth_data).hex().upper(), lmk_id)
    return bytes.fromhex(imported.mac) + bytes.fromhex(imported.public_key)
