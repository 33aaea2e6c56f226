"""Field conventions the PIN and card commands share (payShield host command reference).

- Account number: 12 N, the PAN's 12 rightmost digits excluding the check
  digit. When a PIN block format of the request is 04 (PLUS), the field is
  18 N instead: the PAN right-justified, padded on the left with F, and
  format 04 binds the PAN's 12 leftmost digits. When one is 48 (ISO 9564-1
  format 4, AES), which binds the whole PAN, the field is the PAN, 12-19 N,
  ended by `;` (a "variable PAN and delimiter", as a manual-citing payShield
  proxy reads the CA/CC pages; no public manual text shows it). The other
  formats of the request then take their account digits from that PAN.
- PIN block: 16 H, or 32 H under an AES key (format 48's 16 bytes).
- PIN validation data (IBM 3624): 12 characters of hex and one `N`, which
  stands for the last five digits of the account number, giving 16 H.
- Offset (IBM 3624): 12 H, the offset digits left-justified and padded with F.
- A PIN under the LMK is PIN length + 1 digits; where fixed fields follow it,
  its width is what the request leaves for it (`Fields.before`).
"""

from __future__ import annotations

from hsmd_sdk import keys
from hsmd_sdk.errors import HsmError
from hsmd_sdk.fields import Fields

_VALIDATION_CHARS = frozenset("0123456789ABCDEFN")

PLUS = "04"
ISO4 = "48"  # ISO 9564-1 format 4: AES PIN keys only (the host answers 23 otherwise)
MAX_PIN_LENGTH = b"12"  # the maximum PIN length field of CA, CC, DA, EA: always 12


def read_pan(fields: Fields) -> str:
    """A primary account number: 1-19 digits ended by `;` (CW, CY, PM)."""
    if b";" not in fields.peek(20):
        raise HsmError("15", "PAN of 1-19 digits and ; expected")
    pan = fields.delimited(b";", what="PAN")
    if not pan.isdigit():
        raise HsmError("15", "PAN must be 1-19 digits")
    return pan.decode("ascii")


def read_format(fields: Fields, what: str = "PIN block format") -> str:
    """A PIN block format code: 2 N (15 if not digits; the host answers 23 for an unknown code)."""
    return f"{fields.numeric(2, what=what):02d}"


class Pan(str):
    """A whole PAN read from the account field of a request with format 48."""


def read_account(fields: Fields, *formats: str) -> str:
    """The account number field: the PAN and `;` if any of `formats` is 48, 18 characters if one is 04 (PLUS), else 12 N."""
    if ISO4 in formats:
        pan = read_pan(fields)
        if not 12 <= len(pan) <= 19:
            raise HsmError("15", "a format 48 PIN block binds a PAN of 12-19 digits")
        return Pan(pan)
    if PLUS in formats:
        text = fields.text(18, what="account number").upper()
        pan = text.lstrip("F")
        if not pan.isdigit() or not 13 <= len(pan) <= 18:
            raise HsmError("15", "PLUS account number must be 13-18 digits padded on the left with F")
        return pan
    raw = fields.fixed(12, what="account number")
    if not raw.isdigit():
        raise HsmError("15", "account number must be 12 digits")
    return raw.decode("ascii")


def account_for(pin_format: str, account: str) -> str:
    """What a PIN block of `pin_format` is bound to (12 digits; the whole PAN for 48), from `read_account`'s answer."""
    if pin_format == ISO4 or (len(account) == 12 and not isinstance(account, Pan)):
        return str(account)
    return account[:12] if pin_format == PLUS else account.rjust(13, "0")[-13:-1]


def read_block(fields: Fields, key_field: str, what: str = "PIN block") -> str:
    """A PIN block under the key `key_field` names: 16 H, or 32 H for an AES key (format 48)."""
    return fields.hex(32 if keys.is_aes(key_field) else 16, what=what)


def read_max_pin_length(fields: Fields) -> None:
    if fields.fixed(2, what="maximum PIN length") != MAX_PIN_LENGTH:
        raise HsmError("15", "maximum PIN length must be 12")


def validation_data(data: str, account: str) -> str:
    """16 H from the 12-character PIN validation data: `N` becomes the account's last five digits."""
    if data.count("N") != 1 or not _VALIDATION_CHARS.issuperset(data):
        raise HsmError("15", "PIN validation data must be 11 hex characters and one N")
    return data.replace("N", account[-5:])


def read_validation_data(fields: Fields, account: str) -> str:
    return validation_data(fields.text(12, what="PIN validation data").upper(), account)


def read_offset(fields: Fields) -> str:
    """The offset digits of a 12 H offset field (digits, then F to the end)."""
    text = fields.text(12, what="offset").upper()
    digits = text.rstrip("F")
    if not digits.isdigit() or not 4 <= len(digits) <= 12:
        raise HsmError("15", "offset must be 4-12 digits left-justified and padded with F")
    return digits


def offset_field(digits: str) -> bytes:
    return digits.ljust(12, "F").encode("ascii")


def read_check_length(fields: Fields) -> int:
    """IBM 3624 check length: the minimum PIN length, 04-12 (15 otherwise)."""
    length = fields.numeric(2, what="check length")
    if not 4 <= length <= 12:
        raise HsmError("15", f"check length {length} outside 04-12")
    return length


def read_lmk_pin(fields: Fields, *, before: int = 0) -> str:
    """A PIN under the LMK: 5-13 digits, followed by `before` bytes of fixed fields (and an optional %nn)."""
    raw = fields.before(before, what="PIN under LMK")
    if not raw.isdigit() or not 5 <= len(raw) <= 13:
        raise HsmError("15", "PIN under LMK must be 5-13 digits")
    return raw.decode("ascii")
