"""Run a command's logic both ways: natively against the real host, and inside its component."""

from __future__ import annotations

from types import ModuleType

from hsmd_sdk import HsmError, respond

from hsmd.host import Host, RequestScope
from hsmd.host.native import NativeHsm
from hsmd.runtime import GuestError, Plugin, Runtime


def native(module: ModuleType, host: Host, request: bytes) -> bytes:
    """Error code + fields, as the component would answer (error answers carry the code only)."""
    try:
        return respond(module.execute, request, NativeHsm(host, RequestScope("native")))
    except HsmError as exc:
        return exc.code.encode()


def in_component(runtime: Runtime, plugin: Plugin, request: bytes) -> bytes:
    try:
        return runtime.execute(plugin, request, RequestScope("wasm"))
    except GuestError as exc:
        return exc.code.encode()
