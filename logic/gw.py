"""GW — Generate or verify a MAC with a DUKPT MAC key (ANSI X9.24-1:2004 TDES, X9.24-3 AES).

The terminal's current key is derived from the BDK and the key serial number
(TDES DUKPT); the MAC key is it with variant 0000 0000 0000 FF00 0000 0000
0000 FF00 (the MAC request key). The MAC is ANSI X9.19 (ISO 9797-1 MAC
algorithm 3, IV zero) over the message data. Base24's approval MAC is the
MAC's left 4 bytes, its decline MAC the right 4 bytes.

Request:  GW · MAC mode (1 N: 1 verify 8-byte MAC, 2 verify approval MAC,
          3 verify decline MAC, 4 generate 8-byte MAC, 5 generate approval
          MAC, 6 generate decline MAC) · MAC method (1 N: 1 = X9.19, 4 or 5 = CMAC)
          · BDK (32 H, or U/X + 32 H, or T/Y + 48 H, under LMK 28-29; or S + key block)
          · KSN descriptor (3 H) · key serial number (12-20 H; 24 H for an AES BDK)
          · [verify modes: MAC (16 H in mode 1, 8 H in modes 2 and 3)]
          · message data length (4 N, bytes, not zero)
          · message data (n B) · [%nn LMK identifier]
Response: GX 00 · [generate modes: MAC (16 H in mode 4, 8 H in modes 5 and 6)]
          · GX 01 when a MAC does not verify.

The manual gives the MAC field as "32B or 64B": read as 32 or 64 bits, i.e.
8 H or 16 H, which agrees with ut-codec-payshield's 16 H mode-1 MAC. Its
response note ("only present for modes 01, 02, 03") is read as the generate
modes 4-6: a verify answer carries no MAC (ut-codec-payshield: GX00, GX01).
Data that is not whole 8-byte blocks is zero-padded (ISO 9797-1 padding
method 1): a payShield 10K answered GX00 3E3DEE3DC52E53ED to 5 bytes
(ut-codec-payshield), which is X9.19 over them and three zero bytes; the
older manual required a multiple of 8. KSN and descriptor as in G0 (logic/g0.py).

AES DUKPT: a BDK key block of algorithm A derives an AES MAC key (X9.24-3,
"MAC generation" usage, the terminal's request MAC); the MAC is CMAC (methods
4 and 5: AWS's payShield migration table lists "Option 4 or 5 — CMAC" for GW
without telling them apart, so hsmd runs CMAC under the key for either, TDES
or AES), its leftmost 8 bytes as the 16 H MAC. X9.19 under an AES key is A7.

Errors: 01 MAC verification failure · 10 BDK parity · 13 LMK identifier ·
15 malformed field (MAC mode or method, KSN, data length) · 27 BDK not
double or triple length · A7 X9.19 under an AES BDK.

Sources: payShield host command reference, "Generate or Verify a MAC on
Message Data using a MAC Key derived according to ANSI X9.24-2002 DUKPT
method" (layout, variant, modes, errors); softwaregroup-bg/ut-codec-payshield
`messages.json` (generateVerifyMacDukpt: field order, 4-digit length) and
`test/config/test.js` (GX00 + 16 H, GX01) and `docs/examples.js` (the 5-byte
MAC above); vectors in tests/test_cmd_gw.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, Reply, keys

from logic.g0 import (
    CMAC_METHODS,
    MAC_MODES,
    X9_19,
    bdk_lengths,
    dukpt_mac,
    load_bdk,
    mac_matches,
    mac_width,
    read_ksn,
    read_mac_data,
    read_mac_mode,
)

COMMAND = "GW"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode, method = read_mac_mode(fields, "123456", (X9_19, *CMAC_METHODS))
    bdk_field = fields.key(what="BDK")
    aes = keys.is_aes(bdk_field)
    ksn = keys.read_aes_ksn(fields) if aes else read_ksn(fields, after=0, mac=mac_width(mode))
    mac = fields.hex(mac_width(mode), what="MAC")
    data = read_mac_data(fields)
    lmk_id = fields.lmk_id()
    fields.end()

    bdk = load_bdk(hsm, bdk_field, lmk_id, lengths=bdk_lengths(bdk_field))
    verify, _, _ = MAC_MODES[mode]
    if not verify:
        return dukpt_mac(hsm, bdk, ksn, mode, data, method=method, aes=aes).encode("ascii")
    return b"" if mac_matches(hsm, bdk, ksn, mode, mac, data, method=method, aes=aes) else Reply("01")
