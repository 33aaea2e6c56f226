"""DC — Verify a terminal PIN using the Visa PVV method.

A PIN block under a TPK is decrypted and its Visa PVV, computed under the PVK
pair from the account number and the PVK index, is compared with the PVV the
request gives.

Request:  DC · TPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 14-15; or S + key block)
          · PVK pair (32 H: PVK A · PVK B, each single length under LMK 14-15; or U/X + 32 H;
          or S + key block) · PIN block (16 H, under the TPK; 32 H under an AES TPK)
          · PIN block format code (2 N) · account number (12 N; 18 characters with
          format 04; the PAN, 12-19 N, and ; with format 48)
          · PVKI (1 N) · PVV (4 N) · [%nn LMK identifier]
Response: DD 00 (the PVV matches) or DD 01 (verification failure); no fields.

A bare PVK field is 32 H (PVK A · PVK B) when the request has room for it and
the fixed fields after it; otherwise it is read as a single-length 16 H PVK,
which the unit refuses with 27 (a PVK pair must be double length; a
triple-length PVK is refused the same way). The manual says the PVKI "should
be between 0 and 6"; every digit is accepted here (hsmd's choice: the manual
gives no error code for 7-9).

Formats: the host's table, and 48 (ISO 9564-1 format 4) under AES keys: a
TPK in a key block of algorithm A under a key-block LMK takes format 48
only, and 48 goes with AES keys only (23). A format 48 block binds the whole
PAN, which the account field then carries; the PVV takes the 12 account
digits derived from it (its 12 rightmost digits before the check digit), as
in GQ (logic/gq.py). AWS's payShield migration table
(aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md) lists DC as supported
(Verify Pin Data) without naming a key algorithm; AES TPKs, format 48, the
32 H block and the PAN-and-delimiter account field are hsmd's reading, after
the table's AES rows for CA and CC (see hsmd_sdk.pins).

Errors: 01 verification failure · 10 TPK parity · 11 PVK parity · 13 LMK
identifier · 15 malformed field (for 48, a PAN field without its ; or not
12-19 digits) · 20 PIN block invalid · 23 PIN block format code (48 under a
TDES key, another format under an AES key) · 24 PIN length outside 4-12 ·
27 PVK not double length · 29 key type
(a TPK that may not carry PINs: not reachable with the unit's key type table).

Sources: payShield host command reference, "Verify a terminal PIN using the
VISA method" (DC: layout, error codes); ThalesSim (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyTerminalPINUsingVISAAlgorithm) vectors
in tests/test_cmd_dc.py; AWS's migration table (above: DC listed).
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply, answering
from hsmd_sdk.pins import account_for, read_account, read_block, read_format

COMMAND = "DC"
VERSION = "1.2.0"

# PIN block 16 · format 2 · account 12 · PVKI 1 · PVV 4: the least that follows the PVK pair (more under an AES key).
_TAIL = 35


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    return verify(request, hsm, pin_key="TPK")


def verify(request: bytes, hsm: Hsm, *, pin_key: str) -> bytes | Reply:
    """DC with its TPK, EC (logic/ec.py) with a ZPK: the only difference."""
    fields = Fields(request)
    pin_key_field = fields.key(what=pin_key)
    pvk_field = fields.key_pair(after=_TAIL, what="PVK pair")
    block = read_block(fields, pin_key_field)
    pin_format = read_format(fields)
    account = read_account(fields, pin_format)
    pvki = fields.numeric(1, what="PVKI")
    pvv = fields.numeric(4, what="PVV")
    lmk_id = fields.lmk_id()
    fields.end()

    pin_key_handle = hsm.key_from_lmk(hsm.key_type_code(pin_key), pin_key_field, lmk_id)
    pvk = load_pvk_pair(hsm, pvk_field, lmk_id)
    pin = hsm.pin_from_block(pin_key_handle, block, pin_format, account_for(pin_format, account))
    computed = hsm.pin_pvv(pvk, pin, account_for("01", account), pvki)
    return b"" if hmac.compare_digest(computed, f"{pvv:04d}") else Reply("01")


def load_pvk_pair(hsm: Hsm, field: str, lmk_id: int | None) -> KeyHandle:
    """The Visa PVK pair after a PIN key (11 parity; 27 unless double length): DC, EC, FW, CU."""
    with answering("11", instead_of="10"):
        pvk = hsm.key_from_lmk(hsm.key_type_code("PVK"), field, lmk_id)
    if hsm.key_describe(pvk).length != 16:
        raise HsmError("27", "the PVK pair must be double length")
    return pvk
