"""The running unit: configuration in, a serving hsmd out, until SIGTERM.

Start-up order matters to systemd: READY=1 is sent only once every plugin is
loaded and the socket listens. SIGHUP reloads the plugin directory (unchanged
files keep their live instances) and swaps the set between two requests;
SIGTERM/SIGINT stop accepting, answer everything already received, and exit 0.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio

from hsmd import systemd
from hsmd.config import Config
from hsmd.dispatch import Dispatcher
from hsmd.hardening import forbid_core_dumps
from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.lmk_file import LmkFileError, load_lmk_file
from hsmd.host.services import PinSettings
from hsmd.host.status import UnitStatus
from hsmd.runtime import CONTRACT_VERSION, Limits, Plugin, Runtime
from hsmd.server import Limits as ServerLimits
from hsmd.server import Server

log = structlog.get_logger("hsmd")


class StartupError(Exception):
    """The unit cannot start; the message is one line for the operator."""


@dataclass(frozen=True)
class PluginInfo:
    command: str
    version: str
    contract: str
    status: str
    path: str


def load_lmks(config: Config) -> LmkSet:
    """The LMKs of config.lmk.files (ids 00, 01, ...), or the public test LMK when none are named."""
    if not config.lmk.files:
        lmks = {0: TEST_LMK}
    else:
        lmks = {}
        for lmk_id, path in enumerate(config.lmk.files):
            try:
                lmks[lmk_id] = load_lmk_file(path)
            except LmkFileError as exc:
                raise StartupError(f"lmk.files: {exc}") from exc
    if config.lmk.default not in lmks:
        raise StartupError(f"lmk.default: LMK {config.lmk.default:02d} is not loaded ({len(lmks)} LMK(s): 00-{len(lmks) - 1:02d})")
    return LmkSet(lmks, default=config.lmk.default)


def build_host(config: Config) -> Host:
    h = config.hsm
    pin_settings = PinSettings(h.authorised, h.pin_under_lmk, h.decimalisation_tables)
    status = UnitStatus(h.serial_number, config.server.max_connections)
    return Host(load_lmks(config), h.firmware_number, KeyTypeTable(h.key_type_table), pin_settings, status)


def runtime_limits(config: Config) -> Limits:
    p = config.plugins
    return Limits(fuel=p.fuel, deadline_ms=p.deadline_ms, memory_bytes=p.memory_mb * 1024 * 1024, recycle_after=p.recycle_after)


def server_limits(config: Config) -> ServerLimits:
    s = config.server
    return ServerLimits(
        max_connections=s.max_connections, idle_timeout=s.idle_timeout, frame_timeout=s.frame_timeout, max_in_flight=s.max_in_flight
    )


def _close_all(plugins: dict[str, Plugin]) -> None:
    for plugin in plugins.values():
        plugin.close()


async def _reload(runtime: Runtime, dispatcher: Dispatcher, directory: Path) -> None:
    """Load the plugin directory again and swap it in; on any failure keep serving the current set."""
    systemd.reloading()
    current = dispatcher.plugins
    try:
        if not directory.is_dir():
            log.error("reload refused: plugin directory is missing; still serving the previous plugins", dir=str(directory))
            return
        # Compiling a changed plugin takes seconds: off the event loop, which keeps serving meanwhile.
        fresh, refusals = await trio.to_thread.run_sync(lambda: runtime.load_dir(directory, reuse=current))
        old = dispatcher.swap(fresh)
        _close_all({cmd: p for cmd, p in old.items() if fresh.get(cmd) is not p})
        log.info("plugins reloaded", loaded=sorted(fresh), refused=len(refusals))
        if not fresh:
            log.warning("no plugins loaded: every command will answer 68", dir=str(directory))
    except Exception:
        log.exception("reload failed; still serving the previous plugins")
    finally:
        systemd.ready(f"serving {len(dispatcher.plugins)} plugins")


async def _serve_until_drained(
    server: Server, host: str, port: int, done: trio.CancelScope, *, task_status: trio.TaskStatus[list[tuple[str, int]]]
) -> None:
    await server.serve(host, port, task_status=task_status)
    done.cancel()  # every received frame is answered: stop waiting for signals


async def run(config: Config, *, task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED) -> int:
    host = build_host(config)
    for lmk_id, check_value in host.lmks.check_values().items():
        log.info("LMK loaded", lmk_id=f"{lmk_id:02d}", check_value=check_value, default=lmk_id == config.lmk.default)
    if host.lmks.any_test:
        log.warning("TEST LMK LOADED: this unit's keys are public; never use it with live keys or cards", source="built-in public test LMK")
    if config.hsm.pin_under_lmk == "simulator":
        log.warning("PINs under the LMK are NOT encrypted (hsm.pin_under_lmk = simulator): for replaying simulator vectors only")
    if config.hsm.authorised:
        log.warning("authorised state: commands may carry clear PINs (hsm.authorised = true)")
    with Runtime(host, runtime_limits(config), config.plugins.cache_dir) as runtime:
        plugins, refusals = await trio.to_thread.run_sync(runtime.load_dir, config.plugins.dir)
        if not plugins:
            log.warning("no plugins loaded: every command will answer 68", dir=str(config.plugins.dir), refused=len(refusals))
        dispatcher = Dispatcher(runtime, plugins)
        server = Server(dispatcher, header_len=config.server.header_len, limits=server_limits(config))
        try:
            async with trio.open_nursery() as nursery:
                bound = await nursery.start(_serve_until_drained, server, config.server.host, config.server.port, nursery.cancel_scope)
                log.info("listening", addresses=[f"{h}:{p}" for h, p in bound], plugins=sorted(plugins), contract=CONTRACT_VERSION)
                # Handlers first: systemd may send SIGHUP/SIGTERM as soon as it reads READY=1, and
                # with no receiver open yet their default action would kill the process.
                await nursery.start(_signals, server, runtime, dispatcher, config.plugins.dir, nursery.cancel_scope)
                systemd.ready(f"serving {len(plugins)} plugins")
                task_status.started(bound)
        finally:
            _close_all(dispatcher.plugins)
    log.info("hsmd exited", code=0)
    return 0


async def _signals(
    server: Server,
    runtime: Runtime,
    dispatcher: Dispatcher,
    directory: Path,
    everything: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """SIGHUP reloads; SIGTERM/SIGINT drain and stop; a second one stops without waiting."""
    stopping = False
    # The receiver stays open through the drain, so a late signal is handled, not fatal.
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        task_status.started()
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                if stopping:
                    log.info("reload ignored: stopping", signal=name)
                else:
                    await _reload(runtime, dispatcher, directory)
                continue
            if stopping:
                log.warning("second stop signal: closing without waiting for in-flight requests", signal=name, in_flight=server.in_flight)
                everything.cancel()
                return
            stopping = True
            log.info("stopping", signal=name, in_flight=server.in_flight)
            systemd.stopping()
            server.shutdown()  # serve() returns once every received frame is answered


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
    with Runtime(host, runtime_limits(config), config.plugins.cache_dir) as runtime:
        plugins, refusals = runtime.load_dir(config.plugins.dir)
        infos = [PluginInfo(p.command, p.meta.version, p.contract, "ok", str(p.path)) for p in plugins.values()]
        infos += [PluginInfo(r.path.stem, "-", "-", f"refused: {r.reason}", str(r.path)) for r in refusals]
        _close_all(plugins)
    return sorted(infos, key=lambda info: info.command)
