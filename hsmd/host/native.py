"""`hsmd_sdk.Hsm` straight onto the host, no wasm in between.

Logic modules run on this under pytest (fast, exact unit tests against the
real host), in the parity tests (same bytes as through the component) and in
the benchmark's native baseline.
"""

from __future__ import annotations

from hsmd_sdk import HsmError
from hsmd_sdk.hsm import LogLevel

from hsmd.host.errors import HostError
from hsmd.host.services import Host, RequestScope


class NativeHsm:
    def __init__(self, host: Host, scope: RequestScope) -> None:
        self._host = host
        self._scope = scope

    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        self._host.log(self._scope, level, event, [(k, str(v)) for k, v in fields.items()])

    def random_hex(self, n: int) -> str:
        try:
            return self._host.random_hex(self._scope, n)
        except HostError as exc:
            raise HsmError(exc.code, exc.reason) from None

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        try:
            return self._host.lmk_check_value(self._scope, lmk_id)
        except HostError as exc:
            raise HsmError(exc.code, exc.reason) from None

    def firmware_number(self) -> str:
        return self._host.firmware_number(self._scope)
