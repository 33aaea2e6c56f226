"""G0 — Translate a PIN from BDK to ZPK encryption (Triple-DES and AES DUKPT).

A PIN block from a DUKPT PIN pad, encrypted under the terminal's current
PIN key (derived from the BDK and the key serial number, ANSI X9.24-1:2004
TDES DUKPT), is decrypted and re-encrypted under a ZPK for another node.

Request:  G0 · BDK (32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 28-29, key type 009; or S + key block)
          · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07; or S + key block),
            or a destination BDK (a key block of a BDK usage)
          · KSN descriptor (3 H) · key serial number (12-20 H; 24 H for an AES BDK)
          · [destination KSN descriptor (3 H) · KSN (20 H; 24 H for AES): when the destination is a BDK]
          · source PIN block (16 H; 32 H for an AES BDK)
          · source PIN block format (2 N: 01 only; 48 only for an AES BDK)
          · destination PIN block format (2 N: 01 ANSI or 04 PLUS; 48 under an AES ZPK)
          · account number (12 N; for an AES BDK the PAN, 12-19 N, and ;) · [%nn LMK identifier]
Response: G1 00 · PIN length (2 N) · destination PIN block (16 H; 32 H under an AES ZPK)
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
PLUS block is bound to the 12 digits given. The payShield 10K options of an
AES DUKPT BDK flag and a second PAN are not implemented.

BDK to BDK (a payShield 10K's form): under a key-block LMK the destination may
be a key block of a BDK usage, as CA's (logic/ca.py), followed by the
destination terminal's KSN descriptor and KSN as in M0 (logic/m0.py); the PIN
leaves under that terminal's DUKPT PIN key. A 10K answered G100 06
BBF74DF0FFA00ED1 01 so, from one BDK to another with the same KSN
(ut-codec-payshield docs/examples.js, translatePinBdkBdkZpk; the known answer
in tests/test_cmd_g0.py). The key flags that client's codec lays out before
each key are not read: its fixtures leave them empty and no source says their
values.

AES DUKPT (ANSI X9.24-3) under a key-block LMK: a BDK key block of algorithm
A derives the terminal's AES PIN key from a 24 H KSN (the 8-byte initial key
ID and the 32-bit counter; the descriptor is read and not interpreted), the
PIN block is ISO 9564-1 format 4 (48, 32 H, bound to the whole PAN, which the
account field then carries as for CA: hsmd_sdk.pins), and the PIN leaves
under the ZPK in 48 (an AES ZPK) or 01/04 (a TDES one). No public source
gives the AES layout of G0 (the 10K manual's AES pages are not public):
these widths are hsmd's reading of the TDES layout with AES's sizes; the
KSN's form is X9.24-3's, the format code 48 is what the payShield clients
that name ISO format 4 use.

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

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply, answering, keys, pins
from hsmd_sdk.fields import is_hex

from logic import m0

COMMAND = "G0"
VERSION = "1.2.0"

BDK = "009"
KSN_MIN, KSN_MAX = 12, 20
COUNTER_DIGITS = 5
# MAC mode of GO GQ (1-3) and GW (1-6): (verify?, slice of the 16 H MAC block).
MAC_MODES = {"1": (True, 0, 16), "2": (True, 0, 8), "3": (True, 8, 16), "4": (False, 0, 16), "5": (False, 0, 8), "6": (False, 8, 16)}
X9_19 = "1"
CMAC_METHODS = ("4", "5")  # GW's CMAC methods (AWS's payShield table: "Option 4 or 5 — CMAC"); TDES or AES by the key
# Source PIN block formats the DUKPT verify commands accept (GO, GQ).
VERIFY_FORMATS = ("01", "04", "05", "47")


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    bdk_field = fields.key(what="BDK")
    zpk_field = fields.key(what="ZPK")
    aes = keys.is_aes(bdk_field)
    to_bdk = m0.is_bdk_block(zpk_field)
    # A destination KSN (as M0 reads it: fixed width) sits between the source KSN and the PIN block.
    destination = (3 + (keys.AES_KSN_DIGITS if keys.is_aes(zpk_field) else m0.KSN_DIGITS)) if to_bdk else 0
    ksn = keys.read_aes_ksn(fields) if aes else read_ksn(fields, after=destination + 16 + 2 + 2 + 12)
    destination_ksn = m0.read_ksn(fields, aes=keys.is_aes(zpk_field)) if to_bdk else None
    block = fields.hex(32 if aes else 16, what="PIN block")
    source_format = pins.read_format(fields, "source PIN block format")
    destination_format = pins.read_format(fields, "destination PIN block format")
    account = pins.read_account(fields, pins.ISO4) if aes else pins.read_account(fields)
    lmk_id = fields.lmk_id()
    fields.end()
    if source_format != (pins.ISO4 if aes else "01"):
        raise HsmError("23", f"source PIN block format {source_format}: only {pins.ISO4 if aes else '01'}")
    return translate(
        hsm,
        bdk_field,
        zpk_field,
        ksn,
        block,
        source_format,
        destination_format,
        account,
        lmk_id,
        usage="pin",
        destination_ksn=destination_ksn,
    )


def translate(
    hsm: Hsm,
    bdk_field: str,
    zpk_field: str,
    ksn: str,
    block: str,
    source_format: str,
    destination_format: str,
    account: str,
    lmk_id: int | None,
    *,
    usage: str,
    destination_ksn: str | None = None,
) -> bytes:
    """The DUKPT PIN block (ANSI format 0; ISO 4 under AES DUKPT) under a ZPK in `destination_format` (01, 04, 48): G0, CI.

    With `destination_ksn` the destination is a BDK, and the PIN leaves under that terminal's DUKPT PIN key."""
    allowed = ("01", "04", pins.ISO4) if source_format == pins.ISO4 else ("01", "04")
    if destination_format not in allowed:
        raise HsmError("23", f"destination PIN block format {destination_format}: {', '.join(allowed)}")
    bdk = load_bdk(hsm, bdk_field, lmk_id, lengths=(16,) if usage == "pin-des" else bdk_lengths(bdk_field))
    with answering("11", instead_of="10"):
        zpk = hsm.key_from_lmk("001" if destination_ksn is None else BDK, zpk_field, lmk_id)
    if destination_ksn is not None:
        zpk = hsm.dukpt_key(zpk, destination_ksn, "pin")
    pin = hsm.pin_from_block(hsm.dukpt_key(bdk, ksn, usage), block, source_format, pins.account_for(source_format, account))
    translated = hsm.pin_to_block(zpk, pin, destination_format, pins.account_for(destination_format, account))
    return f"{hsm.pin_length(pin):02d}{translated}{destination_format}".encode("ascii")


def bdk_lengths(field: str) -> tuple[int, ...]:
    """What a BDK may be: double or triple-length TDES, or AES-128/192/256 (a key block of algorithm A)."""
    return (16, 24, 32) if keys.is_aes(field) else (16, 24)


def load_bdk(hsm: Hsm, field: str, lmk_id: int | None, *, lengths: tuple[int, ...] = (16, 24)) -> KeyHandle:
    """The BDK under LMK 28-29 (10 parity; 27 if not of one of `lengths` bytes)."""
    bdk = hsm.key_from_lmk(BDK, field, lmk_id)
    if hsm.key_describe(bdk).length not in lengths:
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
    if not KSN_MIN <= len(raw) <= KSN_MAX or not is_hex(raw):
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


def read_mac_mode(fields: Fields, modes: str, methods: tuple[str, ...] = (X9_19,)) -> tuple[str, str]:
    """MAC mode (1 N, one of `modes`) then MAC method (1 N, one of `methods`: 1 = X9.19); 15 otherwise."""
    mode = fields.text(1, what="MAC mode")
    if mode not in modes:
        raise HsmError("15", f"MAC mode {mode!r} not one of {', '.join(modes)}")
    method = fields.text(1, what="MAC method")
    if method not in methods:
        raise HsmError("15", f"MAC method {method!r} not one of {', '.join(methods)}")
    return mode, method


def mac_width(mode: str) -> int:
    """The MAC field's width in a request of MAC mode `mode` (0 for the generate modes)."""
    verify, start, end = MAC_MODES[mode]
    return end - start if verify else 0


def read_mac_data(fields: Fields) -> bytes:
    """Message data length (4 N, bytes, not zero) and the message data (n B): any length, X9.19
    zero-pads it (ISO 9797-1 padding method 1), as a payShield 10K MACs 5 bytes (logic/gw.py)."""
    length = fields.numeric(4, what="message data length")
    if length == 0:
        raise HsmError("15", "no message data")
    return fields.fixed(length, what="message data")


def dukpt_mac(hsm: Hsm, bdk: KeyHandle, ksn: str, mode: str, data: bytes, *, method: str = X9_19, aes: bool = False) -> str:
    """The MAC (16 H, or its left or right 8 H by `mode`) under the KSN's MAC request key.

    Method 1: ANSI X9.19. CMAC methods: CMAC under the derived key, TDES or AES
    (an AES BDK's keys are AES), its leftmost 8 bytes. An AES key under X9.19: A7.
    """
    key = hsm.dukpt_key(bdk, ksn, "mac-request")
    _, start, end = MAC_MODES[mode]
    if method in CMAC_METHODS:
        return hsm.mac_compute(key, 5, 1, "0" * (32 if aes else 16), data, True)[start:end]
    if aes:
        raise HsmError("A7", "ANSI X9.19 is a DES MAC: an AES DUKPT key runs CMAC")
    return hsm.mac_compute(key, 3, 1, "0" * 16, data, True)[start:end]


def mac_matches(hsm: Hsm, bdk: KeyHandle, ksn: str, mode: str, mac: str, data: bytes, *, method: str = X9_19, aes: bool = False) -> bool:
    return hmac.compare_digest(dukpt_mac(hsm, bdk, ksn, mode, data, method=method, aes=aes), mac)
