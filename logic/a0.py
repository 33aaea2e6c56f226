"""A0 — Generate a key.

The unit generates a random key of the requested type and returns it under
the LMK; in mode 1 also under a ZMK (or TMK) so that it can be sent to
another node.

Request:  A0 · mode (1 H: 0 generate, 1 generate and also encrypt under a ZMK/TMK)
          · key type (3 H) · key scheme LMK (1 A: Z, U, T, X or Y)
          mode 1, either the classic layout:
          · ZMK (16 H or 32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 04-05)
          · key scheme ZMK (1 A) · [Atalla variant (1-2 N; only 0 is supported)]
          or the newer layout:
          · ; · ZMK/TMK flag (1 N: 0 ZMK, 1 TMK) · ZMK or TMK (as above; a TMK under LMK 14-15)
          · key scheme ZMK/TMK (1 A) · [Atalla variant]
          · [%nn LMK identifier]
Response: A1 00 · key under the LMK · (mode 1) key under the ZMK/TMK · key check value (6 H)

The key is as long as the LMK scheme says (Z 8 bytes, U/X 16, T/Y 24) and
has odd parity; under the ZMK it must use a scheme of the same length. A
bare 32 H ZMK is the legacy double-length ZMK (read as ANSI X9.17, like X).
The TMK of the newer layout is whatever key type the unit's table gives a
TMK: 002, or 80D in PCI HSM compliance mode (asked of the host).

Under a variant LMK, mode 1 may also export the new key as a TR-31 block
(key scheme ZMK R), its header from what follows the LMK identifier, as A8
takes it: `&` · key usage (2 A) · mode of use (1 A) · key version number (2)
· exportability (1 A) · number of optional blocks (2 N) · blocks, then
`!` · TR-31 version ID (1 A). The layout is the manual's "generating a
variant key, and exporting to TR-31 format" (ut-codec-payshield
docs/A0_generateKey.png).

Errors: 04 key type · 10 ZMK/TMK parity · 13 LMK identifier · 15 mode not
0/1, malformed field, or Atalla variant · 26 key scheme · 27 the scheme
under the ZMK does not fit the key's length · 29 the ZMK/TMK may not carry
this key type.

Key-block form (a key-block LMK; key type FFF, key scheme S):

Request:  A0 · mode (0 or 1) · key type FFF · key scheme LMK S
          mode 1: · [;] · [ZMK/TMK flag (1 N)] · ZMK/TMK (S + key block)
          · key scheme ZMK/TMK (1 A: S Thales key block, R TR-31, or a variant scheme)
          · [%nn LMK identifier] · # · key usage (2 A) · algorithm (2 A: T2 T3 A1 A2 A3)
          · mode of use (1 A) · key version number (2 A) · exportability (1 A)
          · number of optional blocks (2 N) · optional blocks (each: id 2 A, length 2 H, data)
          · [& modified exportability of the copy under the ZMK/TMK (1 A)]
          · [! key block version ID of a TR-31 copy (1 A: A B C D)]
Response: A1 00 · S + key block under the LMK · (mode 1) S + block under the ZMK/TMK
          (LMK identifier FF) or R + TR-31 block · key check value (6 H)

The host builds and checks the header (A6 usage, A7 algorithm, A8 mode of use,
A9 key version, AA exportability, AB number of optional blocks, AC optional
block; A1 when the LMK is a variant LMK) and enforces the key's exportability
on the copy under the ZMK/TMK (AA). An AES key's check value is its CMAC check
value (X9.24-1). Field order from real-unit traces: ut-codec-payshield
test/config/test.js (`A00FFFS%01#K0T2B00E00`; mode 1 `A01FFFS0S…S%01#K0T2B00E00`,
the flag without `;`), aws-samples payshield/commands.py (`A00FFFS#P0T2N00E00`).

Sources: payShield host command reference, "Generate a Key" (field layout,
6 H check value; errors 10, 13, 15); ThalesSim `GenerateKey_A0` (errors 04,
26); ut-codec-payshield `generateKey` (the `;` + ZMK/TMK flag layout);
tests in tests/test_cmd_a0.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.fields import printable

COMMAND = "A0"
VERSION = "1.2.0"

KEK_ROLES = {"0": "ZMK", "1": "TMK"}  # ZMK/TMK flag -> role of the key-encryption key
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def kek_field(fields: Fields) -> str:
    """A ZMK/TMK field: a bare 32 H (legacy double length) or whatever `Fields.key` reads."""
    head = fields.peek(32)
    if len(head) == 32 and _HEX.issuperset(head):
        return fields.hex(32, what="ZMK")
    return fields.key(what="ZMK")


def read_kek_flag(fields: Fields) -> str:
    """The optional `;` and ZMK/TMK flag (1 N: 0 ZMK, 1 TMK) before a key-encryption key; "0" without them."""
    if not fields.optional(b";"):
        return "0"
    flag = fields.text(1, what="ZMK/TMK flag")
    if flag not in KEK_ROLES:
        raise HsmError("15", f"ZMK/TMK flag {flag!r} not 0 or 1")
    return flag


def block_scheme(fields: Fields, zmk_scheme: str) -> str:
    """After the LMK identifier, for scheme S or R: [& modified exportability, or (R) header fields] [! version ID]."""
    if zmk_scheme not in ("S", "R"):
        return zmk_scheme
    rest = fields.rest()
    if not printable(rest):
        raise HsmError("15", "key block fields not printable")
    text, version = rest.decode("ascii"), ""
    if len(text) >= 2 and text[-2] == "!":
        text, version = text[:-2], text[-2:]
        if zmk_scheme != "R":
            raise HsmError("15", "a key block version ID ('!') needs key scheme R")
    if text and (text[0] != "&" or len(text) == 1):
        raise HsmError("15", f"unexpected {text!r} after the key scheme")
    return zmk_scheme + text + version


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    mode = fields.text(1, what="mode")
    if mode not in ("0", "1"):
        raise HsmError("15", f"mode {mode!r} not 0 or 1")
    key_type = fields.text(3, what="key type").upper()
    if key_type == BLOCK_KEY_TYPE and fields.peek(1).upper() == b"S":
        fields.fixed(1)
        return _execute_block(fields, mode, hsm)
    lmk_scheme = fields.key_scheme(what="key scheme LMK")
    kek: tuple[str, str, str] | None = None  # key type, field, scheme of the key under it
    if mode == "1":
        flag = read_kek_flag(fields)
        kek = (hsm.key_type_code(KEK_ROLES[flag]), kek_field(fields), fields.key_scheme(allowed="ZUTXYR", what="key scheme ZMK"))
        fields.atalla_variant()
    lmk_id = fields.lmk_id()
    if kek is not None:  # R: a TR-31 copy, its header from the '&' fields (and '!' version) after the LMK identifier
        kek = (kek[0], kek[1], block_scheme(fields, kek[2]))
    fields.end()

    key = hsm.key_generate(key_type, lmk_scheme)
    under_lmk = hsm.key_to_lmk(key, lmk_scheme, lmk_id)
    under_kek = ""
    if kek is not None:
        kek_type, kek_text, kek_scheme = kek
        under_kek = hsm.key_to_kek(hsm.key_from_lmk(kek_type, kek_text, lmk_id), key, kek_scheme)
    return (under_lmk + under_kek + hsm.key_check_value(key)[:6]).encode("ascii")


BLOCK_KEY_TYPE = "FFF"


def optional_blocks(fields: Fields, count: int) -> str:
    """`count` optional header blocks as they stand (id 2 A, length 2 H counting the whole block, data)."""
    text = ""
    for _ in range(count):
        block_id = fields.text(2, what="optional block identifier")
        length_field = fields.hex(2, what="optional block length")
        length, head = int(length_field, 16), block_id + length_field
        if length == 0:  # extended length: 2 H giving the length of the length, then the length in hex
            size_field = fields.hex(2, what="optional block length size")
            length_text = fields.hex(int(size_field, 16), what="optional block length")
            head += size_field + length_text
            length = int(length_text, 16) if length_text else 0
        if length < len(head):
            raise HsmError("AC", f"optional block {block_id!r} declares {length} characters")
        text += head + fields.text(length - len(head), what="optional block data")
    return text


def header_fields(fields: Fields) -> str:
    """The '#' fields as key-generate-block takes them: usage, algorithm, mode, version, exportability, count, blocks."""
    if not fields.optional(b"#"):
        raise HsmError("15", "key block fields ('#') missing")
    fixed = fields.text(10, what="key block fields")
    if not fixed[8:].isdigit():
        raise HsmError("AB", f"number of optional blocks {fixed[8:]!r}")
    return fixed + optional_blocks(fields, int(fixed[8:]))


def export_fields(fields: Fields, kek_scheme: str) -> str:
    """The block scheme key-to-kek takes: S or R, then '&' modified exportability, then (R) '!' version ID."""
    scheme = kek_scheme
    if kek_scheme not in ("S", "R"):
        return scheme  # a variant-scheme copy takes neither field: fields.end() refuses them
    if fields.optional(b"&"):
        scheme += "&" + fields.text(1, what="modified exportability")
    if fields.optional(b"!"):
        version = fields.text(1, what="key block version ID")
        if kek_scheme != "R":
            raise HsmError("15", "a key block version ID ('!') needs key scheme R")
        scheme += "!" + version
    return scheme


def _execute_block(fields: Fields, mode: str, hsm: Hsm) -> bytes:
    kek: tuple[str, str, str] | None = None  # key type, field, scheme of the key under it
    if mode == "1":
        fields.optional(b";")
        flag = "0"
        if fields.peek(1) in (b"0", b"1"):
            flag = fields.text(1, what="ZMK/TMK flag")
        kek_field = fields.key(what="ZMK/TMK")
        kek = (hsm.key_type_code(KEK_ROLES[flag]), kek_field, fields.key_scheme(allowed="ZUTXYSR", what="key scheme ZMK/TMK"))
    lmk_id = fields.lmk_id()
    header = header_fields(fields)
    scheme = export_fields(fields, kek[2]) if kek is not None else ""
    fields.end()

    key = hsm.key_generate_block(header, lmk_id)
    under_lmk = hsm.key_to_lmk(key, "S", lmk_id)
    under_kek = ""
    if kek is not None:
        under_kek = hsm.key_to_kek(hsm.key_from_lmk(kek[0], kek[1], lmk_id), key, scheme)
    return (under_lmk + under_kek + hsm.key_check_value(key)[:6]).encode("ascii")
