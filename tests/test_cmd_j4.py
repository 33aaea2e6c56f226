"""J4 — Get host command volumes.

No published exchange of these commands exists under any LMK (research: client
decoders only), so the answers are checked field by field against the layouts
of mszeu/PayShieldPressureTest's decoders (tested against a payShield 10K) and
against the state the test gives the host.
"""

from __future__ import annotations

import re

from logic import j4
from tests.commands import native
from tests.status_host import DATE_TIME, status_host


def test_j4_counts_the_requests_the_dispatcher_recorded() -> None:
    h = status_host()
    for command in ["NC", "NC", "CA", "A0", "NC"]:
        h.status.record(command, 0.0001)
    answer = native(j4, h, b"")
    assert answer[:2] == b"00"
    assert re.fullmatch(rb"HSMD12345678" + (DATE_TIME * 3).encode() + rb"\d{10}", answer[2:60])
    assert answer[60:] == b"A0000000000001CA000000000001NC000000000003"


def test_j4_takes_no_fields() -> None:
    assert native(j4, status_host(), b"X") == b"15"
