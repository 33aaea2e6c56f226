"""Card verification values: Visa CVV / CVV2 / iCVV, Mastercard CVC (the same algorithm).

The card data (account number · expiry · service code) is padded with zeros
to 32 digits; the first 16 are DES-encrypted under CVK A, XORed with the next
16, and TDES-encrypted under CVK A · CVK B. The value is the first three
digits of the result decimalised the Visa way (decimal digits first, then A-F
as 0-5). CVV2 uses service code 000, iCVV 999: the command passes them.
Sources: Visa PIN and card verification (public CVV method), payShield host
command reference "Generate a VISA CVV" (CW); vectors in tests/test_cmd_cw.py.
"""

from __future__ import annotations

from hsmd.host import des
from hsmd.host.errors import HostError
from hsmd.host.pins import DIGITS, decimal_digits


def cvv(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    if len(cvk) != 16:
        raise HostError("27", "CVK A/B must be a double-length key")
    data = pan + expiry + service_code
    if not DIGITS.issuperset(data) or not 1 <= len(pan) <= 19 or len(expiry) != 4 or len(service_code) != 3:
        raise HostError("15", "card data must be decimal: PAN of 1-19 digits, expiry 4, service code 3")
    data = data.ljust(32, "0")
    step = bytes(a ^ b for a, b in zip(des.encrypt_ecb(cvk[:8], bytes.fromhex(data[:16])), bytes.fromhex(data[16:]), strict=True))
    return decimal_digits(des.encrypt_ecb(cvk, step).hex().upper(), 3)
