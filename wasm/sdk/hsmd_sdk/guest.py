"""The component side of the contract: used only inside a WebAssembly plugin.

`world()` turns a logic module's `execute` into the class componentize-py
expects; the generated adapter in commands/<CMD>/app.py is one call to it.
`wit_world` exists only in the component build (componentize-py generates it
from wasm/wit), which is why nothing else imports this module.
"""

from __future__ import annotations

from typing import Any

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host, types  # type: ignore[import-not-found]

from hsmd_sdk.errors import HsmError
from hsmd_sdk.hsm import LogLevel
from hsmd_sdk.response import Execute, respond

_LEVELS = {
    "debug": types.LogLevel.DEBUG,
    "info": types.LogLevel.INFO,
    "warning": types.LogLevel.WARNING,
    "error": types.LogLevel.ERROR,
}


def _host_error(err: Any) -> HsmError:
    return HsmError(err.value.code, err.value.reason)


class GuestHsm:
    """`hsmd_sdk.Hsm` over the WIT host imports."""

    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        host.log(_LEVELS[level], event, [(k, str(v)) for k, v in fields.items()])

    def random_hex(self, n: int) -> str:
        try:
            return str(host.random_hex(n))
        except Err as err:
            raise _host_error(err) from None

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        try:
            return str(host.lmk_check_value(lmk_id))
        except Err as err:
            raise _host_error(err) from None

    def firmware_number(self) -> str:
        return str(host.firmware_number())


def world(*, command: str, version: str, description: str, execute: Execute) -> type:
    """The `WitWorld` class for one command."""
    hsm = GuestHsm()
    meta = types.Metadata(command=command, version=version, description=description)

    class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
        def metadata(self) -> Any:
            return meta

        def init(self) -> None:
            return None

        def execute(self, request: bytes) -> bytes:
            try:
                return respond(execute, request, hsm)
            except HsmError as exc:
                raise Err(types.HsmError(code=exc.code, reason=exc.reason)) from None

        def cleanup(self) -> None:
            return None

    return WitWorld
