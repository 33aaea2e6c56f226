"""AE — Translate a TMK, TPK or PVK from LMK to another TMK, TPK or PVK.

A key stored under LMK pair 14-15 (key type 002) is encrypted under another
key of the same family, the terminal's current TMK, so that the terminal can
replace its key with the one from the host's database.

Request:  AE · current TMK/TPK/PVK under LMK 14-15 (16 H, or U/X + 32 H, or T/Y + 48 H)
          · stored TMK/TPK/PVK under LMK 14-15 (same forms)
          · [; key scheme TMK (1 A: Z, U, T, X, Y) · reserved (1 A: 0) · reserved (1 A: 0)]
          · [%nn LMK identifier]
Response: AF 00 · stored key under the current key (no check value)

Without the `;` block the stored key goes under the current key in the
scheme it has under the LMK (bare 16 H stays bare), as GC does. With it, the
key scheme must fit the stored key's length (27 otherwise); U and T need a
double- or triple-length current key (26 otherwise).

In PCI HSM compliance mode, where 002 is a PVK only (TPKs 70D, TMKs 80D),
AE still reads both keys as 002 and answers 29: a PVK carries no keys. AG
reads its TMK by role (80D there).

Errors: 10 current key parity · 11 stored key parity · 13 LMK identifier
· 15 malformed field or a reserved option not 0 · 26 key scheme · 27 scheme
and key length differ · 29 in PCI HSM compliance mode (above).

Sources: payShield host command reference, "Translate a TMK, TPK or PVK from
LMK to Another TMK, TPK or PVK" (field layout, both reserved options "must be
0", the response without a check value, 10/11 parity errors); ThalesSim
`TranslateTMKTPKPVKFromLMKToTMKTPKPVK_AE` (its three vectors, the later
version's scheme U kept for a scheme-U key), re-derived in
tests/test_cmd_ae.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, answering

COMMAND = "AE"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    return translate(Fields(request), hsm, kek_type="002", key_type="002", what="TMK/TPK/PVK")


def translate(fields: Fields, hsm: Hsm, *, kek_type: str, key_type: str, what: str) -> bytes:
    """The key of `key_type` under the LMK, encrypted under the LMK-held key of `kek_type` (AE, AG)."""
    kek_field = fields.key(what="current key")
    key_field = fields.key(what=what)
    kek_scheme = None
    if fields.optional(b";"):
        kek_scheme = fields.key_scheme(what="key scheme TMK")
        if fields.text(2, what="reserved options") != "00":
            raise HsmError("15", "reserved options must be 0")
    lmk_id = fields.lmk_id()
    fields.end()

    kek = hsm.key_from_lmk(kek_type, kek_field, lmk_id)
    with answering("11", instead_of="10"):  # parity of the translated key, not of the current one
        key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    scheme = kek_scheme or (key_field[0] if len(key_field) > 16 else "Z")
    return hsm.key_to_kek(kek, key, scheme).encode("ascii")
