"""A4 — Form a key from encrypted components.

Key components, each already encrypted under the LMK for the key type (as
the console or earlier commands produced them), are combined into one key:
the unit decrypts them, XORs them together, forces odd parity and returns
the key under the LMK.

Request:  A4 · number of components (1 N: 2 to 9) · key type (3 H; FFF for key blocks)
          · key scheme LMK (1 A: Z, U, T, X or Y; S under a key-block LMK)
          · key components, as many as declared (each 16 H, or U/X + 32 H, or T/Y + 48 H,
            under the LMK pair and variant of the key type; or S + key block)
          · [%nn LMK identifier]
          · [# · key version number (2 N) · number of optional blocks (2 N): key blocks only]
Response: A5 00 · key under the LMK · key check value (6 H)

All components must have the key's length, and the LMK scheme must fit it
(Z for 8 bytes, U/X for 16, T/Y for 24).

Under a key-block LMK the components are key blocks (their key version
numbers are usually c1, c2, ...) and the key leaves in scheme S: the host
requires the components' headers to agree on usage, algorithm, mode of use
and exportability (A6, A7, A8, AA for the first that differs) and gives the
key that header with key version 00. AES components combine without parity
adjustment, and their check value is the AES CMAC one. A client may name the
formed block's key version and optional blocks after `#`; a payShield 10K's
client sends `#0000` (ut-codec-payshield test/config/test.js, answered with
check value 2AE082), which is what hsmd forms. Another version or optional
blocks are refused (15): the host gives a formed key version 00 and no
optional blocks. hsmd's reading otherwise: the public manual excerpt shows
the variant form only.

Errors: 03 number of components not 2-9 · 04 key type · 10 component parity
· 11 the components combine to an all-zero key · 13 LMK identifier · 15
malformed field, or fewer/more components than declared · 26 key scheme ·
27 components of different lengths, or a scheme that does not fit the key ·
A1 key blocks under a variant LMK, variant keys under a key-block LMK, or a mix.
The manual's 17 (HSM not in the authorised state) does not arise: hsmd has
no authorised state.

Sources: payShield host command reference, "Form a Key from Encrypted
Components" (field layout, 6 H check value; errors 03, 10, 13, 15, 17);
ThalesSim host-command tests (the two vectors in tests/test_cmd_a4.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "A4"
VERSION = "1.2.0"

MIN_COMPONENTS, MAX_COMPONENTS = 2, 9


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    count = fields.numeric(1, what="number of components")
    if not MIN_COMPONENTS <= count <= MAX_COMPONENTS:
        raise HsmError("03", f"{count} components, {MIN_COMPONENTS} to {MAX_COMPONENTS} allowed")
    key_type = fields.text(3, what="key type").upper()
    lmk_scheme = fields.key_scheme(allowed="ZUTXYS", what="key scheme LMK")
    components = [fields.key(what=f"component {i + 1}") for i in range(count)]
    lmk_id = fields.lmk_id()
    if fields.peek(1) == b"#":
        fields.fixed(1)
        version = fields.text(2, what="key version number")
        blocks = fields.numeric(2, what="number of optional blocks")
        if (version, blocks) != ("00", 0):
            raise HsmError("15", f"key version {version!r} with {blocks} optional blocks: hsmd forms version 00 with none")
    fields.end()

    parts = [hsm.key_from_lmk(key_type, component, lmk_id) for component in components]
    key = hsm.key_combine(key_type, parts)
    return (hsm.key_to_lmk(key, lmk_scheme, lmk_id) + hsm.key_check_value(key)[:6]).encode("ascii")
