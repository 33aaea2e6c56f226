"""KQ — Verify an ARQC (or TC/AAC) and/or generate an ARPC (EMV 3.x: Visa VSDC, M/Chip).

The card's key (ICC MK-AC) is derived from the issuer MK-AC with EMV Option A
on the pre-formatted PAN/PAN sequence number block. Scheme 0 (Visa VSDC/UKIS,
CVN 10) computes the cryptogram under the card's key itself; scheme 1
(Europay/Mastercard M/Chip) under M/Chip's session key from the ATC and the
unpredictable number. The ARQC is ISO 9797-1 MAC algorithm 3 over the
transaction data, zero-padded to whole 8-byte blocks when it is not already
(scheme padding such as M/Chip's 80 is the host's to add). The ARPC (EMV
method 1) is TDES(card key, ARQC xor ARC · 00..) for both schemes.

Request:  KQ · mode flag (1 N: 0 verify, 1 verify and ARPC, 2 ARPC only)
          · scheme ID (1 N: 0 Visa VSDC/UKIS, 1 Europay/Mastercard M/Chip)
          · MK-AC (32 H or U/X + 32 H, type 109 under LMK 28-29 variant 1; or S + a key
            block of usage E0 under a key-block LMK)
          · PAN/PAN sequence number (8 B: the 16 rightmost digits of PAN · PSN, BCD)
          · ATC (2 B) · unpredictable number (4 B; both sent but unused for scheme 0)
  modes 0, 1: transaction data length (2 H: 01-FF bytes) · transaction data (n B) · ;
          · ARQC/TC/AAC (8 B)
  modes 1, 2: ARC (2 B)
          · [%nn LMK identifier]
Response: KR 00 (mode 0) · KR 00 + ARPC (8 B, modes 1 and 2) · KR 01 (verification
          failure) followed, in the authorised state only, by the ARQC the unit
          computed (8 B, diagnostic data).

Errors: 01 ARQC/TC/AAC verification failure · 04 mode flag not 0-2 · 05 scheme
ID not 0 or 1 · 10 MK-AC parity · 13 LMK identifier · 15 malformed field (also:
a PAN/PSN block that is not decimal digits, no ; after the transaction data) ·
27 MK-AC not double length · 80 transaction data length not hex, or longer than
the request · 81 transaction data length 00.

Not implemented: modes 3 and 4 (verification with a discretionary-data MAC under
an MK-SMI, scheme 0 only): they are answered 03 with scheme 1 (as a unit does:
"mode 3 or 4 but scheme ID not 0") and 04 otherwise. Uncertain points, read
the most faithful way: one manual issue puts a 16 B IV after the MK-AC (no
other source has it; left out); whether an unauthorised unit still appends the
diagnostic data to 01 (the manual says diagnostics only in the authorised state).

Sources: payShield host command reference, "ARQC (or TC/AAC) Verification and/or
ARPC Generation" (layout, padding rule, authorised-state diagnostics);
softwaregroup-bg/ut-codec-payshield, messages.json generateArqc3 (binary wire
fields, error codes 01-82) and test/config/test.js (KQ/KR fixtures); jPOS
(jpos/jPOS, jpos/src/main/java/org/jpos/security/jceadapter/JCESecurityModule.java,
verifyARQCGenerateARPCImpl: the ARPC under the card's key for VSDC and M/Chip);
pyemv (VisaCVN10, MasterCardCVN16) as the tests' oracle; vectors in
tests/test_cmd_kq.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply

COMMAND = "KQ"
VERSION = "1.1.0"

MK_AC = "109"
_SESSION_KEYS = {"0": "none", "1": "mchip"}


def read_flag(fields: Fields, allowed: str, error: str, what: str) -> str:
    """A one-character flag (mode, scheme ID): 15 if missing, `error` if not one of `allowed`."""
    value = fields.fixed(1, what=what).decode("latin-1")
    if value not in allowed:
        raise HsmError(error, f"{what} {value!r} not one of {allowed}")
    return value


def read_master_key(fields: Fields) -> str:
    """The MK-AC: U/X (or T/Y) + hex, S + a key block (usage E0, under a key-block LMK), or a bare 32 H key."""
    if fields.peek(1).upper() in (b"U", b"X", b"T", b"Y", b"S"):
        return fields.key(what="MK-AC")
    return fields.hex(32, what="MK-AC")


def read_transaction_data(fields: Fields) -> bytes:
    """Length (2 H: 80 if not hex or longer than the request, 81 if 00) · data (n B) · ';' (15 if missing)."""
    length = int(fields.hex(2, error="80", what="transaction data length"), 16)
    if length == 0:
        raise HsmError("81", "zero-length transaction data")
    data = fields.fixed(length, error="80", what="transaction data")
    if fields.fixed(1, what="delimiter") != b";":
        raise HsmError("15", "no ; after the transaction data")
    return data


def pan_and_psn(block: bytes) -> tuple[str, str]:
    """The PAN/PSN block's digits as (PAN part, PSN): Option A takes their 16 rightmost digits."""
    digits = block.hex().upper()
    return digits[:-2], digits[-2:]


def verify(hsm: Hsm, key: KeyHandle, data: bytes, arqc: bytes) -> Reply | None:
    """None if the ARQC is right; else 01 with the computed one (authorised state only)."""
    computed = hsm.emv_ac(key, data, 1)
    if hmac.compare_digest(computed, arqc.hex().upper()):
        return None
    return Reply("01", bytes.fromhex(computed) if hsm.authorised() else b"")


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = read_flag(fields, "01234", "04", "mode flag")
    scheme = read_flag(fields, "01", "05", "scheme ID")
    if mode in "34":
        raise HsmError("04" if scheme == "0" else "03", f"mode {mode} (discretionary MAC) not supported")
    mk_field = read_master_key(fields)
    pan, psn = pan_and_psn(fields.fixed(8, what="PAN/PAN sequence number"))
    atc = fields.fixed(2, what="ATC").hex().upper()
    un = fields.fixed(4, what="unpredictable number").hex().upper()
    data = read_transaction_data(fields) if mode in "01" else b""
    arqc = fields.fixed(8, what="ARQC")
    arc = fields.fixed(2, what="ARC").hex().upper() if mode in "12" else ""
    lmk_id = fields.lmk_id()
    fields.end()

    card_key = hsm.emv_card_key(hsm.key_from_lmk(MK_AC, mk_field, lmk_id), "A", pan, psn)
    if mode in "01":
        failed = verify(hsm, hsm.emv_session_key(card_key, _SESSION_KEYS[scheme], atc, un, ""), data, arqc)
        if failed is not None:
            return failed
        if mode == "0":
            return b""
    return bytes.fromhex(hsm.emv_arpc(card_key, arqc.hex().upper(), 1, arc, ""))
