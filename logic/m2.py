"""M2 — Decrypt a data block.

A message encrypted under a ZEK (key type 00A, LMK 30-31), a DEK (00B, LMK
32-33) or a BDK's DUKPT data key (009, LMK 28-29) is decrypted: M0's twin.

Request:  M2 · mode flag (2 N: 00 ECB, 01 CBC, 02 CFB8, 03 CFB64, 05 OFB)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary)
          · output format flag (1 N: 0 binary, 1 hex-encoded binary, 2 text)
          · key type (3 H: 00A ZEK, 00B DEK, 009 BDK, FFF a key block; as M0)
          · key (16 H, or U/X + 32 H, or T/Y + 48 H, under the key type's LMK pair)
          · [KSN descriptor (3 H) · KSN (20 H): only with a BDK]
          · [IV (16 H): only with modes 01-03 and 05]
          · message length (4 H) · encrypted message (n B or n H per the input format flag)
          · [%nn LMK identifier]
Response: M3 00 · [output IV (16 H): only with modes 01-03]
          · message length (4 H) · decrypted message (n B, n H or n A per the output format flag)

The lengths count the characters of the message fields (hex digits for
hex-encoded data), as in M0; the message is whole 8-byte blocks, up to 32 KiB.
The output IV chains the next call: the last 8 bytes of IV · ciphertext,
i.e. for CBC the last block of the encrypted message given; OFB (05) answers
none, as M0. Text output is
the decrypted bytes as they are (an ASCII unit: no EBCDIC conversion). The
key type, KSN and DUKPT data key rules are M0's (logic/m0.py).

Errors: 02 mode flag · 03 input format flag · 04 output format flag · 05 key
type · 06 message length (not hex, zero, not whole blocks, over 32 KiB, or
less data than it declares) · 10 key parity · 13 LMK identifier · 15
malformed field (key, KSN, IV, hex message), or more data than declared ·
27 a single-length BDK.

Sources: payShield host command reference, "Decrypt Data Block" (M2: layout,
flags, output IV); aws-samples/samples-for-payment-cryptography-service
(migration_guidance/payshield-command-mapping.md: mode 05 OFB); softwaregroup-bg/ut-codec-payshield (messages.json: error
codes; processResponse.js: M3 output IV only for modes 01-03;
test/config/test.js: the M0/M2 round trip of a real unit, length in
characters). Vectors in tests/test_cmd_m2.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm

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

COMMAND = "M2"
VERSION = "1.2.0"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    mode = read_mode(fields)
    input_format = read_flag(fields, "01", error="03", what="input format flag")
    output_format = read_flag(fields, "012", error="04", what="output format flag")
    key = read_data_key(fields)
    check_mode(mode, key)
    iv = read_iv(fields, mode, key)
    message = read_message(fields, input_format, key.block)
    lmk_id = finish(fields)

    clear = crypt(hsm, open_key(hsm, key, lmk_id), encrypt=False, mode=mode, iv=iv, data=message)
    return output_iv(mode, iv, message) + message_field(clear, output_format)
