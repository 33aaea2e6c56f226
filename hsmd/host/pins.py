"""PINs as the host holds them: PIN block formats, the PIN under the LMK, IBM 3624 and Visa PVV.

Nothing here leaves the host in the clear: commands get PIN handles and ask
for encrypted blocks, lengths, offsets and PVVs.

PIN block formats, by payShield format code (payShield host command reference,
"PIN block formats"; ISO 9564-1; notes in tests/test_pins.py):

| code | clear block                                              | XOR with          |
|------|----------------------------------------------------------|-------------------|
| 01   | ISO 0: 0 · length · PIN · F fill                          | 0000 · account 12 |
| 02   | Docutel: length · PIN · decimal fill (PINs of 4-6 digits) | —                 |
| 03   | Diebold / IBM 3624: PIN · F fill                          | —                 |
| 04   | PLUS: as ISO 0, the account is the PAN's leftmost 12      | 0000 · account 12 |
| 05   | ISO 1: 1 · length · PIN · random fill                     | —                 |
| 34   | ISO 2: 2 · length · PIN · F fill                          | —                 |
| 35   | Mastercard Pay Now & Pay Later: as ISO 2                  | 0000 · account 12 |
| 47   | ISO 3: 3 · length · PIN · random fill from A-F            | 0000 · account 12 |
| 48   | ISO 4 (AES, 16 bytes): 4 · length · PIN · A fill · 16 random nibbles | enciphered twice around the PAN field |

Format 48 is ISO 9564-1:2017 format 4, the only format an AES PIN key takes
(and only an AES key takes it: 23 otherwise). It binds the whole PAN (12-19
digits): the PAN field is the PAN's length less 12 in one nibble, the PAN,
zero fill to 32 nibbles (a PAN shorter than 12 is zero-padded on the left to 12);
the block is E(E(PIN field) XOR PAN field).

A block that decodes to a length nibble outside 4..12 is error 24; any other
defect (control nibble, a PIN digit that is not decimal, wrong fill) is 20,
as the manual states for format 05. Formats 41 and 42 (Visa PIN change) XOR
with a card key, not the account number; they serve the EMV PIN change
command and are answered 23 here, as a 10K answers them outside KU.
"""

from __future__ import annotations

import secrets
from typing import Final

from hsmd.host import aes, des
from hsmd.host.errors import HostError

MIN_PIN, MAX_PIN = 4, 12
DIGITS: Final = frozenset("0123456789")
FORMATS: Final = ("01", "02", "03", "04", "05", "34", "35", "47")
ISO4: Final = "48"  # the AES format: its own functions below
MIN_PAN, MAX_PAN = 12, 19
# Formats whose block is bound to the account number (ISO 9564-1 formats 0 and 3, and their kin).
_ACCOUNT_BOUND: Final = {"01": "0", "04": "0", "35": "2", "47": "3"}
_CONTROL: Final = {"01": "0", "04": "0", "05": "1", "34": "2", "35": "2", "47": "3"}
# PCI HSM: a PIN that arrived in an account-bound ISO format (0, 3, 4) leaves only in one of them.
PCI_ISO_ONLY: Final = frozenset({"01", "47", "48"})


def _check_pin(pin: str) -> None:
    if not MIN_PIN <= len(pin) <= MAX_PIN:
        raise HostError("24", f"PIN of {len(pin)} digits (4 to 12)")
    if not DIGITS.issuperset(pin):
        raise HostError("20", "PIN digits are not decimal")


def _account_block(account: str) -> int:
    if len(account) != 12 or not DIGITS.issuperset(account):
        raise HostError("15", "account number must be 12 digits")
    return int(account, 16)  # "0000" + 12 digits, read as 16 nibbles


def _random_nibbles(n: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def encode(fmt: str, pin: str, account: str) -> bytes:
    """The clear 8-byte PIN block of `pin` in format `fmt`."""
    _check_pin(pin)
    n = len(pin)
    if fmt in ("01", "04", "34", "35"):
        text = f"{_CONTROL[fmt]}{n:X}{pin}".ljust(16, "F")
    elif fmt == "05":
        text = f"1{n:X}{pin}" + _random_nibbles(14 - n, "0123456789ABCDEF")
    elif fmt == "47":
        text = f"3{n:X}{pin}" + _random_nibbles(14 - n, "ABCDEF")
    elif fmt == "03":
        text = pin.ljust(16, "F")
    elif fmt == "02":
        if n > 6:
            raise HostError("24", "Docutel PIN blocks hold 4 to 6 digits")
        text = f"{n}{pin}" + _random_nibbles(15 - n, "0123456789")
    else:
        raise HostError("23", f"PIN block format {fmt!r} not supported")
    value = int(text, 16)
    if fmt in _ACCOUNT_BOUND:
        value ^= _account_block(account)
    return value.to_bytes(8, "big")


def decode(fmt: str, block: bytes, account: str) -> str:
    """The PIN in a clear PIN block of format `fmt` (20: not a valid block, 24: length outside 4..12)."""
    if fmt not in FORMATS:
        raise HostError("23", f"PIN block format {fmt!r} not supported")
    value = int.from_bytes(block, "big")
    if fmt in _ACCOUNT_BOUND:
        value ^= _account_block(account)
    text = f"{value:016X}"
    if fmt == "03":
        pin = text.split("F", 1)[0]
        fill = text[len(pin) :]
        if set(fill) != {"F"} and fill:
            raise HostError("20", "IBM 3624 block: F fill broken")
    elif fmt == "02":
        if not DIGITS.issuperset(text):
            raise HostError("20", "Docutel block is not decimal")
        length = int(text[0])
        if not 4 <= length <= 6:
            raise HostError("24", f"Docutel PIN length {length}")
        pin = text[1 : 1 + length]
    else:
        if text[0] != _CONTROL[fmt]:
            raise HostError("20", f"control nibble {text[0]} in a format {fmt} block")
        length = int(text[1], 16)
        if not MIN_PIN <= length <= MAX_PIN:
            raise HostError("24", f"PIN length nibble {length}")
        pin, fill = text[2 : 2 + length], text[2 + length :]
        if fmt == "47" and not set(fill) <= set("ABCDEF"):
            raise HostError("20", "ISO 3 fill is not A-F")
        if fmt != "47" and fmt != "05" and set(fill) - {"F"}:
            raise HostError("20", f"format {fmt} fill is not F")
    if not DIGITS.issuperset(pin):
        raise HostError("20", "PIN digits are not decimal")
    if not MIN_PIN <= len(pin) <= MAX_PIN:
        raise HostError("24", f"PIN of {len(pin)} digits")
    return pin


def _pan_field(pan: str) -> bytes:
    if not len(pan) <= MAX_PAN or not DIGITS.issuperset(pan) or not pan:
        raise HostError("15", f"format 48 binds the whole PAN: {len(pan)} characters, not 1-19 digits")
    padded = pan.rjust(MIN_PAN, "0")
    return bytes.fromhex(f"{len(padded) - MIN_PAN:X}{padded}".ljust(32, "0"))


def _iso4_check(fmt: str, aes_key: bool) -> None:
    if (fmt == ISO4) != aes_key:
        raise HostError("23", "PIN block format 48 (ISO 4) goes with an AES key, and an AES key with format 48 only")


def encrypt_iso4(key: bytes, pin: str, pan: str) -> str:
    _check_pin(pin)
    field = bytes.fromhex(f"4{len(pin):X}{pin}".ljust(16, "A") + _random_nibbles(16, "0123456789ABCDEF"))
    return aes.encrypt_ecb(key, des.xor(aes.encrypt_ecb(key, field), _pan_field(pan))).hex().upper()


def decrypt_iso4(key: bytes, block: bytes, pan: str) -> str:
    text = aes.decrypt_ecb(key, des.xor(aes.decrypt_ecb(key, block), _pan_field(pan))).hex().upper()
    if text[0] != "4":
        raise HostError("20", f"control nibble {text[0]} in a format 48 block")
    length = int(text[1], 16)
    if not MIN_PIN <= length <= MAX_PIN:
        raise HostError("24", f"PIN length nibble {length}")
    pin, fill = text[2 : 2 + length], text[2 + length : 16]
    if not DIGITS.issuperset(pin) or set(fill) - {"A"}:
        raise HostError("20", "format 48 block: PIN digits not decimal or fill not A")
    return pin


def encrypt_block(key: bytes, fmt: str, pin: str, account: str, *, whitened: bool = False, aes_key: bool = False) -> str:
    """The PIN block under `key`; `whitened` (single-DES DUKPT, X9.24-1:1998): DES_K(P xor K) xor K.

    An AES key (`aes_key`) makes format 48 blocks (32 H), bound to `account`, the whole PAN.
    """
    _iso4_check(fmt, aes_key)
    if aes_key:
        return encrypt_iso4(key, pin, account)
    clear = encode(fmt, pin, account)
    encrypted = des.xor(des.encrypt_ecb(key, des.xor(clear, key)), key) if whitened else des.encrypt_ecb(key, clear)
    return encrypted.hex().upper()


def decrypt_block(key: bytes, fmt: str, block: str, account: str, *, whitened: bool = False, aes_key: bool = False) -> str:
    _iso4_check(fmt, aes_key)
    size = 32 if aes_key else 16
    if len(block) != size:
        raise HostError("15", f"PIN block must be {size} hex characters")
    try:
        data = bytes.fromhex(block)
    except ValueError:
        raise HostError("15", "PIN block is not hex") from None
    if aes_key:
        return decrypt_iso4(key, data, account)
    clear = des.xor(des.decrypt_ecb(key, des.xor(data, key)), key) if whitened else des.decrypt_ecb(key, data)
    return decode(fmt, clear, account)


def random_pin(length: int) -> str:
    if not MIN_PIN <= length <= MAX_PIN:
        raise HostError("24", f"PIN length {length} (4 to 12)")
    return "".join(secrets.choice("0123456789") for _ in range(length))


# --- the PIN under LMK pair 02-03 ---
#
# A real unit stores a PIN of n digits as n + 1 decimal digits under LMK pair
# 02-03, bound to the account number; its algorithm is not public. hsmd keeps
# that form (so fields have the width a 10K gives them) with a format-preserving
# encryption of its own: a ten-round Feistel network over "0" + PIN, whose round
# function is TDES under pair 02-03 keyed by the account number, round and length.
# The leading zero is checked on decryption (error 14 for any other digit).

_ROUNDS: Final = 10


def _bcd(digits: str) -> bytes:
    return bytes.fromhex(digits.rjust(16, "0")[-16:])


def _round_values(pair: bytes, account: str, n: int) -> list[int]:
    """One 64-bit tweak per round, from the account number and the length."""
    base = des.encrypt_ecb(pair, _bcd(account), lmk_key=True)
    return [int.from_bytes(des.encrypt_ecb(pair, bytes([r, n]) + base[2:], lmk_key=True), "big") for r in range(_ROUNDS)]


def _feistel(pair: bytes, account: str, digits: str, *, decrypt: bool) -> str:
    n = len(digits)
    u = n // 2
    mod_a, mod_b = 10**u, 10 ** (n - u)
    a, b = int(digits[:u]), int(digits[u:])
    tweaks = _round_values(pair, account, n)

    def f(r: int, x: int) -> int:
        block = (tweaks[r] ^ x).to_bytes(8, "big")
        return int.from_bytes(des.encrypt_ecb(pair, block, lmk_key=True), "big")

    # Alternating rounds: even rounds change a from b, odd rounds change b from a.
    rounds = range(_ROUNDS - 1, -1, -1) if decrypt else range(_ROUNDS)
    for r in rounds:
        if r % 2 == 0:
            a = (a - f(r, b)) % mod_a if decrypt else (a + f(r, b)) % mod_a
        else:
            b = (b - f(r, a)) % mod_b if decrypt else (b + f(r, a)) % mod_b
    return f"{a:0{u}d}{b:0{n - u}d}"


def to_lmk(pair: bytes, pin: str, account: str, *, simulator: bool = False) -> str:
    """The PIN under LMK pair 02-03: n + 1 digits.

    `simulator` is ThalesSim's convention ("0" + the clear PIN), which published
    simulator vectors use; it is not encryption and is off unless configured.
    """
    _check_pin(pin)
    plain = "0" + pin
    return plain if simulator else _feistel(pair, account, plain, decrypt=False)


def from_lmk(pair: bytes, encrypted: str, account: str, *, simulator: bool = False) -> str:
    """The PIN of a PIN under LMK pair 02-03 (error 14 if it is not one)."""
    if not MIN_PIN + 1 <= len(encrypted) <= MAX_PIN + 1 or not DIGITS.issuperset(encrypted):
        raise HostError("14", "PIN under LMK must be 5 to 13 digits")
    if len(account) != 12 or not DIGITS.issuperset(account):
        raise HostError("15", "account number must be 12 digits")
    plain = encrypted if simulator else _feistel(pair, account, encrypted, decrypt=True)
    if plain[0] != "0":
        raise HostError("14", "PIN under LMK fails its check digit")
    return plain[1:]


# --- IBM 3624 and Visa PVV (payShield DA/DE/EE, DC/DG; IBM 3624 PIN method; Visa PIN verification) ---


def decimalise(hexdigits: str, table: str) -> str:
    """IBM 3624: every hex digit through the 16-digit decimalisation table."""
    return hexdigits.upper().translate(str.maketrans("0123456789ABCDEF", table))


def check_plain_table(table: str) -> None:
    """A clear decimalisation table: 16 digits, at least 8 distinct, none more than 4 times (error 25)."""
    if len(table) != 16 or not DIGITS.issuperset(table):
        raise HostError("25", "decimalisation table must be 16 decimal digits")
    if len(set(table)) < 8 or max(table.count(d) for d in set(table)) > 4:
        raise HostError("25", "decimalisation table fails the 8-distinct, at-most-4-repeats check")


def natural_pin(pvk: bytes, validation_data: str, table: str) -> str:
    """The 16 decimalised digits of the encrypted validation data; a PIN of n digits uses the first n."""
    if len(validation_data) != 16 or not set(validation_data.upper()) <= set("0123456789ABCDEF"):
        raise HostError("15", "PIN validation data must be 16 hex characters once N is replaced")
    encrypted = des.encrypt_ecb(pvk, bytes.fromhex(validation_data)).hex()
    return decimalise(encrypted, table)


def ibm_offset(natural: str, pin: str) -> str:
    return "".join(str((int(p) - int(q)) % 10) for p, q in zip(pin, natural, strict=False))


def ibm_pin(natural: str, offset: str) -> str:
    return "".join(str((int(q) + int(o)) % 10) for q, o in zip(natural, offset, strict=False))


def visa_pvv(pvk: bytes, account: str, pvki: int, pin: str) -> str:
    """TSP = 11 rightmost account digits · PVKI · first 4 PIN digits, TDES under the PVK pair; 4 digits."""
    if len(pvk) < 16:
        raise HostError("27", "the PVK pair must be double length")
    if len(account) != 12 or not DIGITS.issuperset(account):
        raise HostError("15", "account number must be 12 digits")
    if not 0 <= pvki <= 9:
        raise HostError("15", "PVKI is one digit")
    tsp = f"{account[1:]}{pvki}{pin[:4]}"
    return decimal_digits(des.encrypt_ecb(pvk, bytes.fromhex(tsp)).hex().upper(), 4)


def decimal_digits(hexdigits: str, count: int) -> str:
    """Visa's decimalisation: the decimal digits left to right, then A-F as 0-5, the first `count`."""
    digits = [c for c in hexdigits if c in DIGITS]
    digits += [str(int(c, 16) - 10) for c in hexdigits if c not in DIGITS]
    return "".join(digits[:count])
