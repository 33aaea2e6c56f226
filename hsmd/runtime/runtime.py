"""The plugin runtime: one wasmtime engine, the host imports, the loaded plugins.

Loading refuses, with one log line each, a file that does not compile, was
built against another contract major version, or whose metadata names a
command other than its file name; the other plugins load regardless.

The wall-clock deadline is wasmtime's epoch, bumped by the Runtime's
EpochClock (epoch.py): each call may run `deadline_ms` worth of ticks. The
clock's thread is joined by `close()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog
import wasmtime
from wasmtime.component import Component, Linker

from hsmd.host import GuestFailure, Host, RequestScope
from hsmd.runtime import abi, cache, contract, fastcall, signature
from hsmd.runtime.epoch import EpochClock
from hsmd.runtime.imports import CallState, bind, native_fronts
from hsmd.runtime.plugin import GuestError, Instance, Limits, Metadata, Plugin, PluginFault

log = structlog.get_logger("hsmd.runtime")


class PluginRefused(Exception):
    """This file will not be served; the message says why in one line."""


@dataclass(frozen=True)
class Refusal:
    path: Path
    reason: str


# Settings that change compiled code: a cached artifact is valid only for these.
ENGINE_FINGERPRINT = "fuel=1;epoch=1;opt=speed;abi=1"


def make_engine() -> wasmtime.Engine:
    """The engine every plugin is compiled for (fuel and epoch deadlines), as ENGINE_FINGERPRINT names it."""
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.parallel_compilation = True
    return wasmtime.Engine(config)


def precompile(paths: Iterable[Path], cache_dir: Path) -> int:
    """Compile components into the cache `Runtime` loads from, so serving only loads; returns how many were compiled.

    Then prune the cache of what no start will load again (cache.CompileCache.prune).
    """
    compile_cache = cache.CompileCache(cache_dir, make_engine(), ENGINE_FINGERPRINT)
    compiled = 0
    known: dict[Path, str] = {}
    for path in paths:
        compile_cache.register_root(path.parent)
        known[path] = compile_cache.source_digest(path)
        _component, cached = compile_cache.load_file(path, known[path])
        compiled += not cached
    pruned = compile_cache.prune(known)
    if pruned.entries:
        log.info("compile cache pruned", directory=str(cache_dir), entries=pruned.entries, freed_mb=round(pruned.bytes / 1e6))
    return compiled


class Runtime:
    def __init__(
        self, host: Host, limits: Limits, cache_dir: Path, *, c_plugins: Mapping[str, Path] | None = None, fast_calls: bool = True
    ) -> None:
        abi.check_layout()
        self.host = host
        self.limits = limits
        # Commands whose C/C++ component (hsmd.toml [plugins] c) load_dir serves in place of the directory's.
        self.c_plugins = dict(c_plugins or {})
        self.engine = make_engine()
        self._cache = cache.CompileCache(cache_dir, self.engine, ENGINE_FINGERPRINT)
        # The native call step built into the cache (fastcall.py); None: every call takes abi.call.
        self.fast = fastcall.load(cache_dir) if fast_calls else None
        self._state = CallState()
        self._signatures = signature.Contract()
        self._keepalive: list[object] = []
        self.linker = Linker(self.engine)
        with self.linker.root() as root, root.add_instance(contract.HOST_INTERFACE) as iface:
            fronts = {} if self.fast is None else native_fronts(host, self.fast, self._keepalive)
            for name, func in bind(host, self._state, self.fast).items():
                abi.define_host_func(iface, name, func, self._record_host_failure, self._keepalive, fronts.get(name))
        self.clock = EpochClock(self.engine, limits.deadline_ms)
        self._closed = False

    # --- lifecycle ---

    def close(self) -> None:
        """Stop the epoch ticker. Idempotent; plugins are closed by their owner."""
        if self._closed:
            return
        self._closed = True
        self.clock.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record_host_failure(self, exc: BaseException) -> None:
        self._state.host_failure = exc

    def _guest_failure(self) -> str | None:
        failure = self._state.host_failure
        return failure.reason if isinstance(failure, GuestFailure) else None

    # --- loading ---

    def load(self, path: Path, *, expected_command: str | None = None, digest: str | None = None) -> Plugin:
        """Compile (or take from the cache), check the contract, and start one instance to read its metadata and run init.

        That instance is cleaned up and dropped: a loaded plugin holds no
        instance until its first request (`execute`) makes one, so an idle
        server's memory does not grow with the number of commands it serves.
        """
        expected = expected_command if expected_command is not None else path.stem
        try:
            digest = digest or self._cache.source_digest(path)
            self._cache.register_root(path.parent)  # so a build's pruning keeps this directory's entries
            component, _cached = self._cache.load_file(path, digest)
        except OSError as exc:
            raise PluginRefused(f"cannot read: {exc.strerror}") from exc
        except wasmtime.WasmtimeError as exc:
            raise PluginRefused(f"does not compile: {str(exc).splitlines()[0]}") from exc
        ctype = component.type
        imports = ctype.imports(self.engine)
        try:
            exports = ctype.exports(self.engine)
            version = contract.check(imports.keys(), exports.keys())
            frame = exports.get(contract.FRAME_EXPORT)
            if frame is not None:
                self._signatures.check_export(contract.FRAME_EXPORT, frame.ty)
            host = imports.get(f"{contract.PACKAGE}/host@{version}")
            if host is not None:
                self._signatures.check(signature.imported_functions(host, self.engine))
        except (contract.ContractError, signature.SignatureError) as exc:
            raise PluginRefused(str(exc)) from exc

        def factory() -> Instance:
            return Instance(self.engine, self.linker, component, self.limits, self.clock, fast=self.fast)

        try:
            meta = self._probe(component, path)
        except abi.TrapError as exc:
            failure, self._state.host_failure = self._state.host_failure, None
            why = f"fail: {failure.reason}" if isinstance(failure, GuestFailure) else f"{exc.kind}: {exc.reason}"
            raise PluginRefused(f"failed to start: {why}") from exc
        except (PluginFault, GuestError, wasmtime.WasmtimeError, ValueError) as exc:  # ValueError: an answer over a lifting limit
            raise PluginRefused(f"failed to start: {str(exc).splitlines()[0]}") from exc
        if meta.command != expected:
            raise PluginRefused(f"metadata says command {meta.command!r} but the file is named for {expected!r}")
        return Plugin(
            path=path,
            digest=digest,
            contract=version,
            meta=meta,
            factory=factory,
            recycle_after=self.limits.recycle_after,
            memory_limit=self.limits.memory_bytes,
            guest_failure=self._guest_failure,
        )

    def _probe(self, component: Component, path: Path) -> Metadata:
        """Start one instance, read its metadata and run init, outside any request (init sees no RequestScope).

        A plugin that cannot start is refused now, not at its first request. One that meets its
        deadline gets a second try: a stalled VM (over a second, seen on CI machines) must not
        refuse a healthy plugin until the next reload; a looping init fails both.
        """
        try:
            return self._start_once(component)
        except (abi.TrapError, wasmtime.WasmtimeError) as exc:  # WasmtimeError: a trap while instantiating
            # Nothing bound here outlives the block: the failed instance is freed before the second try.
            if (exc if isinstance(exc, abi.TrapError) else abi.TrapError(str(exc))).kind != "deadline":
                raise
            log.warning("plugin start met its deadline, trying once more", path=str(path))
        return self._start_once(component)

    def _start_once(self, component: Component) -> Metadata:
        probe = Instance(self.engine, self.linker, component, self.limits, self.clock, track_memory=False)
        meta = probe.metadata()
        probe.init()
        probe.cleanup()
        return meta

    def load_dir(self, directory: Path, *, reuse: Mapping[str, Plugin] | None = None) -> tuple[dict[str, Plugin], list[Refusal]]:
        """Load every component in `directory`; a plugin in `reuse` whose file is unchanged is kept as it is.

        A command in `c_plugins` is loaded from its C/C++ component instead, and only from it:
        when that file is missing or refused, the command is not served (never silently the other one).
        """
        unchanged = {(p.path, p.digest): p for p in (reuse or {}).values()}
        plugins: dict[str, Plugin] = {}
        refusals: list[Refusal] = []
        chosen = {path.stem: path for path in directory.glob("*.wasm")} | self.c_plugins
        for path in (chosen[command] for command in sorted(chosen)):
            try:
                digest: str | None = self._cache.source_digest(path)
            except OSError:
                digest = None  # load refuses it, saying why
            kept = unchanged.get((path, digest)) if digest else None
            if kept is not None:
                plugins[kept.command] = kept
                continue
            try:
                plugin = self.load(path, digest=digest)
            except PluginRefused as exc:
                refusals.append(Refusal(path, str(exc)))
                log.error("plugin refused", path=str(path), reason=str(exc))
                continue
            plugins[plugin.command] = plugin
            log.info("plugin loaded", command=plugin.command, version=plugin.meta.version, contract=plugin.contract, path=str(path))
        return plugins, refusals

    # --- calls ---

    def execute(self, plugin: Plugin, request: bytes, scope: RequestScope) -> bytes:
        """The bytes after the response code: error code (+ fields).

        An error answer raises GuestError (code + reason), a failed call PluginFault;
        a closed `scope` ValueError (its handles are gone, and the native step
        would give fixed answers to a request that has ended).
        """
        if scope.closed:
            raise ValueError(f"request {scope.request_id}: its scope is closed")
        self._state.host_failure = None
        try:
            # A first request, or the first after a recycle, makes the instance and runs its init
            # before the scope opens: init never sees a request's scope or its handles.
            plugin.instance()
            self._state.scope = scope
            return plugin.execute(request)
        except PluginFault as exc:
            failure, self._state.host_failure = self._state.host_failure, None
            if isinstance(failure, GuestFailure):  # the plugin's own `fail`: Plugin made it a "guest" (or "memory") fault
                raise exc
            if failure is not None:
                raise PluginFault("host", f"host function raised {type(failure).__name__}: {failure}") from failure
            raise exc
        finally:
            self._state.scope = None
            scope.close()  # handles die with the request
