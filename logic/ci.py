"""CI — Translate a PIN from BDK to ZPK encryption (single-DES DUKPT).

A PIN block from a DUKPT PIN pad is decrypted under the terminal's current
single-length PIN key (ANSI X9.24-1:1998 DUKPT: the key the manual says CI
derives) and re-encrypted under a ZPK for another node. G0 (logic/g0.py) is
the same translation with a Triple-DES DUKPT key.

Request:  CI · BDK (32 H, or U/X + 32 H, under LMK 28-29, key type 009)
          · ZPK (16 H, or U/X + 32 H, or T/Y + 48 H, under LMK 06-07)
          · KSN descriptor (3 H) · key serial number (12-20 H)
          · source PIN block (16 H, ANSI format 0: no format field)
          · destination PIN block format (2 N: 01 ANSI or 04 PLUS)
          · account number (12 N) · [%nn LMK identifier]
Response: CJ 00 · PIN length (2 N) · destination PIN block (16 H)
          · destination PIN block format (2 N, as received)

The single-DES key: the left half of the TDES initial key, stepped with
DES_K(R xor K) xor K for each counter bit, then xor 00..FF; the PIN block
is encrypted with it "whitened", DES_K(P xor K) xor K (jPOS
`calculateDerivedKeySDES` and `specialEncrypt`). ThalesSim's CI
(`TranslatePINFromDUKPTToZPK_CI.vb`) derives a TDES key instead, as G0 does,
so its CI vectors are G0 vectors here (tests/test_cmd_ci.py shows both). KSN,
descriptor and account as in G0 (logic/g0.py). A triple-length BDK is
refused (27: the manual lists 32 H keys only and "*BDK not double length").

Errors: 10 BDK parity · 11 ZPK parity · 13 LMK identifier · 15 malformed
field · 20 PIN block not valid · 23 destination format not 01/04 · 24 PIN
length · 27 BDK not double length.

Sources: payShield host command reference, "Translate a PIN from *BDK
Encryption to Interchange Key Encryption" (CI layout, error list) and its
Triple-DES page ("CI derives a Single length PIN Encrypting Key"); jpos/jPOS
`jpos/src/main/java/org/jpos/security/jceadapter/JCESecurityModule.java`
(single-DES DUKPT) and `jpos/src/test/java/org/jpos/security/jceadapter/DUKPTTest.java`
(vectors); nickntg/thalessimulatorlibrary `ThalesCore.Tests/HostCommandTests.vb`
(TestTranslatePINFromDukptoZPK: its expected answer, reached here with the
single-DES blocks); vectors in tests/test_cmd_ci.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply, pins

from logic.g0 import read_ksn, translate

COMMAND = "CI"
VERSION = "1.0.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    bdk_field = fields.key(what="BDK")
    zpk_field = fields.key(what="ZPK")
    ksn = read_ksn(fields, after=16 + 2 + 12)
    block = fields.hex(16, what="PIN block")
    destination_format = pins.read_format(fields, "destination PIN block format")
    account = pins.read_account(fields)
    lmk_id = fields.lmk_id()
    fields.end()
    return translate(hsm, bdk_field, zpk_field, ksn, block, "01", destination_format, account, lmk_id, usage="pin-des")
