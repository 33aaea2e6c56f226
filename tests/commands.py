"""Run a command's logic both ways: natively against the real host, and inside its component."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from hsmd_sdk import HsmError, respond

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.key_types import KeyTypeTable
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


def pci_host() -> Host:
    """A host with the test LMK in PCI HSM compliance mode (TMKs as key type 80D under 36-37)."""
    return Host(LmkSet({0: TEST_LMK}), "0007-E000", KeyTypeTable("pci"))


def key_block(host: Host, lmk: str, header: str) -> tuple[str, bytes]:
    """A new key from A0's key-block form (`#` + `header`) under LMK `lmk` ("01" 3DES, "02" AES in
    kb_oracle.make_host), and its clear value as the independent key-block oracle opens it."""
    from logic import a0
    from tests import kb_oracle

    block = native(a0, host, f"0FFFS%{lmk}#{header}".encode())[2:-6].decode()
    return block, kb_oracle.open_block(kb_oracle.K3 if lmk == "01" else kb_oracle.KA, block)[1]


def component_matches_logic(plugin_file: Path, module: ModuleType, host: Host, cases: Sequence[tuple[bytes, bytes]]) -> None:
    """Each case through the component and natively: the code it expects, and answers of the same length
    (generated keys and key blocks differ from call to call, so the bytes cannot be compared)."""
    from tests.conftest import make_runtime

    with make_runtime(host) as runtime:
        plugin = runtime.load(plugin_file)
        for request, answer in cases:
            wasm, logic = in_component(runtime, plugin, request), native(module, host, request)
            assert wasm[:2] == logic[:2] == answer[:2] and len(wasm) == len(logic), request
