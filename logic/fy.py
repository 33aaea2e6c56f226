"""FY — Generate an ECC key pair.

The unit generates an elliptic curve key pair on a NIST prime curve and
returns the public key and the private key under the LMK.

Request:  FY · algorithm (2 N: 01) · curve reference (2 N: 00 NIST P-256, 01 P-384, 02 P-521)
          · public key encoding (2 N: 03) · [%nn LMK identifier]
Response: FZ 00 · public key length (4 N: bytes) · public key (n B: SubjectPublicKeyInfo DER)
          · private key length (4 N: bytes) · private key (n B, under LMK pair 34-35)

The request is the frame PayShieldPressureTest sends a 10K (`FY` `01`
`0<curve>` `03`, then key-block fields), whose first and third fields are not
named in any public source: hsmd takes 01 as the only algorithm (15
otherwise) and 03 as the only public key encoding (D3 otherwise), and
answers the key as an X.509 SubjectPublicKeyInfo (id-ecPublicKey, the named
curve, the uncompressed point). Under a key-block LMK a 10K answers the
private key as a key block right after the public key ("S" + block); under
hsmd's variant LMKs it is hsmd's own sealed format (AES-SIV under a key
derived from LMK pair 34-35, as EI's private keys) with a 4 N length before
it, as EJ has. The key-block fields (`#` mode of use, key version,
exportability, optional blocks) are refused (15): hsmd loads variant LMKs
only.

Errors: 13 LMK identifier · 15 algorithm, trailing data or key-block fields
· D2 curve reference · D3 public key encoding.

Sources: mszeu/PayShieldPressureTest pressureTest.py (the FY frame it sends
a 10K with a key-block LMK, `decode_ecc`: FZ 00 · public key length 4 N ·
public key · private key; error table from "payShield 10K Core Host
Commands", PUGD0537-004: D2 invalid curve reference, D3 invalid key
encoding) and README.md (curves 0 P-256, 1 P-384, 2 P-521, "FIPS 186-3").
Vectors in tests/test_cmd_fy.py.
"""

from __future__ import annotations

from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "FY"
VERSION = "1.0.0"

ALGORITHM: Final = "01"
SPKI_DER: Final = "03"


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
    if fields.peek(1) == b"#":
        raise HsmError("15", "key-block fields: hsmd holds variant LMKs only")
    fields.end()

    pair = hsm.ecc_generate(curve, lmk_id)
    public_key, private_key = bytes.fromhex(pair.public_key), bytes.fromhex(pair.private_key)
    return f"{len(public_key):04d}".encode("ascii") + public_key + f"{len(private_key):04d}".encode("ascii") + private_key
