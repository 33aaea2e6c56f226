"""One command's component, and the instance that serves it.

An `Instance` is a Store plus an instantiated component. After any trap it
can't be entered again, and guest memory grows with use, so a `Plugin` keeps
at most one live instance, created on first use (an idle command holds no
instance), and replaces it after a fault, after `recycle_after` calls, or as
soon as its linear memory passes a high-water mark below the cap. Every call is
armed with fresh fuel and a fresh epoch deadline first: both start at zero, and
an unarmed store traps at once.

The high-water mark is `memory_bytes - headroom(memory_bytes)`. Memory never shrinks,
so what one request can add is what its call adds: measured with wasmtime 50
and componentize-py 0.25 (tests/test_recycling.py pins the B2 figure), a
maximum-size B2 echo (65,529 bytes of data: a 65,535-byte frame with no header)
grew the memory by 64 KiB on most calls and by 128 KiB at most while requests
crossed as list<u8>, M0 on 32 KiB of data by 128 KiB at most, GM on 65,000 bytes
not at all; through execute-frame (contract 1.8.0, strings) the echo grows it not at all. An instance retired once its
memory passes the mark leaves the next request a memory at most the mark, and
the headroom to grow in: 4 MiB (32 times the largest growth measured), or an
eighth of a smaller cap (2 MiB at the 16 MiB minimum: 16 times), so that a
small cap still leaves room above a fresh Python instance (12.8 MiB) for a
few calls before each recycle.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import wasmtime
from wasmtime.component import Component, Linker

from hsmd.runtime import abi, contract, fastcall, memory
from hsmd.runtime.epoch import EpochClock

MAX_RESPONSE = 65535  # a response must fit a frame
MIB = 1024 * 1024
MEMORY_HEADROOM = 4 * MIB  # what the last request before a recycle may still add (see the module docstring)


MEMORY_ERROR = "command raised MemoryError"  # how the Python SDK's `fail` begins when the guest's memory ran out
FAIL_SINCE_MINOR = 7  # contract 1.7.0 added `fail`: from then on an `err` 41 is an answer, not a fault


def _minor(version: str) -> int:
    parts = version.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def headroom(memory_limit: int) -> int:
    return min(MEMORY_HEADROOM, memory_limit // 8)


def memory_mark(memory_limit: int) -> int:
    """The high-water mark past which an instance is retired (see the module docstring)."""
    return memory_limit - headroom(memory_limit)


# Where an instance's memory cannot be measured (memory.watch found no base), a
# call budget instead: a fresh instance at up to 16 MiB, each call adding up to the headroom.
ASSUMED_START = 16 * MIB


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


def _lift_execute_frame(val: abi.Val) -> bytes | GuestError:
    """execute-frame's answer: the ok text's characters are the bytes (ValueError where one is above U+00FF)."""
    if val.kind != abi.K_RESULT:
        raise PluginFault("malformed", "execute-frame returned a non-result")
    inner = val.of.result.val.contents
    if val.of.result.is_ok:
        try:
            answer = abi.lift_string(inner, 2 * MAX_RESPONSE).decode().encode("latin-1")
        except UnicodeError:
            raise ValueError("answer holds a character above U+00FF") from None
        if len(answer) > MAX_RESPONSE:
            raise ValueError(f"answer of {len(answer)} bytes exceeds {MAX_RESPONSE}")
        return answer
    return _lift_error(inner)


def _frame_text(request: bytes) -> bytes:
    """The request as execute-frame takes it: UTF-8 of the text whose characters are the bytes."""
    return request.decode("latin-1").encode()


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

    def __init__(
        self,
        engine: wasmtime.Engine,
        linker: Linker,
        component: Component,
        limits: Limits,
        clock: EpochClock,
        *,
        track_memory: bool = True,
        fast: fastcall.Library | None = None,
    ) -> None:
        self._store = wasmtime.Store(engine)
        self._store.set_limits(memory_size=limits.memory_bytes)
        self._fuel = limits.fuel
        self._clock = clock
        self.memory_limit = limits.memory_bytes
        self.memory_mark = memory_mark(limits.memory_bytes)
        # Where its linear memory lives, so the plugin can tell when it nears the cap (None: unknown).
        self.memory_base: int | None = None
        self._probes: dict[int, memory.Probe] = {}
        clock.enter()  # instantiation runs guest code too
        try:
            self._arm()
            if track_memory:
                instance, self.memory_base = memory.watch(lambda: linker.instantiate(self._store, component))
            else:
                instance = linker.instantiate(self._store, component)
        finally:
            clock.leave()
        self._metadata = abi.RawFunc(self._store, instance, "metadata")
        self._init = abi.RawFunc(self._store, instance, "init")
        try:
            self._execute = abi.RawFunc(self._store, instance, contract.FRAME_EXPORT)
            self._frames = True
        except LookupError:  # built before contract 1.8.0: bytes as list<u8>
            self._execute = abi.RawFunc(self._store, instance, "execute")
            self._frames = False
        self._cleanup = abi.RawFunc(self._store, instance, "cleanup")
        # The same call in one native step, where the runtime has the library (fastcall.py); it
        # also asks, after each answer, whether the memory reaches the mark.
        mark_address = None if self.memory_base is None else self.memory_base + self.memory_mark
        self._fast = None if fast is None else fast.caller(self._execute, self._frames, self._fuel, clock.ticks, MAX_RESPONSE, mark_address)
        self.calls = 0

    def _arm(self) -> None:
        """Fresh fuel and a deadline `ticks` epochs ahead; only between the clock's enter() and leave()."""
        self._store.set_fuel(self._fuel)
        self._store.set_epoch_deadline(self._clock.ticks)

    def _call(self, func: abi.RawFunc, lift: Callable[[abi.Val], Any] | None) -> Any:
        """A guest export without arguments, armed and under the running clock."""
        self._clock.enter()
        try:
            self._arm()
            return abi.call(func, (), lift)
        finally:
            self._clock.leave()

    def metadata(self) -> Metadata:
        meta: Metadata = self._call(self._metadata, _lift_metadata)
        return meta

    def init(self) -> None:
        error = self._call(self._init, _lift_unit_result)
        if error is not None:
            raise error

    def execute(self, request: bytes) -> bytes:
        self._clock.enter()
        try:
            if self._fast is not None:  # the native step arms the store itself
                out = self._fast(request, _lift_execute_frame if self._frames else _lift_execute)
            else:
                self._arm()
                if self._frames:
                    out = abi.call(self._execute, (lambda val: abi.lower_string(val, _frame_text(request)),), _lift_execute_frame)
                else:
                    out = abi.call(self._execute, (lambda val: abi.lower_bytes(val, request),), _lift_execute)
        finally:
            self._clock.leave()
        self.calls += 1
        if isinstance(out, GuestError):
            raise out
        return bytes(out)

    def cleanup(self) -> None:
        self._call(self._cleanup, None)

    def memory_above(self, size: int) -> bool | None:
        """Whether the linear memory is larger than `size` bytes (None: not measurable). About 1 µs."""
        if self.memory_base is None:
            return None
        probe = self._probes.get(size)
        if probe is None:
            probe = self._probes[size] = memory.Probe(self.memory_base + size)
        return probe()

    def above_mark(self) -> bool | None:
        """`memory_above(memory_mark)`: answered already where the native step asked it after the last call."""
        if self._fast is not None and self._fast.above is not None:
            return self._fast.above
        return self.memory_above(self.memory_mark)

    def memory_size(self) -> int | None:
        """The linear memory's size in bytes (None: not measurable). About 30 µs: for logs, not every call."""
        return None if self.memory_base is None else memory.size(self.memory_base, self.memory_limit)


InstanceFactory = Callable[[], Instance]


def _describe(trap: abi.TrapError) -> str:
    """One line for a log: what stopped the guest and where, never wasmtime's bare backtrace header."""
    where = trap.where
    return trap.reason if where is None else f"{trap.reason} (in {where})"


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
        memory_limit: int | None = None,
        instance: Instance | None = None,
        guest_failure: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.path = path
        self.digest = digest
        self.contract = contract
        self.meta = meta
        self.command = meta.command
        self._legacy_41 = _minor(contract) < FAIL_SINCE_MINOR  # its SDK answered 41 for its own failures
        self._factory = factory
        self._recycle_after = recycle_after
        # Retire an instance whose memory passed its mark (or, where it can't be measured, after a call budget).
        self._watch_memory = memory_limit is not None
        self._blind_budget = None if memory_limit is None else max(1, (memory_limit - ASSUMED_START) // headroom(memory_limit))
        self._instance = instance  # an already initialised one; normally None until the first request
        self._guest_failure = guest_failure  # the reason the guest gave `fail` in the call that trapped, if it did
        self.loaded_at = time.time()  # a reload keeps an unchanged plugin, and its time
        self.calls = 0
        self.faults = 0
        self.recycled: Counter[str] = Counter()  # healthy instances replaced, by reason: "calls" | "memory"
        self._log = structlog.get_logger("hsmd.runtime").bind(plugin=meta.command)

    @property
    def recycles(self) -> int:
        return self.recycled.total()

    @property
    def live(self) -> bool:
        """Whether an instance exists now (none until the first request, and none after a fault or recycle)."""
        return self._instance is not None

    def instance(self) -> Instance:
        """The live instance, created and initialised now if there is none.

        The runtime calls this before it opens the request's scope, so `init`
        never runs inside a request. A failure to start is a fault of this request.
        """
        if self._instance is None:
            try:
                instance = self._factory()
                instance.init()
            except GuestError as exc:
                self.faults += 1
                raise PluginFault("init", f"init answered {exc.code}: {exc.reason}") from exc
            except abi.TrapError as exc:
                self.faults += 1
                reason = self._guest_failure()
                raise PluginFault("guest" if reason else exc.kind, f"init: {reason or _describe(exc)}") from exc
            except wasmtime.WasmtimeError as exc:
                self.faults += 1
                raise PluginFault("init", f"cannot instantiate: {str(exc).splitlines()[0]}") from exc
            self._instance = instance
        return self._instance

    def execute(self, request: bytes) -> bytes:
        """Error code + fields; GuestError for an error answer; PluginFault if the call failed."""
        instance = self.instance()
        self.calls += 1
        try:
            payload = instance.execute(request)
        except GuestError as exc:
            if exc.code == "41" and self._legacy_41:
                # Before contract 1.7.0 the SDK answered 41 for an exception in logic (a bug, or
                # MemoryError at the memory cap): a fault, and its state is suspect. Since, it calls `fail`.
                fault = self._fault(instance, "guest", exc.reason, memory_error=exc.reason == MEMORY_ERROR)
                raise fault from exc
            self._after_call(instance)
            raise
        except (abi.TrapError, PluginFault, TypeError, ValueError) as exc:
            if isinstance(exc, PluginFault):
                raise self._fault(instance, exc.kind, exc.message) from exc
            if isinstance(exc, abi.TrapError):
                reason = self._guest_failure()
                if reason is not None:  # the guest's own `fail`: its words, and MemoryError is "memory"
                    raise self._fault(instance, "guest", reason, memory_error=reason.startswith(MEMORY_ERROR)) from exc
                raise self._fault(instance, exc.kind, _describe(exc)) from exc
            raise self._fault(instance, "malformed", str(exc).splitlines()[0]) from exc
        if len(payload) < 2:
            raise self._fault(instance, "malformed", "response shorter than an error code")
        self._after_call(instance)
        return payload

    def _after_call(self, instance: Instance) -> None:
        """Retire a healthy instance that served its calls, or whose memory one more request could push to the cap."""
        if self._watch_memory:
            above = instance.above_mark()
            if above or (above is None and self._blind_budget is not None and instance.calls >= self._blind_budget):
                self._retire(clean=True, reason="memory")
                return
        if instance.calls >= self._recycle_after:
            self._retire(clean=True, reason="calls")

    def _fault(self, instance: Instance, kind: str, message: str, *, memory_error: bool = False) -> PluginFault:
        """Count the fault, retire the instance and say what happened: a trap or MemoryError at the cap is "memory"."""
        self.faults += 1
        if memory_error or kind in ("unreachable", "trap"):
            # Python in the guest meets a full memory as MemoryError, or traps while reporting it.
            size = instance.memory_size()
            near_cap = size is not None and size > instance.memory_mark
            if memory_error or near_cap:
                used = "" if size is None else f"; linear memory {size / MIB:.1f} of {instance.memory_limit / MIB:.0f} MiB"
                kind, message = "memory", message + used
        self._retire(clean=False, reason="fault")
        return PluginFault(kind, message)

    def _retire(self, *, clean: bool, reason: str) -> None:
        instance, self._instance = self._instance, None
        if instance is None:
            return
        if reason in ("calls", "memory"):
            self.recycled[reason] += 1
        size = instance.memory_size()
        if clean:
            try:
                instance.cleanup()
            except (abi.TrapError, PluginFault) as exc:
                self._log.warning("cleanup failed", reason=_describe(exc) if isinstance(exc, abi.TrapError) else exc.message)
        self._log.debug("instance retired", reason=reason, calls=instance.calls, memory_mib=None if size is None else round(size / MIB, 1))

    def close(self) -> None:
        """Clean up the live instance (reload, stop). Idempotent."""
        self._retire(clean=True, reason="close")
