"""GO — Verify a PIN using the IBM offset method (Triple-DES and AES DUKPT), optionally a MAC.

DA's IBM 3624 verification (logic/da.py) for a PIN block from a DUKPT PIN
pad: the PIN key is derived from the BDK and the key serial number (ANSI
X9.24-1:2004 TDES DUKPT). In mode 1 the request also carries a MAC over
message data, verified under the KSN's MAC request key (X9.19).

Request:  GO · mode (1 N: 0 PIN only, 1 PIN and MAC)
          · [mode 1: MAC mode (1 N: 1 8-byte MAC, 2 its left 4 bytes, 3 its
          right 4 bytes) · MAC method (1 N: 1 = X9.19)]
          · BDK (32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 28-29; or S + key block)
          · PVK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · KSN descriptor (3 H) · key serial number (12-20 H; 24 H for an AES BDK)
          · PIN block (16 H; 32 H for an AES BDK) · PIN block format (2 N: 01, 04, 05, 47; 48 for an AES BDK)
          · check length (2 N, 04-12) · account number (12 N; the PAN and ; for an AES BDK)
          · decimalisation table (16 N, or 16 H with encrypted tables)
          · PIN validation data (12 A: hex and one N) · offset (12 H)
          · [mode 1: MAC (16 H for MAC mode 1, 8 H for 2 and 3)
          · message data length (4 N, bytes) · message data (n B)]
          · [%nn LMK identifier]
Response: GP · PIN code (00; 02 as a warning when the PVK is double or
          triple length; 01 verification failure) · [mode 1: MAC code (00,
          or 01 MAC verification failure)]

The MAC key is the DUKPT key with variant 0000 0000 0000 FF00 (MAC request,
as GW's manual page says); the MAC is ANSI X9.19 over the data zero-padded
to whole 8-byte blocks, as a unit answers GW (logic/gw.py; hsmd's reading
for GO). The data length is decimal (ut-codec-payshield sends
"0016" for 16 bytes). The MAC is verified even when the PIN fails (GP0101).
KSN and descriptor as in G0 (logic/g0.py); the account is 12 N for every
format, a PLUS block is bound to those 12 digits.

AES DUKPT as in G0: an AES BDK key block derives the AES PIN key from a 24 H
KSN, the PIN block is format 48 (32 H) bound to the whole PAN, which the
account field carries (PAN and `;`); the validation data's N takes the last 5
of the 12 account digits derived from it. The optional MAC stays X9.19, a DES
MAC: with an AES BDK it answers A7 (GW offers CMAC). hsmd's reading of the
AES layout, as for G0: the 10K manual's AES pages are not public.

Errors: 01 PIN verification failure · 10 BDK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (mode, MAC mode or method, KSN, data
length) · 20 PIN block not valid · 23 PIN block format · 24 PIN length ·
25 decimalisation table · 27 BDK not double or triple length (nor AES) ·
A7 the X9.19 MAC part with an AES BDK.

Sources: payShield host command reference, "Verify a PIN Using the IBM
Method (Triple-DES DUKPT)" (layout, 02 warning, table check) and "Generate or
Verify a MAC ... DUKPT" (MAC key variant; its older rule of whole 8-byte
blocks); softwaregroup-bg/ut-codec-payshield `messages.json`
(verifyOffsetIbmDukpt: field order, error codes) and `test/config/test.js` (GP0000, GP0101, the 4-digit decimal data length);
nickntg/thalessimulatorlibrary `ThalesCore.Tests/HostCommandTests.vb`
(TestValidateDukptPinWithIBMAlgorithm: a TDES DUKPT vector, tests/test_cmd_go.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply, answering, keys, pins

from logic.g0 import VERIFY_FORMATS, bdk_lengths, load_bdk, mac_matches, mac_width, read_ksn, read_mac_data, read_mac_mode

COMMAND = "GO"
VERSION = "1.2.0"

# PIN block 16 · format 2 · check length 2 · account 12 · table 16 · validation data 12 · offset 12
_AFTER_KSN = 72


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = fields.text(1, what="mode")
    if mode not in ("0", "1"):
        raise HsmError("15", f"mode {mode!r} not 0 or 1")
    mac_mode = read_mac_mode(fields, "123")[0] if mode == "1" else ""
    bdk_field = fields.key(what="BDK")
    pvk_field = fields.key(what="PVK")
    aes = keys.is_aes(bdk_field)
    ksn = keys.read_aes_ksn(fields) if aes else read_ksn(fields, after=_AFTER_KSN, mac=mac_width(mac_mode) if mac_mode else None)
    block = fields.hex(32 if aes else 16, what="PIN block")
    pin_format = pins.read_format(fields)
    check_length = pins.read_check_length(fields)
    account = pins.read_account(fields, pins.ISO4) if aes else pins.read_account(fields)
    table = fields.text(16, what="decimalisation table").upper()
    validation_data = pins.read_validation_data(fields, pins.account_for("01", account))
    offset = pins.read_offset(fields)
    mac, data = (fields.hex(mac_width(mac_mode), what="MAC"), read_mac_data(fields)) if mac_mode else ("", b"")
    lmk_id = fields.lmk_id()
    fields.end()
    if len(offset) < check_length:
        raise HsmError("15", f"offset of {len(offset)} digits, check length {check_length}")
    formats = (pins.ISO4,) if aes else VERIFY_FORMATS
    if pin_format not in formats:
        raise HsmError("23", f"PIN block format {pin_format} not one of {', '.join(formats)}")

    bdk = load_bdk(hsm, bdk_field, lmk_id, lengths=bdk_lengths(bdk_field))
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), pvk_field, lmk_id)
    pin = hsm.pin_from_block(hsm.dukpt_key(bdk, ksn, "pin"), block, pin_format, pins.account_for(pin_format, account))
    if hsm.pin_ibm_offset(pvk, pin, table, validation_data, lmk_id) != offset:
        code = "01"
    else:
        code = "00" if hsm.key_describe(pvk).length == 8 else "02"
    if not mac_mode:
        return Reply(code)
    return Reply(code, b"00" if mac_matches(hsm, bdk, ksn, mac_mode, mac, data, aes=aes) else b"01")
