"""GQ — Verify a PIN using the Visa PVV method (Triple-DES and AES DUKPT), optionally a MAC.

DC's Visa PVV verification (logic/dc.py) for a PIN block from a DUKPT PIN
pad: the PIN key is derived from the BDK and the key serial number (ANSI
X9.24-1:2004 TDES DUKPT). In mode 1 the request also carries a MAC over
message data, verified under the KSN's MAC request key (X9.19), as in GO
(logic/go.py).

Request:  GQ · mode (1 N: 0 PIN only, 1 PIN and MAC)
          · [mode 1: MAC mode (1 N: 1 8-byte MAC, 2 its left 4 bytes, 3 its
          right 4 bytes) · MAC method (1 N: 1 = X9.19)]
          · BDK (32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 28-29; or S + key block)
          · PVK pair (32 H: PVK A · PVK B under LMK 14-15, or U/X + 32 H; or S + key block)
          · KSN descriptor (3 H) · key serial number (12-20 H; 24 H for an AES BDK)
          · PIN block (16 H; 32 H for an AES BDK) · PIN block format (2 N: 01, 04, 05, 47; 48 for an AES BDK)
          · account number (12 N; the PAN and ; for an AES BDK) · PVKI (1 N) · PVV (4 N)
          · [mode 1: MAC (16 H for MAC mode 1, 8 H for 2 and 3)
          · message data length (4 N, bytes) · message data (n B)]
          · [%nn LMK identifier]
Response: GR · PIN code (00, or 01 verification failure) · [mode 1: MAC
          code (00, or 01 MAC verification failure)]

A bare PVK field is 32 H when the request has room for it and the fields
after it (a 16 H single-length PVK is refused with 27, as in DC). The MAC
part, KSN and account are as in GO and G0. The payShield 10K's optional
verification PAN after the account (ut-codec-payshield `verificationPan`,
its delimiter unknown) is not implemented. AES DUKPT as in GO (logic/go.py):
format 48, the PAN and `;` as the account, whose 12 account digits the PVV
takes; the X9.19 MAC part answers A7 with an AES BDK.

Errors: 01 PIN verification failure · 10 BDK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (mode, MAC mode or method, KSN, data
length) · 20 PIN block not valid · 23 PIN block format · 24 PIN length ·
27 BDK not double or triple length (nor AES), or PVK pair not double length ·
A7 the X9.19 MAC part with an AES BDK.

Sources: payShield host command reference, "Verify a PIN Using the VISA PVV
Method (Triple-DES DUKPT)" (layout, formats 01 04 05 47) and "Verify a PIN
Using the VISA PVV Method" (CM: 27 for the PVK); softwaregroup-bg/ut-codec-payshield
`messages.json` (verifyPvvDukpt: field order, error codes 01 10 11 27) and
`test/config/test.js` (GR00, GR01); vectors in tests/test_cmd_gq.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, HsmError, Reply, answering, keys, pins

from logic.g0 import VERIFY_FORMATS, bdk_lengths, load_bdk, mac_matches, mac_width, read_ksn, read_mac_data, read_mac_mode

COMMAND = "GQ"
VERSION = "1.2.0"

# PIN block 16 · format 2 · account 12 · PVKI 1 · PVV 4
_AFTER_KSN = 35


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = fields.text(1, what="mode")
    if mode not in ("0", "1"):
        raise HsmError("15", f"mode {mode!r} not 0 or 1")
    mac_mode = read_mac_mode(fields, "123")[0] if mode == "1" else ""
    bdk_field = fields.key(what="BDK")
    mac_least = mac_width(mac_mode) + 4 + 8 if mac_mode else 0  # MAC, length, one block of data
    pvk_field = fields.key_pair(after=3 + 12 + _AFTER_KSN + mac_least, what="PVK pair")
    aes = keys.is_aes(bdk_field)
    ksn = keys.read_aes_ksn(fields) if aes else read_ksn(fields, after=_AFTER_KSN, mac=mac_width(mac_mode) if mac_mode else None)
    block = fields.hex(32 if aes else 16, what="PIN block")
    pin_format = pins.read_format(fields)
    account = pins.read_account(fields, pins.ISO4) if aes else pins.read_account(fields)
    pvki = fields.numeric(1, what="PVKI")
    pvv = fields.numeric(4, what="PVV")
    mac, data = (fields.hex(mac_width(mac_mode), what="MAC"), read_mac_data(fields)) if mac_mode else ("", b"")
    lmk_id = fields.lmk_id()
    fields.end()
    formats = (pins.ISO4,) if aes else VERIFY_FORMATS
    if pin_format not in formats:
        raise HsmError("23", f"PIN block format {pin_format} not one of {', '.join(formats)}")

    bdk = load_bdk(hsm, bdk_field, lmk_id, lengths=bdk_lengths(bdk_field))
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    if hsm.key_describe(pvk).length != 16:
        raise HsmError("27", "the PVK pair must be double length")
    pin = hsm.pin_from_block(hsm.dukpt_key(bdk, ksn, "pin"), block, pin_format, pins.account_for(pin_format, account))
    pvv_now = hsm.pin_pvv(pvk, pin, pins.account_for("01", account), pvki)
    code = "00" if hmac.compare_digest(pvv_now, f"{pvv:04d}") else "01"
    if not mac_mode:
        return Reply(code)
    return Reply(code, b"00" if mac_matches(hsm, bdk, ksn, mac_mode, mac, data, aes=aes) else b"01")
