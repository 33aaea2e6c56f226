"""What a command may ask of the HSM host. Host refusals raise `HsmError` with the host's code.

Keys never cross into a plugin: the host hands out a `KeyHandle`, valid for
the current request only, and does every operation on the key itself.

The `Hsm` protocol and its records are generated from the WIT contract into
hsmd_sdk.host_api (plugingen --host-api); the handle types and conversions are
hand-written in hsmd_sdk.handles. This module is where logic imports them from.
"""

from __future__ import annotations

from hsmd_sdk.handles import HexData, KeyHandle, PinHandle, converted, hex_text
from hsmd_sdk.host_api import (
    CommandCount,
    EccKeyPair,
    HostConnection,
    Hsm,
    ImportedPublicKey,
    KeyInfo,
    LmkStatus,
    LoadBand,
    LogLevel,
    PortTraffic,
    RsaKeyPair,
    UnitInfo,
)

__all__ = [
    "CommandCount",
    "EccKeyPair",
    "HexData",
    "HostConnection",
    "Hsm",
    "ImportedPublicKey",
    "KeyHandle",
    "KeyInfo",
    "LmkStatus",
    "LoadBand",
    "LogLevel",
    "PinHandle",
    "PortTraffic",
    "RsaKeyPair",
    "UnitInfo",
    "converted",
    "hex_text",
]
