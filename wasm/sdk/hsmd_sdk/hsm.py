"""What a command may ask of the HSM host. Host refusals raise `HsmError` with the host's code.

Keys never cross into a plugin: the host hands out a `KeyHandle`, valid for
the current request only, and does every operation on the key itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NewType, Protocol

LogLevel = Literal["debug", "info", "warning", "error"]
KeyHandle = NewType("KeyHandle", int)


@dataclass(frozen=True)
class KeyInfo:
    key_type: str  # e.g. "001"
    length: int  # 8, 16 or 24
    odd_parity: bool  # False: the key arrived without odd parity (held parity-adjusted)


class Hsm(Protocol):
    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        """A structured log line carrying the request id (values are redacted by the host)."""

    def random_hex(self, n: int) -> str:
        """`n` random bytes from the host's CSPRNG, as upper-case hex."""

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        """16 hex characters: the check value of the selected LMK (None: the default)."""

    def firmware_number(self) -> str:
        """The 9-character firmware number this unit reports."""

    def key_from_lmk(self, key_type: str, key: str, lmk_id: int | None = None) -> KeyHandle:
        """A key field encrypted under the LMK as `key_type` (10 if its parity is even)."""

    def key_to_lmk(self, key: KeyHandle, scheme: str, lmk_id: int | None = None) -> str:
        """The key field under the LMK in `scheme` (Z, U, T, X, Y)."""

    def key_from_kek(self, kek: KeyHandle, key_type: str, key: str) -> KeyHandle:
        """A key field encrypted under a ZMK or TMK (29 if `kek` may not carry `key_type`)."""

    def key_to_kek(self, kek: KeyHandle, key: KeyHandle, scheme: str) -> str:
        """The key field under a ZMK or TMK in `scheme`."""

    def key_generate(self, key_type: str, scheme: str) -> KeyHandle:
        """A new random key as long as `scheme` says."""

    def key_combine(self, key_type: str, parts: list[KeyHandle]) -> KeyHandle:
        """The XOR of key components, parity-adjusted."""

    def key_check_value(self, key: KeyHandle) -> str:
        """16 hex; commands show the first 6 or all 16."""

    def key_info(self, key: KeyHandle) -> KeyInfo:
        """Type, length and parity as received; never the key."""

    def key_type_code(self, role: str) -> str:
        """The key type code of a role ("TMK", "TPK", "PVK", ...) in the unit's key type table."""
