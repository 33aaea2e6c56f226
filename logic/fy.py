"""FY — Generate an ECC key pair.

The unit generates an elliptic curve key pair on a NIST prime curve and
returns the public key and the private key under the LMK.

Request:  FY · algorithm (2 N: 01) · curve reference (2 N: 00 NIST P-256, 01 P-384, 02 P-521)
          · public key encoding (2 N: 03) · [%nn LMK identifier]
          · [key-block LMK only: "#" · mode of use (1 A: S signature, X key agreement, N both)
            · key version number (2 N) · exportability (1 A) · number of optional blocks (2 N)
            · the optional blocks]
Response: FZ 00 · public key length (4 N: bytes) · public key (n B: SubjectPublicKeyInfo DER)
          · variant LMK: private key length (4 N: bytes) · private key (n B, under LMK pair 34-35)
          · key-block LMK: private key ("S" + a Thales key block under the LMK, no length)

The request is the frame PayShieldPressureTest sends a 10K (`FY` `01`
`0<curve>` `03`, then key-block fields), whose first and third fields are not
named in any public source: hsmd takes 01 as the only algorithm (15
otherwise) and 03 as the only public key encoding (D3 otherwise), and
answers the key as an X.509 SubjectPublicKeyInfo (id-ecPublicKey, the named
curve, the uncompressed point). Under a key-block LMK a 10K answers the
private key as a key block right after the public key ("S" + block), and so
does hsmd: the "#" fields select that form (A1 with a variant LMK; a
key-block LMK without them is A1 too). The block's header: usage 03,
algorithm E, the request's mode of use (the usage table's row 03/E allows N,
S and X: A8 otherwise), key version, exportability and optional blocks, and
the LMK identifier; its key data is hsmd's choice, the private key as PKCS#8
DER. Under a variant LMK the private key is hsmd's own sealed format
(AES-SIV under a key derived from LMK pair 34-35, as EI's private keys) with
a 4 N length before it, as EJ has. No hsmd command uses an ECC private key
yet: EW refuses one (49 sealed, A7 in a block).

Errors: 13 LMK identifier · 15 algorithm, trailing data, key-block fields cut
short · A1 key-block fields with a variant LMK or none with a key-block LMK
· A8 mode of use · A9 key version number · AA exportability · AB number of
optional blocks · AC optional blocks · D2 curve reference · D3 public key
encoding.

Sources: mszeu/PayShieldPressureTest pressureTest.py (the FY frame it sends
a 10K with a key-block LMK, `decode_ecc`: FZ 00 · public key length 4 N ·
public key · private key; error table from "payShield 10K Core Host
Commands", PUGD0537-004: D2 invalid curve reference, D3 invalid key
encoding) and README.md (curves 0 P-256, 1 P-384, 2 P-521, "FIPS 186-3");
aws-samples/samples-for-payment-cryptography-service key-import-export/
key_exchange/hsm/payshield/commands.py (a client of real units: mode of use
S for signing keys, X for key agreement; `_decode_fy` takes the rest of FZ
after the public key as the private key); the payShield key usage table via
keyblock._USAGE_TABLE (usage 03, algorithm E, modes N S X).
Vectors in tests/test_cmd_fy.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError

from logic.a0 import optional_blocks

COMMAND = "FY"
VERSION = "1.1.0"

ALGORITHM: Final = "01"
SPKI_DER: Final = "03"


def block_fields(fields: Fields) -> str:
    """After '#': mode of use (1), key version (2), exportability (1), number of optional blocks (2), the blocks."""
    fixed = fields.text(6, what="key block fields")
    if not fixed[4:].isdigit():
        raise HsmError("AB", f"number of optional blocks {fixed[4:]!r}")
    return fixed + optional_blocks(fields, int(fixed[4:]))


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    algorithm = fields.fixed(2, what="algorithm").decode("latin-1")
    if algorithm != ALGORITHM:
        raise HsmError("15", f"algorithm {algorithm!r} not 01")
    curve = fields.fixed(2, error="D2", what="curve reference").decode("latin-1")
    encoding = fields.fixed(2, error="D3", what="public key encoding").decode("latin-1")
    if encoding != SPKI_DER:
        raise HsmError("D3", f"public key encoding {encoding!r} not 03")
    lmk_id = fields.lmk_id()
    if fields.optional(b"#"):
        header = block_fields(fields)
        fields.end()
        block_pair = hsm.ecc_generate_block(curve, header, lmk_id)
        public_key = bytes.fromhex(block_pair.public_key)
        return f"{len(public_key):04d}".encode("ascii") + public_key + block_pair.private_key.encode("ascii")
    fields.end()

    pair = hsm.ecc_generate(curve, lmk_id)
    public_key, private_key = bytes.fromhex(pair.public_key), bytes.fromhex(pair.private_key)
    return f"{len(public_key):04d}".encode("ascii") + public_key + f"{len(private_key):04d}".encode("ascii") + private_key
