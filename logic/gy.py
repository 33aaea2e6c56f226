"""GY — Form a ZMK from 2 to 9 ZMK components.

GG with a count: the components, each encrypted under LMK pair 04-05, are
decrypted, XORed together and forced to odd parity, and the ZMK is returned
under LMK pair 04-05 (gg.form).

Request:  GY · number of components (1 N: 2-9)
          · ZMK components (all 16 H, or all 32 H; or each U/X + 32 H or T/Y + 48 H)
          · [; key scheme ZMK (1 A, must be 0) · key scheme LMK (1 A) · key check value type (1 N)]
          · [%nn LMK identifier]
Response: GZ 00 · ZMK under LMK 04-05 · key check value (16 H; 6 H with check value type 1)

Without the `;` block the ZMK comes back in the form its components came in:
bare 16 H or bare 32 H (the legacy double-length form, each half under the
LMK on its own) or the components' scheme letter. Unlike GG, whose vector
answers bare 32 H components in scheme X, GY's vector drops the letter.

Errors: 03 number of components not 2-9 · 10 parity of the first component
· 11 parity of another, or the components combine to an all-zero key · 13
LMK identifier · 15 malformed field · 26 key scheme · 27 components of
different lengths, or an LMK scheme that does not fit the ZMK. The manual's
17 (not in the authorised state) does not arise: hsmd's authorised state
covers clear PINs only.

Sources: ThalesSim `FormZMKFromTwoToNineComponents_GY` (field layout, 03 for
a count outside 2-9, 10/11 parity, the `;` block as GG's, its vectors with
and without the block, re-derived in tests/test_cmd_gy.py); the number of
components and error 03 as A4 reads them (payShield host command reference,
"Form a Key from Encrypted Components").
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

from logic.a4 import MAX_COMPONENTS, MIN_COMPONENTS
from logic.gg import form

COMMAND = "GY"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    count = fields.numeric(1, what="number of components")
    if not MIN_COMPONENTS <= count <= MAX_COMPONENTS:
        raise HsmError("03", f"{count} components, {MIN_COMPONENTS} to {MAX_COMPONENTS} allowed")
    return form(fields, hsm, count, bare_stays_bare=True)
