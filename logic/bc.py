"""BC — Verify a terminal PIN using the comparison method.

The PIN in a PIN block received from a terminal under its TPK is compared
with the PIN the host database holds encrypted under LMK pair 02-03.

Request:  BC · TPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15;
          key type 70D in PCI HSM compliance mode)
          · PIN block (16 H; 32 H under an AES TPK) · PIN block format (2 N)
          · account number (12 N; 18 characters with format 04; the PAN,
            12-19 N, and ; with format 48)
          · PIN under LMK 02-03 (PIN length + 1 N, 5-13 digits)
          · [%nn LMK identifier]
Response: BD 00 (the PINs agree) or BD 01 (verification failure)

The PIN under the LMK is bound to the account number's 12 rightmost digits
excluding the check digit (with format 04, taken from the 18-character field;
with format 48, from the PAN).

Format 48 (ISO 9564-1 format 4) goes with AES TPKs, as in CA
(logic/ca.py): a TPK in a key block of algorithm A under a key-block LMK
takes format 48 only, and 48 goes with AES keys only (23). No public source
gives AES or format 48 for BC: AWS's payShield migration table
(aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) has no BC or BE row. That
BC takes them, the 32 H block and the PAN-and-delimiter account field are
hsmd's reading, by analogy with CA and CC (see hsmd_sdk.pins).

Errors: 01 verification failure · 10 TPK parity · 13 LMK identifier · 14 PIN
under the LMK not valid · 15 malformed field · 20 PIN block not valid · 23
PIN block format code · 24 PIN of fewer than 4 or more than 12 digits. The
manual page for BC was not available: the list follows BE's (with 10 for the
TPK) and what ThalesSim's BC answers (00, 01, 10, 23, 24).

Sources: nickntg/thalessimulatorlibrary
`HostCommands/VerifyTerminalPinUsingComparisonMethod_BC.xml` (field layout)
and `ThalesCore.Tests/HostCommandTests.vb` (`TestVerifyTerminalPINUsingComparisonMethod`);
payShield host command reference, "Verify an Interchange PIN Using the
Comparison Method" (BE, the sibling's error list) and "PIN block formats"
(BC accepts format 04).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply, pins

COMMAND = "BC"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return compare(request, hsm, pin_key="TPK")


def compare(request: bytes, hsm: Hsm, *, pin_key: str) -> bytes | Reply:
    """BC with its TPK, BE (logic/be.py) with a ZPK: the only difference."""
    fields = Fields(request)
    pin_key_field = fields.key(what=pin_key)
    block = pins.read_block(fields, pin_key_field)
    pin_format = pins.read_format(fields)
    account = pins.read_account(fields, pin_format)
    lmk_pin = pins.read_lmk_pin(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key_handle = hsm.key_from_lmk(hsm.key_type_code(pin_key), pin_key_field, lmk_id)
    received = hsm.pin_from_block(pin_key_handle, block, pin_format, pins.account_for(pin_format, account))
    stored = hsm.pin_from_lmk(lmk_pin, pins.account_for("01", account), lmk_id)
    return b"" if hsm.pin_compare(received, stored) else Reply("01")
