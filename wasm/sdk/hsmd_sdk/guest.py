"""The component side of the contract: used only inside a WebAssembly plugin.

`world()` turns a logic module's `execute` into the class componentize-py
expects; the generated adapter in commands/<CMD>/app.py is one call to it.
`wit_world` exists only in the component build (componentize-py generates it
from wasm/wit), which is why nothing else imports this module.

`GuestHsm`, the `Hsm` over the WIT host imports, is generated from the WIT
into hsmd_sdk.guest_api (plugingen --host-api).
"""

from __future__ import annotations

from typing import Any

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import types  # type: ignore[import-not-found]

from hsmd_sdk.errors import HsmError
from hsmd_sdk.guest_api import GuestHsm
from hsmd_sdk.response import Execute, respond

__all__ = ["GuestHsm", "world"]


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

        def execute_frame(self, request: str) -> str:
            # The bytes as ISO 8859-1 text: one copy across the boundary instead of a value per byte.
            try:
                data = request.encode("latin-1")
            except UnicodeEncodeError:
                raise Err(types.HsmError(code="15", reason="execute-frame: a character above U+00FF")) from None
            return self.execute(data).decode("latin-1")

        def cleanup(self) -> None:
            return None

    return WitWorld
