"""KW — Verify an ARQC (or TC/AAC) and/or generate an ARPC (EMV 4.x session keys).

The card's key (ICC MK-AC) is derived from the issuer MK-AC with EMV Option A
(scheme 0) or Option B (scheme 1: SHA-1 for a PAN over 16 digits); the AC
session key is the EMV2000 tree key (schemes 0 and 1: EMV 4.1 Book 2 A1.3, with
the IV-AC and the branch factor/height the request chooses) or the EMV common
session key (scheme 2: EMV 4.x A1.3, from the ATC). The ARQC is ISO 9797-1 MAC
algorithm 3 over the transaction data under the session key, zero-padded to
whole blocks when it is not already (scheme padding such as 80 is the host's to
add). The ARPC is EMV 4.1+'s, under the same session key: method 1
TDES(SK, ARQC xor ARC · 00..) (8 B), method 2 the first 4 bytes of MAC algorithm
3 (padding method 2) over ARQC · CSU · proprietary authentication data (4 B).

Request:  KW · mode flag (1 H: 0 verify; 1 verify and ARPC method 1; 2 ARPC method 1
            only; 3 verify and ARPC method 2; 4 ARPC method 2 only)
          · scheme ID (1 N: 0 EMV2000 tree, Option A; 1 EMV2000 tree, Option B;
            2 EMV common session key, Option A)
          · MK-AC (32 H or U/X + 32 H, type 109 under LMK 28-29 variant 1; or S + a key
            block of usage E0 under a key-block LMK)
  schemes 0, 1: IV-AC (16 B)
  schemes 0, 2: PAN/PAN sequence number (8 B: the 16 rightmost digits of PAN · PSN, BCD)
  scheme 1: PAN/PSN length (2 N, bytes) · PAN · PSN (n B, BCD, a leading 0 digit when
            the digit count is odd) · ;
  schemes 0, 1: branch/height (1 N: 0 branch factor 2 height 16, 1 factor 4 height 8)
          · ATC (2 B)
  modes 0, 1, 3: transaction data length (2 H: 01-FF bytes) · transaction data (n B) · ;
          · ARQC/TC/AAC (8 B)
  modes 1, 2: ARC (2 B)
  modes 3, 4: CSU (4 B) · proprietary authentication data length (1 N: 0-8)
            · proprietary authentication data (n B)
          · [%nn LMK identifier]
Response: KX 00 (mode 0) · KX 00 + ARPC (8 B: method 1's, or method 2's 4 B
          left-justified and zero-filled) · KX 01
          (verification failure) followed, in the authorised state only, by the
          ARQC the unit computed (8 B, diagnostic data).

Errors: 01 ARQC/TC/AAC verification failure · 04 mode flag not 0-4 · 05 scheme
ID not 0-2 · 10 MK-AC parity · 13 LMK identifier · 15 malformed field (also: a
PAN/PSN that is not decimal digits, a missing ;, proprietary data length over
8) · 27 MK-AC not double length · 52 branch/height not 0 or 1 · 80 transaction
data length not hex, or longer than the request · 81 transaction data length 00.

Uncertain points, read the most faithful way: scheme 2 (the manual issues seen
name only schemes 0 and 1; its layout, without IV-AC and branch/height, is the
ut-codec-payshield client's, its keys jPOS's EMV_CSKD); the ARPC key for the
tree schemes (EMV 4.1+ Book 2 8.2 and pyemv use the AC session key, as jPOS
does for the common session key; an EMV 4.0 reading would use the card's key);
the method 2 ARPC on the wire (8 B, its 4 B then 4 zero bytes: a unit's answer
KX00 A62169F300000000 in ut-codec-payshield's test/config/test.js, generateArqc4Decode 2,
whose message header counts a session's traffic); the scheme 1 PAN/PSN length unit (bytes here);
80/81, listed for KQ, applied to KW's identical field; the diagnostic data
outside the authorised state. Not implemented: the MPVV and YHHHHCC (error 06)
options of later manual issues.

Sources: payShield host command reference, "ARQC (or TC/AAC) Verification and/or
ARPC Generation (EMV2000)" (two issues: modes 0-2, then 0-4 with EMV 4.1 ARPC
methods, IV-AC, scheme 1 = key derivation method B, branch/height);
softwaregroup-bg/ut-codec-payshield, messages.json generateArqc4 (binary wire
fields, scheme 2 layout, error codes 01-52) and test/config/test.js (KW/KX
fixtures); jPOS (jpos/jPOS, jpos/src/main/java/org/jpos/security/jceadapter/
JCESecurityModule.java, verifyARQCGenerateARPCImpl, EMV_CSKD); pyemv (kd, ac)
as the tests' oracle; vectors in tests/test_cmd_kw.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError, Reply

from logic.kq import MK_AC, pan_and_psn, read_flag, read_master_key, read_transaction_data, verify

COMMAND = "KW"
VERSION = "1.2.0"

_TREES = {b"0": "tree-2-16", b"1": "tree-4-8"}
_MAX_PROPRIETARY = 8
ARPC_FIELD = 8  # bytes: a method 2 ARPC (4) is zero-filled to it


def _read_pan_psn(fields: Fields, scheme: str) -> tuple[str, str]:
    if scheme != "1":
        return pan_and_psn(fields.fixed(8, what="PAN/PAN sequence number"))
    length = fields.numeric(2, what="PAN/PAN sequence number length")
    block = fields.fixed(length, what="PAN/PAN sequence number")
    if fields.fixed(1, what="delimiter") != b";":
        raise HsmError("15", "no ; after the PAN/PAN sequence number")
    return pan_and_psn(block)


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = read_flag(fields, "01234", "04", "mode flag")
    scheme = read_flag(fields, "012", "05", "scheme ID")
    mk_field = read_master_key(fields)
    iv = fields.fixed(16, what="IV-AC").hex().upper() if scheme != "2" else ""
    pan, psn = _read_pan_psn(fields, scheme)
    method = "common"
    if scheme != "2":
        flag = fields.fixed(1, error="52", what="branch/height")
        if flag not in _TREES:
            raise HsmError("52", f"branch/height {flag!r} not 0 or 1")
        method = _TREES[flag]
    atc = fields.fixed(2, what="ATC").hex().upper()
    data = read_transaction_data(fields) if mode in "013" else b""
    arqc = fields.fixed(8, what="ARQC")
    response, proprietary = "", ""
    if mode in "12":
        response = fields.fixed(2, what="ARC").hex().upper()
    elif mode in "34":
        response = fields.fixed(4, what="CSU").hex().upper()
        length = fields.numeric(1, what="proprietary authentication data length")
        if length > _MAX_PROPRIETARY:
            raise HsmError("15", f"proprietary authentication data of {length} bytes (at most 8)")
        proprietary = fields.fixed(length, what="proprietary authentication data").hex().upper()
    lmk_id = fields.lmk_id()
    fields.end()

    card_key = hsm.emv_card_key(hsm.key_from_lmk(MK_AC, mk_field, lmk_id), "B" if scheme == "1" else "A", pan, psn)
    session_key = hsm.emv_session_key(card_key, method, atc, "", iv)
    if mode in "013":
        failed = verify(hsm, session_key, data, arqc)
        if failed is not None:
            return failed
        if mode == "0":
            return b""
    arpc_method = 1 if mode in "12" else 2
    arpc = bytes.fromhex(hsm.emv_arpc(session_key, arqc.hex().upper(), arpc_method, response, proprietary))
    return arpc.ljust(ARPC_FIELD, b"\x00")
