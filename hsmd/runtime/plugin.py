"""One command's component, and the instance that serves it.

An `Instance` is a Store plus an instantiated component. After any trap it
can't be entered again, and guest memory grows with use, so a `Plugin` keeps
at most one live instance and replaces it after a fault or after
`recycle_after` calls. Every call is armed with fresh fuel and a fresh epoch
deadline first: both start at zero, and an unarmed store traps at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
import wasmtime
from wasmtime.component import Component, Linker

from hsmd.runtime import abi

MAX_RESPONSE = 65535  # a response must fit a frame


@dataclass(frozen=True)
class Limits:
    fuel: int = 50_000_000
    deadline_ms: int = 1000
    memory_bytes: int = 64 * 1024 * 1024
    recycle_after: int = 1000


@dataclass(frozen=True)
class Metadata:
    command: str
    version: str
    description: str


class GuestError(Exception):
    """The plugin answered with the err case of a contract function: a payShield code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class PluginFault(Exception):
    """The call did not complete: trap, fuel, deadline, host-function failure or a malformed answer."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _lift_error(val: abi.Val) -> GuestError:
    fields = abi.lift_record_strings(val, 4096)
    code = fields.get(b"code", b"").decode(errors="replace")
    reason = fields.get(b"reason", b"").decode(errors="replace")
    if len(code) != 2 or not code.isascii() or not code.isprintable():
        raise PluginFault("malformed", f"error code {code!r} is not two printable characters")
    return GuestError(code, reason)


def _lift_execute(val: abi.Val) -> bytes | GuestError:
    if val.kind != abi.K_RESULT:
        raise PluginFault("malformed", "execute returned a non-result")
    inner = val.of.result.val.contents
    if val.of.result.is_ok:
        return abi.lift_bytes(inner, MAX_RESPONSE)
    return _lift_error(inner)


def _lift_unit_result(val: abi.Val) -> GuestError | None:
    if val.kind != abi.K_RESULT:
        raise PluginFault("malformed", "init returned a non-result")
    return None if val.of.result.is_ok else _lift_error(val.of.result.val.contents)


def _lift_metadata(val: abi.Val) -> Metadata:
    fields = abi.lift_record_strings(val, 4096)
    return Metadata(
        command=fields.get(b"command", b"").decode(errors="replace"),
        version=fields.get(b"version", b"").decode(errors="replace"),
        description=fields.get(b"description", b"").decode(errors="replace"),
    )


class Instance:
    """A Store and one instantiated component in it."""

    def __init__(self, engine: wasmtime.Engine, linker: Linker, component: Component, limits: Limits, ticks: int) -> None:
        self._store = wasmtime.Store(engine)
        self._store.set_limits(memory_size=limits.memory_bytes)
        self._fuel = limits.fuel
        self._ticks = ticks
        self.arm()  # instantiation runs guest code too
        instance = linker.instantiate(self._store, component)
        self._metadata = abi.RawFunc(self._store, instance, "metadata")
        self._init = abi.RawFunc(self._store, instance, "init")
        self._execute = abi.RawFunc(self._store, instance, "execute")
        self._cleanup = abi.RawFunc(self._store, instance, "cleanup")
        self.calls = 0

    def arm(self) -> None:
        self._store.set_fuel(self._fuel)
        self._store.set_epoch_deadline(self._ticks)

    def metadata(self) -> Metadata:
        self.arm()
        meta: Metadata = abi.call(self._metadata, (), _lift_metadata)
        return meta

    def init(self) -> None:
        self.arm()
        error = abi.call(self._init, (), _lift_unit_result)
        if error is not None:
            raise error

    def execute(self, request: bytes) -> bytes:
        self.arm()
        out = abi.call(self._execute, (lambda val: abi.lower_bytes(val, request),), _lift_execute)
        self.calls += 1
        if isinstance(out, GuestError):
            raise out
        return bytes(out)

    def cleanup(self) -> None:
        self.arm()
        abi.call(self._cleanup, (), None)


InstanceFactory = Callable[[], Instance]


class Plugin:
    """A loaded command: its compiled component, metadata and current instance."""

    def __init__(
        self,
        *,
        path: Path,
        digest: str,
        contract: str,
        meta: Metadata,
        factory: InstanceFactory,
        recycle_after: int,
        instance: Instance | None = None,
    ) -> None:
        self.path = path
        self.digest = digest
        self.contract = contract
        self.meta = meta
        self.command = meta.command
        self._factory = factory
        self._recycle_after = recycle_after
        self._instance = instance  # an already initialised one, e.g. the instance that answered metadata at load
        self.calls = 0
        self.faults = 0
        self.recycles = 0
        self._log = structlog.get_logger("hsmd.runtime").bind(plugin=meta.command)

    def instance(self) -> Instance:
        if self._instance is None:
            instance = self._factory()
            instance.init()
            self._instance = instance
        return self._instance

    def execute(self, request: bytes) -> bytes:
        """Error code + fields; GuestError for an error answer; PluginFault if the call failed."""
        instance = self.instance()
        self.calls += 1
        try:
            payload = instance.execute(request)
        except GuestError as exc:
            if exc.code == "41":
                # The guest SDK answers 41 for an exception in logic (a bug, or
                # MemoryError at the memory cap): a fault, and its state is suspect.
                self.faults += 1
                self._retire(clean=False, reason="fault")
                raise PluginFault("guest", exc.reason) from exc
            if instance.calls >= self._recycle_after:
                self._retire(clean=True, reason="recycle")
            raise
        except (abi.TrapError, PluginFault, TypeError, ValueError) as exc:
            self.faults += 1
            self._retire(clean=False, reason="fault")
            if isinstance(exc, PluginFault):
                raise
            kind = exc.kind if isinstance(exc, abi.TrapError) else "malformed"
            raise PluginFault(kind, str(exc).splitlines()[0]) from exc
        if len(payload) < 2:
            self.faults += 1
            self._retire(clean=False, reason="fault")
            raise PluginFault("malformed", "response shorter than an error code")
        if instance.calls >= self._recycle_after:
            self._retire(clean=True, reason="recycle")
        return payload

    def _retire(self, *, clean: bool, reason: str) -> None:
        instance, self._instance = self._instance, None
        if instance is None:
            return
        if reason == "recycle":
            self.recycles += 1
        if clean:
            try:
                instance.cleanup()
            except (abi.TrapError, PluginFault) as exc:
                self._log.warning("cleanup failed", reason=str(exc).splitlines()[0])
        self._log.debug("instance retired", reason=reason, calls=instance.calls)

    def close(self) -> None:
        """Clean up the live instance (reload, stop). Idempotent."""
        self._retire(clean=True, reason="close")
