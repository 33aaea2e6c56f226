"""JK — Get instantaneous health check status.

No published exchange of these commands exists under any LMK (research: client
decoders only), so the answers are checked field by field against the layouts
of mszeu/PayShieldPressureTest's decoders (tested against a payShield 10K) and
against the state the test gives the host.
"""

from __future__ import annotations

import re

from hsmd.host import TEST_LMK
from logic import jk
from tests import kb_oracle
from tests.commands import native
from tests.status_host import DATE_TIME, status_host


def test_jk_lists_the_lmks_with_their_test_or_live_status() -> None:
    answer = native(jk, status_host(authorised=True), b"")
    assert answer[:2] == b"00"
    body = answer[2:]
    assert re.fullmatch(rb"HSMD12345678" + DATE_TIME.encode(), body[:24])
    assert body[24:31] == b"0013001"  # console, manager, port 1 running, port 2 not configured, reserved, not tampered
    assert body[31:37] == b"020100"  # two LMKs, one of them test, no old ones
    records, _, tail = body[37:].partition(b"\x15")
    first, second, rest = records.split(b"\x14")
    assert first == b"00" + b"1" + b"00" + b"V0T" + TEST_LMK.check_value.encode()
    assert second.startswith(b"01100V0L") and rest == b""
    assert tail == b"00"


def test_jk_takes_no_fields() -> None:
    assert native(jk, status_host(), b"X") == b"15"


def test_jk_lists_key_block_lmks_with_scheme_k_and_their_algorithm() -> None:
    # LMK 01 the 3DES key-block test LMK (triple length: algorithm 1), 02 the AES-256 one (algorithm 2).
    answer = native(jk, kb_oracle.make_host(), b"")
    body = answer[2:]
    assert body[31:37] == b"030300"  # three LMKs, all test
    records = body[37:].partition(b"\x15")[0].split(b"\x14")
    assert records[0].startswith(b"00000V0T")
    assert records[1] == b"01000K1T" + kb_oracle.make_host().lmks.check_value(1).encode()
    assert records[2] == b"02000K2T9D04A00000000000"
