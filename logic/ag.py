"""AG — Translate a TAK from LMK to TMK.

A terminal authentication key stored under LMK pair 16-17 (key type 003) is
encrypted under the terminal's TMK so that the terminal can load it.

Request:  AG · TMK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15;
          under 36-37 as key type 80D in PCI HSM compliance mode)
          · TAK under LMK 16-17 (same forms)
          · [; key scheme TMK (1 A: Z, U, T, X, Y) · reserved (1 A: 0) · reserved (1 A: 0)]
          · [%nn LMK identifier]
Response: AH 00 · TAK under the TMK (no check value)

The rules are AE's (ae.translate): without the `;` block the TAK keeps the
scheme it has under the LMK; the key scheme must fit the TAK's length (27)
and U or T need a double- or triple-length TMK (26).

Errors: 10 TMK parity · 11 TAK parity · 13 LMK identifier · 15 malformed
field or a reserved option not 0 · 26 key scheme · 27 scheme and key length
differ.

Sources: payShield host command reference, "Translate a TAK from LMK to TMK
Encryption" (field layout, both reserved options "must be 0", the response
without a check value, 10/11 parity errors); Shulyaka/iso8583tools
`fields_thales.frm` (the same layout); ThalesSim
`TranslateTAKFromLMKToTMK_AG` (its vector's TAK under the TMK, re-derived in
tests/test_cmd_ag.py; ThalesSim also appends a check value, which the manual's
response does not have).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm

from logic.ae import translate

COMMAND = "AG"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    return translate(Fields(request), hsm, kek_type=hsm.key_type_code("TMK"), key_type="003", what="TAK")
