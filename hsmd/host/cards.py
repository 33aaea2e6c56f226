"""Card verification values: Visa CVV / CVV2 / iCVV, Mastercard CVC (the same algorithm).

The card data (account number · expiry · service code) is padded with zeros
to 32 digits; the first 16 are DES-encrypted under CVK A, XORed with the next
16, and TDES-encrypted under CVK A · CVK B. The value is the first three
digits of the result decimalised the Visa way (decimal digits first, then A-F
as 0-5). CVV2 uses service code 000, iCVV 999: the command passes them.
Sources: Visa PIN and card verification (public CVV method), payShield host
command reference "Generate a VISA CVV" (CW); vectors in tests/test_cmd_cw.py.

Dynamic values (PM) derive the card's key from an issuer master key first
(EMV 4.x Book 2, A1.4 Option A/B): Visa dCVV runs the CVV algorithm with the
ATC in place of the PAN's first four digits; Mastercard CVC3 is a TDES
cryptogram over IVCVC3 (a MAC of the track data), the unpredictable number and
the ATC. Sources: jPOS JCESecurityModule (calculatedCVV, verifyCVC3Impl) and
pyemv (kd, cvv) for the algorithms; vectors in tests/test_cmd_pm.py.
"""

from __future__ import annotations

import hashlib

from hsmd.host import des, macs
from hsmd.host.errors import HostError
from hsmd.host.keys import force_odd_parity
from hsmd.host.pins import DIGITS, decimal_digits


def cvv(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    if len(cvk) != 16:
        raise HostError("27", "CVK A/B must be a double-length key")
    data = pan + expiry + service_code
    if not DIGITS.issuperset(data) or not 1 <= len(pan) <= 19 or len(expiry) != 4 or len(service_code) != 3:
        raise HostError("15", "card data must be decimal: PAN of 1-19 digits, expiry 4, service code 3")
    data = data.ljust(32, "0")
    step = des.xor(des.encrypt_ecb(cvk[:8], bytes.fromhex(data[:16])), bytes.fromhex(data[16:]))
    return decimal_digits(des.encrypt_ecb(cvk, step).hex().upper(), 3)


# --- dynamic card verification values (payShield PM) ---


def derive_icc_key(mk: bytes, method: str, pan: str, psn: str) -> bytes:
    """EMV 4.x Book 2 A1.4: the card's key from an issuer master key, Option A or B.

    Option A: X = the rightmost 16 digits of PAN · PSN (zero-padded on the left);
    key = TDES(MK, X) · TDES(MK, X xor FF..FF), odd parity. Option B, for a PAN
    longer than 16 digits: X = the first 16 decimal digits of SHA-1(PAN · PSN)
    (then A-F as 0-5); for a PAN of 16 digits or fewer Option B is Option A.
    """
    if len(mk) != 16:
        raise HostError("27", "the master key must be double length")
    digits = pan + psn
    if not DIGITS.issuperset(digits) or not pan or len(psn) != 2:
        raise HostError("15", "PAN and PAN sequence number must be decimal")
    if method == "B" and len(pan) > 16:
        packed = bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
        x = decimal_digits(hashlib.sha1(packed).hexdigest().upper(), 16)  # EMV mandates SHA-1 here
    elif method in ("A", "B"):
        x = digits[-16:].rjust(16, "0")
    else:
        raise HostError("15", f"key derivation method {method!r} is not A or B")
    block = bytes.fromhex(x)
    left = des.encrypt_ecb(mk, block)
    right = des.encrypt_ecb(mk, bytes(b ^ 0xFF for b in block))
    return force_odd_parity(left + right)


def dcvv(mk: bytes, method: str, pan: str, expiry: str, service_code: str, atc: str) -> str:
    """Visa dCVV: the CVV algorithm under the card's key (PSN 00), the ATC's 4 digits in place of the PAN's first 4."""
    if len(atc) != 4 or not DIGITS.issuperset(atc):
        raise HostError("15", "ATC must be 4 digits")
    return cvv(derive_icc_key(mk, method, pan, "00"), atc + pan[4:], expiry, service_code)


def cvc3(mk: bytes, method: str, pan: str, psn: str, track_template: bytes, un: bytes, atc: int) -> str:
    """Mastercard CVC3: IVCVC3 = the last 2 bytes of the retail MAC of the track template under the
    card's key; CVC3 = the last 2 bytes of TDES(key, IVCVC3 · UN · ATC), as 5 decimal digits."""
    if len(un) != 4 or not 0 <= atc <= 0xFFFF:
        raise HostError("15", "unpredictable number is 4 bytes and ATC 2")
    key = derive_icc_key(mk, method, pan, psn)
    iv = macs.mac(key, 3, 2, bytes(8), track_template, final=True)[-2:]  # ISO 9797-1 alg. 3, padding 2
    value = des.encrypt_ecb(key, iv + un + atc.to_bytes(2, "big"))
    return f"{int.from_bytes(value[-2:], 'big'):05d}"
