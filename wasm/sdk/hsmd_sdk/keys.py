"""Conventions the key-management commands share.

A key block's header is clear text: "S" · version ID (1) · block length (4 N)
· key usage (2) · algorithm (1) · ... (payShield key block format). Commands
read the usage and algorithm from it where a field's width depends on them
(an AES key's IVs and PIN blocks are 16 bytes); the host still authenticates
the block and enforces the header.
"""

from __future__ import annotations

from hsmd_sdk.fields import Fields

DEFAULT_SCHEME = {8: "Z", 16: "U", 24: "T"}  # scheme a key gets under the LMK when the command names none


def check_value(kcv: str, kcv_type: int) -> bytes:
    """A check value as a response field: type 0 = 16 H, type 1 = 6 H."""
    return (kcv if kcv_type == 0 else kcv[:6]).encode("ascii")


def block_header(field: str) -> tuple[str, str] | None:
    """A key block's clear key usage and algorithm; None for a variant key (or a field too short to hold them)."""
    return (field[6:8], field[8:9]) if field[:1] == "S" and len(field) > 9 else None


def is_aes(field: str) -> bool:
    """Is this key field an AES key? Only a key block can be one (algorithm A)."""
    header = block_header(field)
    return header is not None and header[1] == "A"


AES_KSN_DIGITS = 24  # AES DUKPT (ANSI X9.24-3): 8-byte initial key ID and 32-bit counter


def read_aes_ksn(fields: Fields) -> str:
    """An AES BDK's KSN descriptor (3 H, read but not interpreted: no public source gives its AES values) and KSN (24 H)."""
    fields.hex(3, what="KSN descriptor")
    return fields.hex(AES_KSN_DIGITS, what="KSN").upper()
