"""PM — Verify a dynamic CVV (Visa dCVV) or CVC3 (Mastercard contactless).

The card's key is derived from the issuer master key with EMV key derivation
Option A or B; the dynamic value is computed from it and compared with the
one the request carries.

Request:  PM · scheme ID (1 N: 0 Visa dCVV, 1 Mastercard CVC3) · version (1 N)
          · master key (32 H or U/X + 32 H: MK-AC, type 109, for scheme 0;
            MK-CVC3, type 709, for scheme 1; both under LMK 28-29)
          · key derivation method (1 A: A or B, EMV Option A/B) · PAN (1-19 N) · ;
  scheme 0: expiry date (4 N) · service code (3 N) · ATC (6 N, right-justified)
            · dCVV (3 N)
  scheme 1: PAN sequence number (2 N) · track data length (3 N) · track data
            · unpredictable number (8 H) · ATC (5 N, decimal) · CVC3 (5 A: digits
            right-aligned; a leading X is a position not checked)
          · [%nn LMK identifier]
Response: PN 00, or PN 01 (verification failure) followed, in the authorised
          state only, by the value the unit computed (as many digits as checked).

Visa dCVV: the CVV algorithm under the card's key (PAN sequence number 00)
with the ATC's four rightmost digits in place of the PAN's first four, and the
card's own service code. Mastercard CVC3: IVCVC3 is the last two bytes of an
ISO 9797-1 algorithm 3 MAC (padding 2) of the track data; the CVC3 is the last
two bytes of TDES(IVCVC3 · UN · ATC) as five decimal digits. The track data is
the track data template the issuer personalised (its dynamic positions zeroed,
as jPOS and pyemv take it); it arrives as raw bytes (the length counts bytes)
or as hex text, two characters per byte (the form of ThalesSim's published
tests); the length of the request tells the two apart. Versions: scheme 0
version 0; scheme 1 versions 0 and 2 (ThalesSim's "PAN and track data").

Errors: 01 verification failure · 10 master key parity · 13 LMK identifier ·
15 malformed field, unknown scheme, version or derivation method · 27 master
key not double length.

Sources: payShield host command reference, "Verify a Dynamic CVV" (scheme 0
layout, 01 with the value in the authorised state); ThalesSim
(nickntg/thalessimulatorlibrary, HostCommands/VerifyDynamicCVV_PM.xml, scheme 1
layout; ThalesCore.Tests/HostCommandTests.vb, TestVerifyDynamicCVV); jPOS
JCESecurityModule (calculatedCVV, verifyCVC3Impl) for the algorithms; vectors
in tests/test_cmd_pm.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, HsmError, Reply
from hsmd_sdk.pins import read_pan

COMMAND = "PM"
VERSION = "1.0.0"

_KEY_TYPES = {"0": "109", "1": "709"}  # MK-AC for Visa dCVV, MK-CVC3 for Mastercard
_VERSIONS = {"0": ("0",), "1": ("0", "2")}
_CVC3_TAIL = 8 + 5 + 5  # unpredictable number · ATC · CVC3, after the track data


def _track_hex(fields: Fields, length: int) -> str:
    """The track data as hex: raw bytes, or hex text when exactly that many characters remain for it."""
    rest = fields.remaining - _CVC3_TAIL - (3 if fields.peek(fields.remaining)[-3:-2] == b"%" else 0)
    if rest == 2 * length and length:
        return fields.hex(2 * length, what="track data")
    return fields.fixed(length, what="track data").hex().upper()


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    scheme = fields.text(1, what="scheme ID")
    version = fields.text(1, what="version")
    if scheme not in _KEY_TYPES or version not in _VERSIONS[scheme]:
        raise HsmError("15", f"scheme {scheme!r} version {version!r} not supported")
    mk_field = fields.key_pair(after=2, until=b";", what="master key")
    method = fields.text(1, what="key derivation method").upper()
    if method not in ("A", "B"):
        raise HsmError("15", f"key derivation method {method!r} not A or B")
    pan = read_pan(fields)

    if scheme == "0":
        expiry = f"{fields.numeric(4, what='expiry date'):04d}"
        service_code = f"{fields.numeric(3, what='service code'):03d}"
        atc = f"{fields.numeric(6, what='ATC'):06d}"
        given = f"{fields.numeric(3, what='dCVV'):03d}"
        lmk_id = fields.lmk_id()
        fields.end()
        mk = hsm.key_from_lmk(_KEY_TYPES[scheme], mk_field, lmk_id)
        computed = hsm.card_dcvv(mk, method, pan, expiry, service_code, atc[-4:])
    else:
        psn = f"{fields.numeric(2, what='PAN sequence number'):02d}"
        track = _track_hex(fields, fields.numeric(3, what="track data length"))
        un = fields.hex(8, what="unpredictable number")
        atc_value = fields.numeric(5, what="ATC")
        cvc3 = fields.text(5, what="CVC3").upper()
        given = cvc3.lstrip("X")
        if not given.isdigit() or atc_value > 0xFFFF:
            raise HsmError("15", "CVC3 must be digits after any X; ATC at most 65535")
        lmk_id = fields.lmk_id()
        fields.end()
        mk = hsm.key_from_lmk(_KEY_TYPES[scheme], mk_field, lmk_id)
        computed = hsm.card_cvc3(mk, method, pan, psn, track, un, atc_value)[-len(given) :]

    if hmac.compare_digest(computed, given):
        return b""
    return Reply("01", computed.encode("ascii") if hsm.authorised() else b"")
