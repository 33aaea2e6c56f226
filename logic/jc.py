"""JC — Translate a PIN from TPK to LMK encryption.

A PIN block received from a terminal under a TPK is decrypted, decoded and
re-encrypted under LMK pair 02-03 for the account number, for storage.

Request:  JC · TPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15)
          · PIN block (16 H; 32 H under an AES TPK) · PIN block format (2 N)
          · account number (12 N; 18 N with format 04, the PAN right-justified
          and padded on the left with F; the PAN, 12-19 N, and ; with
          format 48) · [%nn LMK identifier]
Response: JD 00 · PIN under LMK pair 02-03 (PIN length + 1 N)

Formats: 01 02 03 04 05 47, and 48 (ISO 9564-1 format 4) under AES TPKs. Formats
34, 35 (and 41, 42) serve EMV PIN change and are only available to KU, so they
are answered 23. The PIN under the LMK is bound to the account number's 12
rightmost digits excluding the check digit (with format 04, those of the
18-digit PAN field; with format 48, those of the PAN). The TPK's key type is
the unit's (002, or 70D in the PCI HSM key type table).

Format 48 goes with AES keys as in CA (logic/ca.py): a TPK in a key block of
algorithm A under a key-block LMK takes format 48 only, and 48 goes with AES
keys only (23). No public source gives AES or format 48 for JC: AWS's
payShield migration table (aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists JC, JE and JG as not
applicable (the service keeps no PIN under an LMK). That JC takes them, the
32 H block and the PAN-and-delimiter account field are hsmd's reading, by
analogy with CA and CC (see hsmd_sdk.pins).

Errors: 10 TPK parity · 13 LMK identifier · 15 malformed field · 20 PIN block
does not decode · 23 PIN block format · 24 PIN fewer than 4 or more than 12
digits. The JC manual page was not available: this list follows JE's (whose 12
and 21 concern user storage, which hsmd does not have; its 22, invalid account
number, is 15 here as in every PIN command).

Sources: payShield host command reference, "Translate a PIN from TPK to LMK
Encryption", "Translate a PIN from ZPK to LMK Encryption" (errors) and "PIN
block format 04"; ThalesSim `TranslatePINFromTPKToLMK_JC`
(nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn) and
ThalesCore.Tests/HostCommandTests.vb (vectors in tests/test_cmd_jc.py).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError
from hsmd_sdk.pins import account_for, read_account, read_block, read_format

COMMAND = "JC"
VERSION = "1.1.0"

KU_ONLY = frozenset({"34", "35", "41", "42"})  # EMV PIN change formats


def execute(request: bytes, hsm: Hsm) -> bytes:
    return to_lmk(request, hsm, pin_key="TPK")


def to_lmk(request: bytes, hsm: Hsm, *, pin_key: str) -> bytes:
    """JC with its TPK, JE (logic/je.py) with a ZPK: the only difference."""
    fields = Fields(request)
    pin_key_field = fields.key(what=pin_key)
    block = read_block(fields, pin_key_field)
    pin_format = read_format(fields)
    account = read_account(fields, pin_format)
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key_handle = hsm.key_from_lmk(hsm.key_type_code(pin_key), pin_key_field, lmk_id)
    if pin_format in KU_ONLY:
        raise HsmError("23", f"PIN block format {pin_format} is for PIN change (KU) only")
    pin = hsm.pin_from_block(pin_key_handle, block, pin_format, account_for(pin_format, account))
    return hsm.pin_to_lmk(pin, account_for("01", account), lmk_id).encode("ascii")
