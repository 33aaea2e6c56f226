"""Conventions the key-management commands share."""

from __future__ import annotations

DEFAULT_SCHEME = {8: "Z", 16: "U", 24: "T"}  # scheme a key gets under the LMK when the command names none


def check_value(kcv: str, kcv_type: int) -> bytes:
    """A check value as a response field: type 0 = 16 H, type 1 = 6 H."""
    return (kcv if kcv_type == 0 else kcv[:6]).encode("ascii")
