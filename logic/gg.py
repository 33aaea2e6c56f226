"""GG — Form a ZMK from three ZMK components.

Three ZMK components, each encrypted under the LMK, are combined into a ZMK:
the unit decrypts them, XORs them together, forces odd parity and returns
the ZMK under LMK pair 04-05.

Request:  GG · ZMK component 1 · ZMK component 2 · ZMK component 3
            (all three 16 H, or all three 32 H; or each U/X + 32 H or T/Y + 48 H)
          · [; key scheme ZMK (1 A, must be 0) · key scheme LMK (1 A) · key check value type (1 N)]
          · [%nn LMK identifier]
Response: GH 00 · ZMK under LMK 04-05 · key check value (16 H; 6 H with check value type 1)

The components are decrypted as key type 000, i.e. under plain LMK 04-05:
the manual calls the pair "a variant of LMK 04-05" without naming the
variant, while ThalesSim decrypts with plain 04-05 and its published vector
verifies that way. A bare 32 H component is the legacy double-length form,
each half encrypted on its own (ANSI X9.17, as scheme X).

Without the `;` block the ZMK comes back in the form its components came
in: Z for 16 H, X for bare 32 H (the vector answers three bare 32 H
components with `X` + 32 H and a 16 H check value), or the components'
own scheme letter.

Errors: 10 parity of the first component · 11 parity of the second or
third, or the components combine to an all-zero key · 13 LMK identifier ·
15 malformed field · 26 key scheme (the ZMK scheme is not 0, or the LMK
scheme is unknown) · 27 components of different lengths, or an LMK scheme
that does not fit the ZMK. The manual's 17 (HSM not in the authorised
state) does not arise: hsmd has no authorised state.

Sources: payShield host command reference, "Form a ZMK from Three ZMK
Components" (field layout; errors 10, 11, 13, 15, 17); ThalesSim
host-command tests (plain LMK 04-05, the vector in tests/test_cmd_gg.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, answering
from hsmd_sdk.keys import check_value

COMMAND = "GG"
VERSION = "1.0.0"

ZMK = "000"
COMPONENTS = 3
_HEX = b"0123456789ABCDEFabcdef"
_BARE_SCHEME = {16: "Z", 32: "X"}  # bare component width -> scheme the ZMK keeps by default


def _components(fields: Fields, count: int) -> tuple[list[str], str]:
    """The `count` component fields and the scheme they share ("" for bare 16 H or 32 H)."""
    if fields.peek(1).upper() in (b"U", b"X", b"T", b"Y"):
        first = fields.key(what="component 1")
        return [first] + [fields.key(what=f"component {i + 1}") for i in range(1, count)], first[0]
    rest = fields.peek(fields.remaining)  # bare components: their width follows from the run of hex digits
    run = len(rest) - len(rest.lstrip(_HEX))
    width = run // count
    if run % count or width not in _BARE_SCHEME:
        raise HsmError("15", f"{run} hex digits are not {count} 16 H or {count} 32 H components")
    return [fields.hex(width, what=f"component {i + 1}") for i in range(count)], ""


def execute(request: bytes, hsm: Hsm) -> bytes:
    return form(Fields(request), hsm, COMPONENTS, bare_stays_bare=False)


def form(fields: Fields, hsm: Hsm, count: int, *, bare_stays_bare: bool) -> bytes:
    """The ZMK the `count` components in `fields` combine to, under the LMK, and its check value (GG, GY).

    Bare components without the `;` block give a ZMK in scheme Z or X, or, with
    `bare_stays_bare`, one as bare as they were (the scheme letter dropped)."""
    components, scheme = _components(fields, count)
    bare = not scheme
    scheme = scheme or _BARE_SCHEME[len(components[0])]
    kcv_type = 0
    if fields.optional(b";"):
        fields.key_scheme(allowed="0", what="key scheme ZMK")
        scheme = fields.key_scheme(what="key scheme LMK")
        kcv_type = fields.kcv_type()
        bare = False
    lmk_id = fields.lmk_id()
    fields.end()

    first, *others = components
    parts = [hsm.key_from_lmk(ZMK, first, lmk_id)]
    with answering("11", instead_of="10"):  # the manual: 10 for the first component, 11 for the others
        parts += [hsm.key_from_lmk(ZMK, component, lmk_id) for component in others]
    zmk = hsm.key_combine(ZMK, parts)
    under_lmk = hsm.key_to_lmk(zmk, scheme, lmk_id)
    if bare and bare_stays_bare and scheme == "X":
        under_lmk = under_lmk[1:]  # scheme X under the LMK is the bare legacy form with a letter
    return under_lmk.encode("ascii") + check_value(hsm.key_check_value(zmk), kcv_type)
