"""The running unit: configuration in, a serving hsmd out, until SIGTERM.

The plugins run in `[server] workers` worker processes (hsmd.workers), or with 0
in this process. Start-up order matters to systemd: READY=1 is sent only once
every plugin is loaded (by every worker) and every host port (TCP, and TLS and
UDP when enabled) listens. SIGHUP reloads the plugin directory (unchanged files
keep their live instances; the workers one after another) and swaps the set
between two requests; the ports stay as they are. SIGTERM/SIGINT cut a reload
short, stop accepting on every port, answer everything already received, stop
the workers, and exit 0.

The HTTP ops listener ([http], hsmd.ops) is bound with the host ports and serves
before them: its /readyz turns 200 with READY=1 and 503 again at the first stop
signal, and it stops last, once the host ports have drained.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio

from hsmd import systemd
from hsmd.config import Config
from hsmd.dispatch import Dispatcher
from hsmd.hardening import forbid_core_dumps
from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.lmk_file import lmk_kind
from hsmd.host.status import UnitStatus
from hsmd.ops import Ops
from hsmd.ops.http import bind_http, http_listener
from hsmd.ops.token import TokenFileError, read_token
from hsmd.ports import HostPort, PortError, open_host_ports
from hsmd.runtime import CONTRACT_VERSION, Plugin, Runtime
from hsmd.server import Limits as ServerLimits
from hsmd.tls import TlsSetupError, server_context

# Built in any process that runs plugins (a worker too): hsmd.unit. Named here as before.
from hsmd.unit import StartupError as StartupError
from hsmd.unit import build_host as build_host
from hsmd.unit import load_lmks as load_lmks
from hsmd.unit import runtime_limits as runtime_limits
from hsmd.workers import ReloadFailed, WorkerPool, open_worker_pool

log = structlog.get_logger("hsmd")


@dataclass(frozen=True)
class PluginInfo:
    command: str
    version: str
    contract: str
    status: str
    path: str


def server_limits(config: Config) -> ServerLimits:
    s = config.server
    return ServerLimits(
        max_connections=s.max_connections,
        idle_timeout=s.idle_timeout,
        frame_timeout=s.frame_timeout,
        max_in_flight=s.max_in_flight,
        handshake_timeout=config.tls.handshake_timeout,
    )


def http_token(config: Config) -> bytes | None:
    """POST /run's bearer token, read before anything starts; None when /run is off."""
    if not config.http.enabled or config.http.token_file is None:
        return None
    try:
        return read_token(config.http.token_file)
    except TokenFileError as exc:
        raise StartupError(f"http.token_file: {exc}") from None


def _close_all(plugins: dict[str, Plugin]) -> None:
    for plugin in plugins.values():
        plugin.close()


@asynccontextmanager
async def _plugins(config: Config, host: Host) -> AsyncIterator[Dispatcher | WorkerPool]:
    """What runs the plugins: `[server] workers` processes (hsmd.workers), or with 0 this
    process's own runtime; ready once every plugin is loaded, closed on leaving."""
    if config.server.workers:
        async with open_worker_pool(config, host.status) as pool:
            if not pool.plugins:
                log.warning("no plugins loaded: every command will answer 68", dir=str(config.plugins.dir))
            yield pool
        return
    with Runtime(host, runtime_limits(config), config.plugins.cache_dir, c_plugins=config.plugins.c_files()) as runtime:
        plugins, refusals = await trio.to_thread.run_sync(runtime.load_dir, config.plugins.dir)
        if not plugins:
            log.warning("no plugins loaded: every command will answer 68", dir=str(config.plugins.dir), refused=len(refusals))
        dispatcher = Dispatcher(runtime, plugins)
        try:
            yield dispatcher
        finally:
            _close_all(dispatcher.plugins)


async def _reload_in_process(dispatcher: Dispatcher, directory: Path) -> tuple[list[str], int]:
    current = dispatcher.plugins
    # Compiling a changed plugin takes seconds: off the event loop, which keeps serving meanwhile.
    # A stop signal abandons the thread (its result is dropped) rather than wait for it.
    fresh, refusals = await trio.to_thread.run_sync(lambda: dispatcher.runtime.load_dir(directory, reuse=current), abandon_on_cancel=True)
    old = dispatcher.swap(fresh)
    _close_all({cmd: p for cmd, p in old.items() if fresh.get(cmd) is not p})
    return sorted(fresh), len(refusals)


async def _reload(dispatcher: Dispatcher | WorkerPool, directory: Path, status: UnitStatus) -> None:
    """Load the plugin directory again and swap it in (in every worker, one after another); on
    any failure keep serving the current set. A stop signal cuts it short (Cancelled): then
    systemd is not told READY again."""
    systemd.reloading()
    try:
        if not directory.is_dir():
            log.error("reload refused: plugin directory is missing; still serving the previous plugins", dir=str(directory))
            status.reloads["failed"] += 1
        else:
            if isinstance(dispatcher, WorkerPool):
                loaded, refused = await dispatcher.reload()
            else:
                loaded, refused = await _reload_in_process(dispatcher, directory)
            log.info("plugins reloaded", loaded=loaded, refused=refused)
            status.reloads["ok"] += 1
            if not loaded:
                log.warning("no plugins loaded: every command will answer 68", dir=str(directory))
    except ReloadFailed as exc:
        log.error("reload failed; still serving the previous plugins", reason=str(exc))
        status.reloads["failed"] += 1
    except Exception:
        log.exception("reload failed; still serving the previous plugins")
        status.reloads["failed"] += 1
    systemd.ready(f"serving {len(dispatcher.plugins)} plugins")


async def _serve_until_drained(ports: Sequence[HostPort], done: trio.CancelScope, *, task_status: trio.TaskStatus[None]) -> None:
    async with trio.open_nursery() as nursery:
        for port in ports:
            await nursery.start(port.serve)
        task_status.started()
    done.cancel()  # every port answered what it received: stop waiting for signals


async def run(config: Config, *, task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED) -> int:
    token = http_token(config)
    host = build_host(config)
    for lmk_id, lmk in host.lmks.items():
        log.info(
            "LMK loaded", lmk_id=f"{lmk_id:02d}", kind=lmk_kind(lmk), check_value=lmk.check_value, default=lmk_id == config.lmk.default
        )
    if host.lmks.any_test:
        tests = [f"{lmk_id:02d} ({lmk_kind(lmk)})" for lmk_id, lmk in host.lmks.items() if lmk.is_test]
        log.warning(
            "TEST LMK LOADED: this unit's keys are public; never use it with live keys or cards", source="public test LMK", lmks=tests
        )
    if config.hsm.pin_under_lmk == "simulator":
        log.warning("PINs under the LMK are NOT encrypted (hsm.pin_under_lmk = simulator): for replaying simulator vectors only")
    if config.hsm.authorised:
        log.warning("authorised state: commands may carry clear PINs (hsm.authorised = true)")
    try:
        tls = server_context(config.tls) if config.tls.enabled else None
    except TlsSetupError as exc:
        raise StartupError(str(exc)) from None
    async with _plugins(config, host) as dispatcher:
        concurrent = isinstance(dispatcher, WorkerPool)
        try:
            # Bound here, outside any nursery, so a busy port is one StartupError line.
            ports = await open_host_ports(config, dispatcher, server_limits(config), tls, concurrent=concurrent)
            try:
                http = await bind_http(config.http)
            except BaseException:
                for port in ports:
                    port.close()
                raise
        except PortError as exc:
            raise StartupError(str(exc)) from None
        host.status.ports[:] = [port.status for port in ports]
        ops = Ops(dispatcher, host.status, config.server.header_len)
        # Outside the nursery: the ops listener drains last, once the host ports have.
        async with http_listener(http, config.http, ops, token), trio.open_nursery() as nursery:
            await nursery.start(_serve_until_drained, ports, nursery.cancel_scope)
            for port in ports:
                extra = {"mutual_tls": config.tls.client_ca is not None} if port.status.kind == "tls" else {}
                log.info("listening", kind=port.status.kind, addresses=[f"{h}:{p}" for h, p in port.addresses], **extra)
            log.info("serving", plugins=sorted(dispatcher.plugins), contract=CONTRACT_VERSION, workers=config.server.workers)
            # Handlers first: systemd may send SIGHUP/SIGTERM as soon as it reads READY=1, and
            # with no receiver open yet their default action would kill the process.
            await nursery.start(_signals, ports, ops, config.plugins.dir, nursery.cancel_scope)
            ops.ready = True
            systemd.ready(f"serving {len(dispatcher.plugins)} plugins")
            task_status.started(ports[0].addresses)
    log.info("hsmd exited", code=0)
    return 0


async def _signals(
    ports: Sequence[HostPort],
    ops: Ops,
    directory: Path,
    everything: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """SIGHUP reloads (one reload at a time, in a task of its own); SIGTERM/SIGINT cut a reload
    short, drain and stop; a second one stops without waiting."""
    stopping = False
    reloading = trio.Lock()
    reloads: set[trio.CancelScope] = set()

    async def reload() -> None:
        with trio.CancelScope() as scope:
            reloads.add(scope)
            try:
                async with reloading:
                    await _reload(ops.dispatcher, directory, ops.status)
            finally:
                reloads.discard(scope)

    # The receiver stays open through the drain, so a late signal is handled, not fatal.
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with trio.open_nursery() as reloaders:
            task_status.started()
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGHUP:
                    if stopping:
                        log.info("reload ignored: stopping", signal=name)
                    else:
                        reloaders.start_soon(reload)
                    continue
                if stopping:
                    in_flight = sum(port.in_flight for port in ports)
                    log.warning("second stop signal: closing without waiting for in-flight requests", signal=name, in_flight=in_flight)
                    everything.cancel()
                    return
                stopping = True
                for scope in reloads:
                    scope.cancel()  # the plugins in service stay; a worker reloading is replaced
                if reloads:
                    log.info("reload cut short: stopping", signal=name)
                log.info("stopping", signal=name, in_flight=sum(port.in_flight for port in ports))
                ops.ready = False  # /readyz answers 503 while the ports drain
                systemd.stopping()
                for port in ports:
                    port.shutdown()  # each port's serve() returns once what it received is answered


def serve(config: Config) -> int:
    """Entry point of `hsmd serve`."""
    if not forbid_core_dumps():
        log.warning("could not make the process non-dumpable: a core dump would hold the LMKs")
    try:
        return trio.run(run, config)
    except StartupError as exc:
        log.error("cannot start", reason=str(exc))
        return 1
    except OSError as exc:
        log.error("cannot listen", host=config.server.host, port=config.server.port, reason=exc.strerror or str(exc))
        return 1


def list_plugins(config: Config) -> list[PluginInfo]:
    """Entry point of `hsmd plugins list`: load every plugin as serve would, report each."""
    # Loading runs only metadata and init, which use no key: no need to read the LMK files.
    host = Host(LmkSet({0: TEST_LMK}), config.hsm.firmware_number)
    if config.hsm.pin_under_lmk == "simulator":
        log.warning("PINs under the LMK are NOT encrypted (hsm.pin_under_lmk = simulator): for replaying simulator vectors only")
    if config.hsm.authorised:
        log.warning("authorised state: commands may carry clear PINs (hsm.authorised = true)")
    with Runtime(host, runtime_limits(config), config.plugins.cache_dir, c_plugins=config.plugins.c_files()) as runtime:
        plugins, refusals = runtime.load_dir(config.plugins.dir)
        infos = [PluginInfo(p.command, p.meta.version, p.contract, "ok", str(p.path)) for p in plugins.values()]
        infos += [PluginInfo(r.path.stem, "-", "-", f"refused: {r.reason}", str(r.path)) for r in refusals]
        _close_all(plugins)
    return sorted(infos, key=lambda info: info.command)
