"""G0 — Translate a PIN from BDK to ZPK encryption (Triple-DES DUKPT).

A PIN block from a DUKPT PIN pad, encrypted under the terminal's current
PIN key (derived from the BDK and the key serial number, ANSI X9.24-1:2004
TDES DUKPT), is decrypted and re-encrypted under a ZPK for another node.

Request:  G0 · BDK (32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 28-29, key type 009)
          · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · KSN descriptor (3 H) · key serial number (12-20 H)
          · source PIN block (16 H) · source PIN block format (2 N: 01 only)
          · destination PIN block format (2 N: 01 ANSI or 04 PLUS)
          · account number (12 N) · [%nn LMK identifier]
Response: G1 00 · PIN length (2 N) · destination PIN block (16 H)
          · destination PIN block format (2 N, as received)

The KSN descriptor is three hex digits: the lengths of the BDK identifier,
the sub-key identifier and the device identifier; the transaction counter
takes 5 more digits. A KSN longer than the descriptor says must be padded on
the left with F (ThalesSim sends descriptor 605 with FFFF + 16 digits); a
KSN shorter than it, or with anything but F in the padding, is malformed
(15: hsmd's choice, no public source says what a unit does). For the
derivation the KSN is right-justified in 20 H and padded on the left with F.
The account field is 12 N for format 04 too (the manual lists these DUKPT
commands with a 12 N account, not among those with the 18 N PLUS field): a
PLUS block is bound to the 12 digits given. The payShield 10K options (an
AES DUKPT BDK flag, BDK-to-BDK translation, a second PAN) are not
implemented: no public source gives the AES DUKPT layout of G0.

Errors: 10 BDK parity · 11 ZPK parity · 13 LMK identifier · 15 malformed
field (KSN and descriptor included) · 20 PIN block not valid · 23 PIN block
format code (source not 01, destination not 01/04) · 24 PIN length · 27 BDK
not double or triple length.

This module also holds what the DUKPT commands share (CI, GO, GQ, GW import
it): the BDK, the KSN and its descriptor, and the optional DUKPT MAC part.

Sources: payShield host command reference, "Translate a PIN from *BDK
Encryption to Interchange Key Encryption (Triple-DES DUKPT)" (layout, the
01-only source format, 01/04 destination) and "Verify a PIN Using the IBM
Method (Triple-DES DUKPT)" (the MAC part); softwaregroup-bg/ut-codec-payshield
`messages.json` (translatePinBdkBdkZpk: error codes 10 11 20 23 27, response
framing); nickntg/thalessimulatorlibrary
`ThalesCore/XMLDefs/HostCommands/TranslatePINFromDUKPTToZPK3DES_G0.xml` (23
for a source format other than 01) and `ThalesCore.Tests/HostCommandTests.vb`
(vectors in tests/test_cmd_g0.py); andyorrock.typepad.com "Doing PIN
Translation with DUKPT" (the KSN descriptor's three digits); jpos/jPOS
`DUKPTTest.java` (TDES DUKPT vectors).
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply, answering, pins

COMMAND = "G0"
VERSION = "1.0.0"

BDK = "009"
KSN_MIN, KSN_MAX = 12, 20
COUNTER_DIGITS = 5
# MAC mode of GO GQ (1-3) and GW (1-6): (verify?, slice of the 16 H MAC block).
MAC_MODES = {"1": (True, 0, 16), "2": (True, 0, 8), "3": (True, 8, 16), "4": (False, 0, 16), "5": (False, 0, 8), "6": (False, 8, 16)}
X9_19 = "1"
# Source PIN block formats the DUKPT verify commands accept (GO, GQ).
VERIFY_FORMATS = ("01", "04", "05", "47")


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    bdk_field = fields.key(what="BDK")
    zpk_field = fields.key(what="ZPK")
    ksn = read_ksn(fields, after=16 + 2 + 2 + 12)
    block = fields.hex(16, what="PIN block")
    source_format = pins.read_format(fields, "source PIN block format")
    destination_format = pins.read_format(fields, "destination PIN block format")
    account = pins.read_account(fields)
    lmk_id = fields.lmk_id()
    fields.end()
    if source_format != "01":
        raise HsmError("23", f"source PIN block format {source_format}: only 01")
    return translate(hsm, bdk_field, zpk_field, ksn, block, destination_format, account, lmk_id, usage="pin")


def translate(
    hsm: Hsm, bdk_field: str, zpk_field: str, ksn: str, block: str, destination_format: str, account: str, lmk_id: int | None, *, usage: str
) -> bytes:
    """The DUKPT PIN block (ANSI format 0) under a ZPK in `destination_format` (01, 04): G0, and CI (logic/ci.py)."""
    if destination_format not in ("01", "04"):
        raise HsmError("23", f"destination PIN block format {destination_format}: 01 or 04")
    bdk = load_bdk(hsm, bdk_field, lmk_id, lengths=(16,) if usage == "pin-des" else (16, 24))
    with answering("11", instead_of="10"):
        zpk = hsm.key_from_lmk("001", zpk_field, lmk_id)
    pin = hsm.pin_from_block(hsm.dukpt_key(bdk, ksn, usage), block, "01", account)
    translated = hsm.pin_to_block(zpk, pin, destination_format, account)
    return f"{hsm.pin_length(pin):02d}{translated}{destination_format}".encode("ascii")


def load_bdk(hsm: Hsm, field: str, lmk_id: int | None, *, lengths: tuple[int, ...] = (16, 24)) -> KeyHandle:
    """The BDK under LMK 28-29 (10 parity; 27 if not of one of `lengths` bytes)."""
    bdk = hsm.key_from_lmk(BDK, field, lmk_id)
    if hsm.key_info(bdk).length not in lengths:
        raise HsmError("27", "BDK of the wrong length (" + " or ".join(f"{n * 8} bits" for n in lengths) + ")")
    return bdk


def read_ksn(fields: Fields, *, after: int, mac: int | None = None) -> str:
    """KSN descriptor (3 H) and key serial number (12-20 H), upper-case.

    `after` bytes of fixed fields follow the KSN; with `mac` (the MAC field's
    width, 0 when there is none) a MAC part follows them too, which ends the
    request: MAC · data length (4 N) · data. Its width is what makes the
    request's length add up (`mac_tail`).
    """
    descriptor = fields.hex(3, what="KSN descriptor")
    tail = after if mac is None else mac_tail(fields, after, mac)
    raw = fields.before(tail, what="key serial number")
    if not KSN_MIN <= len(raw) <= KSN_MAX or not all(c in b"0123456789ABCDEFabcdef" for c in raw):
        raise HsmError("15", f"key serial number must be {KSN_MIN}-{KSN_MAX} hex characters")
    ksn = raw.decode("ascii").upper()
    described = sum(int(digit, 16) for digit in descriptor) + COUNTER_DIGITS
    if described > len(ksn) or ksn[: len(ksn) - described].strip("F"):
        raise HsmError("15", f"KSN descriptor {descriptor} describes {described} digits; KSN of {len(ksn)}")
    return ksn


def mac_tail(fields: Fields, after: int, mac: int) -> int:
    """How many bytes follow the KSN: `after` fixed bytes, a `mac`-wide MAC, a 4 N length and that many bytes of data."""
    rest = fields.peek(fields.remaining)
    if rest[-3:-2] == b"%" and rest[-2:].isdigit():
        rest = rest[:-3]
    tails = []
    for width in range(KSN_MIN, KSN_MAX + 1):
        at = width + after + mac
        length = rest[at : at + 4]
        if len(length) == 4 and length.isdigit() and at + 4 + int(length) == len(rest):
            tails.append(len(rest) - width)
    if len(tails) != 1:
        raise HsmError("15", "the KSN, the fixed fields and the MAC data length do not add up to the request")
    return tails[0]


def read_mac_mode(fields: Fields, modes: str) -> str:
    """MAC mode (1 N, one of `modes`) then MAC method (1 N: 1 = X9.19); 15 otherwise."""
    mode = fields.text(1, what="MAC mode")
    if mode not in modes:
        raise HsmError("15", f"MAC mode {mode!r} not one of {', '.join(modes)}")
    if fields.text(1, what="MAC method") != X9_19:
        raise HsmError("15", "MAC method must be 1 (ANSI X9.19)")
    return mode


def mac_width(mode: str) -> int:
    """The MAC field's width in a request of MAC mode `mode` (0 for the generate modes)."""
    verify, start, end = MAC_MODES[mode]
    return end - start if verify else 0


def read_mac_data(fields: Fields) -> bytes:
    """Message data length (4 N, bytes, a multiple of 8) and the message data (n B)."""
    length = fields.numeric(4, what="message data length")
    if length == 0 or length % 8:
        raise HsmError("15", f"message data of {length} bytes: a non-zero multiple of 8")
    return fields.fixed(length, what="message data")


def dukpt_mac(hsm: Hsm, bdk: KeyHandle, ksn: str, mode: str, data: bytes) -> str:
    """The ANSI X9.19 MAC (16 H, or its left or right 8 H by `mode`) under the KSN's MAC request key."""
    key = hsm.dukpt_key(bdk, ksn, "mac-request")
    _, start, end = MAC_MODES[mode]
    return hsm.mac_compute(key, 3, 1, "0" * 16, data, True)[start:end]


def mac_matches(hsm: Hsm, bdk: KeyHandle, ksn: str, mode: str, mac: str, data: bytes) -> bool:
    return hmac.compare_digest(dukpt_mac(hsm, bdk, ksn, mode, data), mac)
