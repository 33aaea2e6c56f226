"""What the host does for a plugin, one method per host import of the WIT contract.

Every method takes the `RequestScope` of the request being executed: it is
where per-request state (the request id, and from the key-management issue on
the key handles) lives, and it is closed when the request ends, so nothing a
plugin was given outlives its request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import structlog

from hsmd.host.errors import HostError
from hsmd.host.lmk import LmkSet

MAX_RANDOM_BYTES = 4096
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})


@dataclass
class RequestScope:
    """Per-request host state; `close()` invalidates everything issued in it."""

    request_id: str
    handles: dict[int, object] = field(default_factory=dict)
    closed: bool = False

    def close(self) -> None:
        self.handles.clear()
        self.closed = True


class Host:
    def __init__(self, lmks: LmkSet, firmware_number: str) -> None:
        self._lmks = lmks
        self._firmware_number = firmware_number
        self._plugin_log = structlog.get_logger("hsmd.plugin")

    @property
    def lmks(self) -> LmkSet:
        return self._lmks

    def log(self, scope: RequestScope, level: str, event: str, fields: list[tuple[str, str]]) -> None:
        if level not in LOG_LEVELS:
            raise HostError("15", f"unknown log level {level!r}")
        # Plugin-chosen keys go under plugin_fields so they cannot overwrite request_id & co.
        getattr(self._plugin_log, level)(event, request_id=scope.request_id, plugin_fields=dict(fields))

    def random_hex(self, scope: RequestScope, n: int) -> str:
        if not 0 <= n <= MAX_RANDOM_BYTES:
            raise HostError("15", f"random length {n} outside 0..{MAX_RANDOM_BYTES}")
        return secrets.token_bytes(n).hex().upper()

    def lmk_check_value(self, scope: RequestScope, lmk_id: int | None) -> str:
        return self._lmks.check_value(lmk_id)

    def firmware_number(self, scope: RequestScope) -> str:
        return self._firmware_number
