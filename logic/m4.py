"""M4 — Translate a data block from one key to another.

A message encrypted under a source ZEK, DEK or BDK's DUKPT data key is
decrypted and encrypted again under a destination one, each key with its own
mode and IV; the clear message never leaves the unit.

Request:  M4 · source mode flag (2 N: 00 ECB, 01 CBC, 02 CFB8, 03 CFB64)
          · destination mode flag (2 N, the same)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary)
          · output format flag (1 N: 0 binary, 1 hex-encoded binary)
          · source key type (3 H: 00A ZEK, 00B DEK, 009 BDK, FFF a key block) · source key
          · [source KSN descriptor (3 H) · KSN (20 H): only with a BDK]
          · destination key type (3 H) · destination key
          · [destination KSN descriptor (3 H) · KSN (20 H): only with a BDK]
          · [source IV (16 H; 32 H under an AES key): only with source modes 01-03]
          · [destination IV (16 H; 32 H under an AES key): only with destination modes 01-03]
          · message length (4 H) · encrypted message (n B or n H)
          · [%nn LMK identifier]
Response: M5 00 · [source output IV (16 H): source modes 01-03]
          · [destination output IV (16 H): destination modes 01-03]
          · message length (4 H) · translated message (n B or n H)

Keys are 16 H, or U/X + 32 H, or T/Y + 48 H under the key type's LMK pair.
The lengths count the characters of the message fields (hex digits for
hex-encoded data), as in M0; the message is whole 8-byte blocks, up to
32 KiB. Each output IV chains the next call: the last 8 bytes of IV ·
ciphertext on its side (the message given for the source, the answer for
the destination). Key type, KSN, DUKPT data key and AES rules are M0's
(logic/m0.py); with an AES key on either side the message is whole 16-byte blocks.

Errors: 02 source mode flag · 03 input format flag · 04 output format flag
· 05 source key type · 06 message length (not hex, zero, not whole blocks,
over 32 KiB, or "actual message length too short") · 07 destination mode
flag · 08 destination key type · 10 source key parity · 11 destination key
parity · 13 LMK identifier · 15 malformed field (key, KSN, IV, hex message),
or "actual message length too long" · 27 a single-length BDK.

Sources: payShield host command reference, "Translate Data Block" (M4:
layout, IVs); softwaregroup-bg/ut-codec-payshield (messages.json
translateDataBlock: error codes 02-08, 10, 11, 15; processResponse.js: M5
IVs; test/config/test.js: field order with the KSNs, a real unit's M4
trace); Novatronic HSMResponseCode.java (06 too short, 15 too long).
Vectors in tests/test_cmd_m4.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, answering

from logic.m0 import (
    check_mode,
    crypt,
    finish,
    message_field,
    open_key,
    output_iv,
    read_data_key,
    read_flag,
    read_iv,
    read_message,
    read_mode,
)

COMMAND = "M4"
VERSION = "1.1.0"
MODE_CODES = ("00", "01", "02", "03")  # no 05 (OFB) in M4, as the AWS mapping lists it


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    source_mode = read_mode(fields, codes=MODE_CODES)
    destination_mode = read_mode(fields, error="07", codes=MODE_CODES)
    input_format = read_flag(fields, "01", error="03", what="input format flag")
    output_format = read_flag(fields, "01", error="04", what="output format flag")
    source = read_data_key(fields, what="source key")
    destination = read_data_key(fields, error="08", what="destination key")
    check_mode(source_mode, source)
    check_mode(destination_mode, destination, error="07")
    source_iv = read_iv(fields, source_mode, source, what="source IV")
    destination_iv = read_iv(fields, destination_mode, destination, what="destination IV")
    message = read_message(fields, input_format, max(source.block, destination.block))
    lmk_id = finish(fields)

    source_key = open_key(hsm, source, lmk_id)
    with answering("11", instead_of="10"):
        destination_key = open_key(hsm, destination, lmk_id)
    clear = crypt(hsm, source_key, encrypt=False, mode=source_mode, iv=source_iv, data=message)
    translated = crypt(hsm, destination_key, encrypt=True, mode=destination_mode, iv=destination_iv, data=clear)
    return (
        output_iv(source_mode, source_iv, message)
        + output_iv(destination_mode, destination_iv, translated)
        + message_field(translated, output_format)
    )
