"""Compiled components on disk, keyed by what makes a compiled artifact valid.

Compiling an 18 MB Python component takes ~10 s; deserializing its compiled
form takes a few ms. A `.cwasm` only loads into the same wasmtime version with
the same engine settings, so the key is the component's hash, the wasmtime
version and the engine fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from hsmd.runtime.abi import WASMTIME_VERSION


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CompileCache:
    def __init__(self, directory: Path, engine: wasmtime.Engine, fingerprint: str) -> None:
        self._dir = directory
        self._engine = engine
        self._fingerprint = fingerprint

    def path_for(self, component_digest: str) -> Path:
        key = digest(f"{component_digest}|wasmtime {WASMTIME_VERSION}|{self._fingerprint}".encode())
        return self._dir / f"{key[:32]}.cwasm"

    def load(self, wasm: bytes, component_digest: str) -> tuple[Component, bool]:
        """The compiled component, and whether it came from the cache."""
        path = self.path_for(component_digest)
        if path.exists():
            try:
                return Component.deserialize_file(self._engine, str(path)), True
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # stale or damaged: compile again below
        component = Component(self._engine, wasm)
        self._store(path, component.serialize())
        return component, False

    def _store(self, path: Path, data: bytes | bytearray) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent start never deserializes half a file.
        fd, tmp = tempfile.mkstemp(dir=self._dir, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
