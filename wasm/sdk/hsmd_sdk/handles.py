"""The hand-written half of the host API: handle types and value conversions.

hsmd_sdk.host_api (the `Hsm` protocol and its records), hsmd_sdk.guest_api and
hsmd.host.native_api are generated from the WIT by plugingen; what they cannot
derive from it lives here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import NewType, TypeAlias, TypeVar

# WIT `key-handle` and `pin-handle` (u32): opaque, valid for the current request only.
KeyHandle = NewType("KeyHandle", int)
PinHandle = NewType("PinHandle", int)

# WIT `hex-data` as a parameter: bytes are sent as hex, a str is hex already.
HexData: TypeAlias = bytes | str

T = TypeVar("T")


def hex_text(data: HexData) -> str:
    """A `hex-data` argument as the hex text that crosses the boundary."""
    return data.hex() if isinstance(data, bytes) else data


def converted(kind: type[T], value: object) -> T:
    """`value` (the host's or the WIT binding's record) as the SDK's dataclass `kind`, field by field."""
    return kind(**{f.name: getattr(value, f.name) for f in fields(kind)})  # type: ignore[arg-type]
