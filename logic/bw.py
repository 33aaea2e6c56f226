"""BW — Translate keys from old LMK to new LMK.

A key stored under the old LMK, the one held in key change storage, is
re-encrypted under the LMK that replaced it (LMK migration). The key change
storage is hsmd.toml's `[lmk] key_change`: one old variant LMK per LMK.

Request:  BW · key type code (2 H: the LMK pair code after the variant digit,
            e.g. 00 ZMK 04-05, 01 ZPK 06-07, 02 TMK/TPK/PVK 14-15, 03 TAK 16-17,
            0A ZEK 30-31, 10 variant 1 of 04-05, 42 variant 4 of 14-15;
            FF: the key type follows the first `;`)
          · key length flag (1 N: 0 single, 1 double, 2 or 3 triple)
          · key under the old LMK (16 H, or 32 H, or U/X + 32 H, or T/Y + 48 H)
          · [; key type (3 H)]
          · [; reserved (1 A: 0) · key scheme LMK (1 A) · reserved (1 A: 0)]
          · [%nn LMK identifier]
Response: BX 00 · the key under the new LMK · key check value (6 H)

Without a key scheme the key keeps the scheme it had (bare 16 H and bare
32 H, the legacy X9.17 form, stay bare).
A key type after the `;` other than the one the code names asks for a key
type migration (the PCI HSM "002 separation"), which hsmd does not do: no
host function changes a key's type. The 6 H check value follows the key as
a 10K's client codec reads it.

Errors: 04 key type code (or key type) unknown · 05 key length flag · 10
key parity under the old LMK · 13 LMK identifier · 15 malformed field, a
key whose length is not the flag's, a reserved option not 0 · 26 key scheme ·
27 scheme and key length differ · 33 no old LMK in key change storage · 44
key type migration not allowed.

Sources: payShield host command reference, "Translate Keys from Old LMK to
New LMK" (field layout, key type code table, errors 04, 05, 10, 13, 15; the
triple-length flag written 3); ThalesSim `TranslateKeysFromOldLMKToNewLMK_BW`
(the triple-length flag 2, the key keeping its scheme, `;002;0X0`);
ut-codec-payshield `messages.json` and its tests (a client's frames
`BWFF1U…;000;0U0`, the 6 H check value after the key, errors 33, 44, 45).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.fields import is_hex

COMMAND = "BW"
VERSION = "1.0.0"

_MIGRATE = "FF"  # key type code: the key type follows the first `;`
_LENGTH_FLAGS = {"0": 16, "1": 32, "2": 48, "3": 48}  # hex digits of key each length flag means


def _key_type_of(code: str) -> str:
    """The key type (variant digit, pair code) a two-character key type code names."""
    if not is_hex(code.encode("ascii")):
        raise HsmError("04", f"key type code {code!r} is not 2 hex digits")
    return code[0] + "0" + code[1]


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    code = fields.text(2, what="key type code").upper()
    key_type = None if code == _MIGRATE else _key_type_of(code)
    flag = fields.text(1, what="key length flag")
    if flag not in _LENGTH_FLAGS:
        raise HsmError("05", f"key length flag {flag!r} not 0, 1, 2 or 3")
    ahead = fields.peek(32)
    bare = flag == "1" and len(ahead) == 32 and is_hex(ahead)  # the legacy double-length form: no scheme letter
    key_field = fields.hex(32, what="key") if bare else fields.key(what="key")
    if len(key_field.lstrip("UXTY")) != _LENGTH_FLAGS[flag]:
        raise HsmError("15", f"key of {len(key_field)} characters does not have the length flag {flag} names")
    scheme = "X" if bare else key_field[0] if len(key_field) > 16 else "Z"
    if fields.optional(b";"):
        if not _is_scheme_block(fields.peek(3)):
            named = fields.hex(3, error="04", what="key type").upper()
            if key_type is not None and named != key_type:
                raise HsmError("44", f"migrating key type {key_type} to {named} is not allowed")
            key_type = named
            if fields.optional(b";"):
                scheme, bare = _read_scheme_block(fields), False
        else:
            scheme, bare = _read_scheme_block(fields), False
    if key_type is None:
        raise HsmError("15", "key type code FF needs the key type after ;")
    lmk_id = fields.lmk_id()
    fields.end()

    key = hsm.key_from_old_lmk(key_type, key_field, lmk_id)
    under_new = hsm.key_to_lmk(key, scheme, lmk_id)
    if bare:
        under_new = under_new[1:]  # scheme X under the LMK is the bare legacy form with a letter
    return under_new.encode("ascii") + hsm.key_check_value(key)[:6].encode("ascii")


def _is_scheme_block(data: bytes) -> bool:
    """Reserved · key scheme · reserved after `;`, not a 3 H key type: its second character is no hex digit."""
    return len(data) >= 2 and not is_hex(data[1:2])


def _read_scheme_block(fields: Fields) -> str:
    """Reserved 0 · key scheme LMK · reserved 0: the scheme."""
    if fields.text(1, what="reserved") != "0":
        raise HsmError("15", "reserved option must be 0")
    scheme = fields.key_scheme(what="key scheme LMK")
    if fields.text(1, what="reserved") != "0":
        raise HsmError("15", "reserved option must be 0")
    return scheme
