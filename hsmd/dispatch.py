"""Command code -> plugin, and every failure -> a payShield error code, in one place.

| what happened                                  | answer                       |
|------------------------------------------------|------------------------------|
| the plugin answered                            | its error code (+ fields)    |
| no plugin for the command code                 | error 68 (command disabled)  |
| the call faulted (trap, fuel, deadline, memory,| error 41 (internal error);   |
| host function raised, malformed answer)        | the instance is replaced     |

Every case logs one line with the reason; the server's request line adds the
code. The plugin table is swapped whole on reload, so a request sees either
the old set or the new one, never a mix.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Mapping

import structlog

from hsmd.host import RequestScope
from hsmd.logging import current_request_id
from hsmd.protocol import Frame
from hsmd.runtime import GuestError, Plugin, PluginFault, Runtime

log = structlog.get_logger("hsmd.dispatch")

DISABLED = b"68"
INTERNAL_ERROR = b"41"


class Dispatcher:
    def __init__(self, runtime: Runtime, plugins: Mapping[str, Plugin]) -> None:
        self._runtime = runtime
        self._status = runtime.host.status
        self._plugins = self._by_code(plugins)
        self._ids = itertools.count(1)
        self.faults: Counter[str] = Counter()  # fault kind -> count, for `plugins list` and tests

    @staticmethod
    def _by_code(plugins: Mapping[str, Plugin]) -> dict[bytes, Plugin]:
        return {command.encode("ascii"): plugin for command, plugin in plugins.items()}

    @property
    def plugins(self) -> dict[str, Plugin]:
        return {plugin.command: plugin for plugin in self._plugins.values()}

    def swap(self, plugins: Mapping[str, Plugin]) -> dict[str, Plugin]:
        """Serve `plugins` from the next request on; returns the previous set for the caller to close."""
        old = self.plugins
        self._plugins = self._by_code(plugins)
        return old

    async def handle(self, frame: Frame) -> bytes:
        return self.handle_sync(frame)

    def handle_sync(self, frame: Frame) -> bytes:
        plugin = self._plugins.get(frame.command)
        if plugin is None:
            log.warning("command refused", reason="no plugin loaded for this command code", command=frame.command.decode("latin-1"))
            return frame.reply(DISABLED)
        # The server sets the request id; a direct caller (tests) gets one of the dispatcher's own.
        request_id = current_request_id() or f"d{next(self._ids)}"
        started = time.perf_counter()
        try:
            payload = self._runtime.execute(plugin, frame.body, RequestScope(request_id))
        except GuestError as error:
            log.info("command error", command=plugin.command, code=error.code, reason=error.reason)
            return frame.reply(error.code.encode("ascii"))
        except PluginFault as fault:
            self.faults[fault.kind] += 1
            log.error("plugin fault", command=plugin.command, kind=fault.kind, reason=fault.message, exc_info=fault.__cause__ is not None)
            return frame.reply(INTERNAL_ERROR)
        finally:
            # What the status commands (J2, J4, J8) report: every request a plugin handled, and its time.
            self._status.record(plugin.command, time.perf_counter() - started)
        return frame.reply_raw(payload)
