"""What a command may ask of the HSM host. Host refusals raise `HsmError`."""

from __future__ import annotations

from typing import Literal, Protocol

LogLevel = Literal["debug", "info", "warning", "error"]


class Hsm(Protocol):
    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        """A structured log line carrying the request id (values are redacted by the host)."""

    def random_hex(self, n: int) -> str:
        """`n` random bytes from the host's CSPRNG, as upper-case hex."""

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        """16 hex characters: the check value of the selected LMK (None: the default)."""

    def firmware_number(self) -> str:
        """The 9-character firmware number this unit reports."""
