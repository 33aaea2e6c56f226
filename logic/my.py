"""MY — Verify a MAC and translate it to another key (ISO 9797-1 algorithms 1 and 3, AES CBC-MAC, CMAC).

The MAC of the message is verified under the source key with the source
algorithm and padding (as M8 verifies it) and, if it verifies, computed again
under the destination key with the destination algorithm and padding (as M6
computes it). A long message is sent in blocks: the first (mode 1) and middle
(2) blocks return both chaining values, which the next block gives back as
its source and destination IVs.

Request:  MY · mode flag (1 N: 0 only, 1 first, 2 middle, 3 final block)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary, 2 text)
          · source MAC size and algorithm (2 N: 01, 03, 05 AES CBC-MAC, 06 AES CMAC, as M6)
          · source padding method (1 N: 0, 1, 2)
          · source key type (3 H: 003 TAK, 008 ZAK) · source key (16 H, or U/X + 32 H, or T/Y + 48 H)
          · destination MAC size and algorithm (2 N) · destination padding method (1 N)
          · destination key type (3 H) · destination key
          · [source IV · destination IV (each 16 H, 32 H for algorithms 5 and 6), modes 2 and 3 only]
          · message length (4 H: the length of the message field) · message (n B / n H / n A)
          · source MAC (8 H; may be left out in modes 1 and 2) · [%nn LMK identifier]
Response: MZ 00 · destination MAC (8 H) for modes 0 and 3 (MZ 01, no MAC, if
          the source MAC does not verify); MZ 00 · source IV (16 H) ·
          destination IV (16 H or 32 H each) for modes 1 and 2.

Uncertain: the public manual excerpt ends after the message field. The
source MAC field after the message (as in M8), the MZ layout and the error
codes are hsmd's reading by analogy with M6/M7, M8/M9 and ME/MF: 11 for the
destination key's parity as ME has it, 04/05/09 for either side's algorithm,
key type or padding. No published vectors exist; tests use psec.

Errors: 01 verification failure · 02 mode flag · 03 input format flag · 04
MAC size or algorithm · 05 key type · 06 message length (as for M6, for either
padding) · 09 padding method · 10 source key parity · 11 destination key
parity · 13 LMK identifier · 15 malformed field · 27 algorithm 03 with a key
that is not double length.

Sources: payShield host command reference, "Verify and Translate MAC" (MY:
layout up to the message, IVs in modes 2 and 3); M6/M8 (logic/m6.py,
logic/m8.py) for the rest; vectors in tests/test_cmd_my.py.
"""

from __future__ import annotations

import hmac

from hsmd_sdk import Fields, Hsm, Reply, answering

from logic.m6 import check_length, compute, read_input_format, read_mac, read_message, read_mode, read_spec

COMMAND = "MY"
VERSION = "1.1.0"


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = read_mode(fields)
    input_format = read_input_format(fields)
    source_spec = read_spec(fields, "source")
    destination_spec = read_spec(fields, "destination")
    chained = mode in ("2", "3")
    source_iv = fields.hex(2 * source_spec.block, what="source IV") if chained else source_spec.zero_iv
    destination_iv = fields.hex(2 * destination_spec.block, what="destination IV") if chained else destination_spec.zero_iv
    data = read_message(fields, input_format)
    mac = read_mac(fields, mode, "source MAC")
    lmk_id = fields.lmk_id()
    fields.end()
    check_length(mode, source_spec, data)
    check_length(mode, destination_spec, data)

    source = hsm.key_from_lmk(source_spec.key_type, source_spec.key_field, lmk_id)
    with answering("11", instead_of="10"):
        destination = hsm.key_from_lmk(destination_spec.key_type, destination_spec.key_field, lmk_id)
    source_value = compute(hsm, source, source_spec, mode, source_iv, data)
    if mode in ("1", "2"):
        return (source_value + compute(hsm, destination, destination_spec, mode, destination_iv, data)).encode("ascii")
    if mac is None or not hmac.compare_digest(source_value[:8], mac):  # never None in modes 0 and 3
        return Reply("01")
    return compute(hsm, destination, destination_spec, mode, destination_iv, data)[:8].encode("ascii")
