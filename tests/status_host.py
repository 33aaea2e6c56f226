"""A host with a known status for the status command tests (NO, J2, J4, J8, JK)."""

from __future__ import annotations

from hsmd.host import TEST_LMK, Host, Lmk, LmkSet
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.services import PinSettings
from hsmd.host.status import UnitStatus

DATE_TIME = r"\d{6}\d{6}"


def status_host(**kwargs: object) -> Host:
    """Serial HSMD12345678, 256 connections, firmware 1500-0023, LMK 00 the test LMK and LMK 01 a live one."""
    status = UnitStatus("HSMD12345678", max_connections=256)
    mode = str(kwargs.pop("mode", "non-pci"))
    other = Lmk.from_hex(["%032X" % (i + 2) for i in range(20)])
    return Host(LmkSet({0: TEST_LMK, 1: other}), "1500-0023", KeyTypeTable(mode), PinSettings(**kwargs), status)  # type: ignore[arg-type]
