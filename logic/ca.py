"""CA — Translate a PIN from TPK to ZPK.

A PIN block received from a terminal under its TPK is decrypted, decoded in
its format and re-encoded in the destination format under a ZPK, for sending
on to another node.

Request:  CA · source TPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15;
          key type 70D in PCI HSM compliance mode)
          · destination ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07; or S + key block)
          · [KSN descriptor (3 H) · KSN (20 H; 24 H for AES): when the destination is a BDK]
          · maximum PIN length (2 N: 12) · source PIN block (16 H; 32 H under an AES TPK)
          · source PIN block format (2 N) · destination PIN block format (2 N)
          · account number (12 N; 18 characters when either format is 04; the
            PAN, 12-19 N, and ; when either is 48) · [%nn LMK identifier]
Response: CB 00 · PIN length (2 N) · destination PIN block (16 H; 32 H under an AES ZPK)
          · destination PIN block format (2 N, as received)

Formats 01 02 03 04 05 34 35 47 (the host's table), and 48 (ISO 9564-1
format 4) under AES keys: a TPK or ZPK in a key block of algorithm A under a
key-block LMK takes and gives format 48 only, and 48 goes with AES keys only
(23). AES rows for CA and CC: AWS's payShield migration table
(aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md); the 32 H block and the
PAN-and-delimiter account field for 48 are hsmd's reading (see
hsmd_sdk.pins). In PCI HSM compliance mode a PIN received in format 01, 47
or 48 may leave only in one of them (23).

Destination BDK (a payShield 10K's form): under a key-block LMK the
destination may be a key block of a BDK usage (B0, 41, 42 ...), followed by a
KSN descriptor and KSN as in M0 (logic/m0.py); the PIN leaves under that
terminal's DUKPT PIN key (ANSI X9.24-1; AES DUKPT for an AES BDK). A 10K
answered CB00 06 741311DA9D5D6C32 01 so (ut-codec-payshield docs/examples.js,
translatePinTpkZpkBdk; the known answer in tests/test_cmd_ca.py). The
optional destination key flag that client's codec lays out before the key
is not read: its fixtures leave it empty and no source says its values; a
BDK under a variant LMK is not taken as a destination.

Errors: 10 TPK parity · 11 ZPK parity · 13 LMK identifier · 15 malformed
field or maximum PIN length not 12 · 20 PIN block not valid · 23 PIN block
format code (or disallowed in PCI mode) · 24 PIN of fewer than 4 or more
than 12 digits. The 20/24 split for formats other than 05 follows the
manual's format-05 rule (the manual states it for 05 only).

Sources: payShield host command reference, "Translate a PIN from TPK to ZPK"
(field layout, response, error list) and "PIN block formats" (format 04's
18-character account field); nickntg/thalessimulatorlibrary
`ThalesCore/HostCommands/BuildIn/TranslatePINFromTPKToZPK_CA.vb` (order of
checks) and `ThalesCore.Tests/HostCommandTests.vb` (vectors in
tests/test_cmd_ca.py); krestfield/docs `ezsign/payshield_error_codes.md`
(23 for a PCI HSM disallowed format).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply, answering, keys, pins

from logic.m0 import BDK, is_bdk_block, read_ksn

COMMAND = "CA"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return translate(request, hsm, source="TPK")


def translate(request: bytes, hsm: Hsm, *, source: str) -> bytes | Reply:
    """CA with its TPK, CC (logic/cc.py) with a ZPK: the only difference (CA also translates to a BDK)."""
    fields = Fields(request)
    source_field = fields.key(what=source)
    zpk_field = fields.key(what="ZPK")
    to_bdk = source == "TPK" and is_bdk_block(zpk_field)
    ksn = read_ksn(fields, aes=keys.is_aes(zpk_field)) if to_bdk else None
    pins.read_max_pin_length(fields)
    block = pins.read_block(fields, source_field)
    source_format = pins.read_format(fields, "source PIN block format")
    destination_format = pins.read_format(fields, "destination PIN block format")
    account = pins.read_account(fields, source_format, destination_format)
    lmk_id = fields.lmk_id()
    fields.end()

    source_handle = hsm.key_from_lmk(hsm.key_type_code(source), source_field, lmk_id)
    with answering("11", instead_of="10"):
        zpk = hsm.key_from_lmk("001" if ksn is None else BDK, zpk_field, lmk_id)
    if ksn is not None:  # the terminal's DUKPT PIN key for that KSN
        zpk = hsm.dukpt_key(zpk, ksn, "pin")
    pin = hsm.pin_from_block(source_handle, block, source_format, pins.account_for(source_format, account))
    translated = hsm.pin_to_block(zpk, pin, destination_format, pins.account_for(destination_format, account))
    return f"{hsm.pin_length(pin):02d}{translated}{destination_format}".encode("ascii")
