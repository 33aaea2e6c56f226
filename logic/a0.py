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

Errors: 04 key type · 10 ZMK/TMK parity · 13 LMK identifier · 15 mode not
0/1, malformed field, or Atalla variant · 26 key scheme · 27 the scheme
under the ZMK does not fit the key's length · 29 the ZMK/TMK may not carry
this key type.

Sources: payShield host command reference, "Generate a Key" (field layout,
6 H check value; errors 10, 13, 15); ThalesSim `GenerateKey_A0` (errors 04,
26); ut-codec-payshield `generateKey` (the `;` + ZMK/TMK flag layout);
tests in tests/test_cmd_a0.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "A0"
VERSION = "1.0.0"

KEK_ROLES = {"0": "ZMK", "1": "TMK"}  # ZMK/TMK flag -> role of the key-encryption key
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def kek_field(fields: Fields) -> str:
    """A ZMK/TMK field: a bare 32 H (legacy double length) or whatever `Fields.key` reads."""
    head = fields.peek(32)
    if len(head) == 32 and _HEX.issuperset(head):
        return fields.hex(32, what="ZMK")
    return fields.key(what="ZMK")


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    mode = fields.text(1, what="mode")
    if mode not in ("0", "1"):
        raise HsmError("15", f"mode {mode!r} not 0 or 1")
    key_type = fields.text(3, what="key type").upper()
    lmk_scheme = fields.key_scheme(what="key scheme LMK")
    kek: tuple[str, str, str] | None = None  # key type, field, scheme of the key under it
    if mode == "1":
        flag = "0"
        if fields.optional(b";"):
            flag = fields.text(1, what="ZMK/TMK flag")
            if flag not in KEK_ROLES:
                raise HsmError("15", f"ZMK/TMK flag {flag!r} not 0 or 1")
        kek = (hsm.key_type_code(KEK_ROLES[flag]), kek_field(fields), fields.key_scheme(what="key scheme ZMK"))
        fields.atalla_variant()
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.key_generate(key_type, lmk_scheme)
    under_lmk = hsm.key_to_lmk(key, lmk_scheme, lmk_id)
    under_kek = ""
    if kek is not None:
        kek_type, kek_text, kek_scheme = kek
        under_kek = hsm.key_to_kek(hsm.key_from_lmk(kek_type, kek_text, lmk_id), key, kek_scheme)
    return (under_lmk + under_kek + hsm.key_check_value(key)[:6]).encode("ascii")
