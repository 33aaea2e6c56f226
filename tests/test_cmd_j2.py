"""J2 — Get HSM loading.

No published exchange of these commands exists under any LMK (research: client
decoders only), so the answers are checked field by field against the layouts
of mszeu/PayShieldPressureTest's decoders (tested against a payShield 10K) and
against the state the test gives the host.
"""

from __future__ import annotations

from logic import j2
from tests.commands import native
from tests.status_host import status_host


def test_j2_reports_ten_load_bands_that_cover_every_second() -> None:
    h = status_host()
    h.status.started -= 5  # five seconds up
    answer = native(j2, h, b"")
    bands = answer[60:]
    assert len(bands) == 10 * 17 and bands.count(b",") == 10
    assert [bands[i * 17 : i * 17 + 6] for i in range(10)] == [b"%03d%03d" % (10 * i, 10 * i + 10) for i in range(10)]
    assert int(answer[50:60]) >= 5


def test_j2_takes_no_fields() -> None:
    assert native(j2, status_host(), b"X") == b"15"
