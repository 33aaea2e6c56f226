"""J8 — Get health check accumulated counts.

No published exchange of these commands exists under any LMK (research: client
decoders only), so the answers are checked field by field against the layouts
of mszeu/PayShieldPressureTest's decoders (tested against a payShield 10K) and
against the state the test gives the host.
"""

from __future__ import annotations

from logic import j8
from tests.commands import native
from tests.status_host import status_host


def test_j8_counts_pin_verifications_of_the_last_minute_and_hour() -> None:
    h = status_host()
    for command in ["EC", "DA", "BE", "CA"]:
        h.status.record(command, 0.0)
    answer = native(j8, h, b"")
    assert len(answer) == 2 + 88
    assert answer[2:14] == b"HSMD12345678"
    assert answer[50:] == b"0000000000" + b"0000000000" + b"0000003" + b"00003" + b"00000000"


def test_j8_takes_no_fields() -> None:
    assert native(j8, status_host(), b"X") == b"15"
