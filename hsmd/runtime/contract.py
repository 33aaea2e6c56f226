"""The contract version this host implements, and how a component is judged against it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# Must equal the package version in wasm/wit/plugin.wit (a test pins it).
CONTRACT_VERSION: Final = "1.9.0"
CONTRACT_MAJOR: Final = int(CONTRACT_VERSION.split(".")[0])
PACKAGE: Final = "hsmd:plugin"
REQUIRED_EXPORTS: Final = frozenset({"metadata", "init", "execute", "cleanup"})
# Called instead of `execute` where a component exports it (since 1.8.0; not required: older minors load).
FRAME_EXPORT: Final = "execute-frame"
HOST_INTERFACE: Final = f"{PACKAGE}/host@{CONTRACT_VERSION}"

_IMPORT_RE = re.compile(r"^(?P<package>[a-z][a-z0-9-]*:[a-z][a-z0-9-]*)/(?P<iface>[a-z][a-z0-9-]*)@(?P<version>\d+\.\d+\.\d+)$")


class ContractError(Exception):
    """The component was built against a contract this host cannot serve."""


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def check(imports: Iterable[str], exports: Iterable[str]) -> str:
    """Return the contract version the component was built against, or raise ContractError."""
    versions = set()
    for name in imports:
        match = _IMPORT_RE.match(name)
        if not match or match["package"] != PACKAGE:
            raise ContractError(f"imports {name!r}, which this host does not provide")
        versions.add(match["version"])
    if len(versions) > 1:
        raise ContractError(f"imports several contract versions: {sorted(versions)}")
    version = versions.pop() if versions else CONTRACT_VERSION
    major = int(version.split(".")[0])
    if major != CONTRACT_MAJOR:
        raise ContractError(f"built against contract {version}, this host implements {CONTRACT_VERSION} (major {CONTRACT_MAJOR})")
    if _minor(version) > _minor(CONTRACT_VERSION):
        raise ContractError(f"built against contract {version}, newer than this host's {CONTRACT_VERSION}")
    missing = REQUIRED_EXPORTS - set(exports)
    if missing:
        raise ContractError(f"does not export {', '.join(sorted(missing))}")
    return version
