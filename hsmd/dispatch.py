"""Command code -> plugin, and every failure -> a payShield error code, in one place.

| what happened                                  | answer                       |
|------------------------------------------------|------------------------------|
| the plugin answered                            | its error code (+ fields)    |
| no plugin for the command code                 | error 68 (command disabled)  |
| the call faulted (trap, fuel, deadline, memory,| error 41 (internal error);   |
| host function raised, malformed answer)        | the instance is replaced     |

A frame with a trailer that the plugin answers with an error is read once more
with the trailer as fields (a binary field may end in what looks like one; see
`Dispatcher._answer`). Every case logs one line with the reason; the server's request line adds the
code. Every case is counted in the host's `UnitStatus`: a plugin's answers by
command and error code with their latency (`record`), 68s apart (`refuse`),
faults by kind here in `faults`. The plugin table is swapped whole on reload, so a request sees either
the old set or the new one, never a mix.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Mapping

import structlog

from hsmd.host import RequestScope
from hsmd.host.status import UnitStatus
from hsmd.logging import current_request_id
from hsmd.protocol import Frame
from hsmd.runtime import GuestError, Plugin, PluginFault, Runtime

log = structlog.get_logger("hsmd.dispatch")

DISABLED = b"68"
INTERNAL_ERROR = b"41"


class Dispatcher:
    def __init__(self, runtime: Runtime, plugins: Mapping[str, Plugin], *, status: UnitStatus | None = None) -> None:
        self._runtime = runtime
        # Where requests are counted: the host's status, or (in a worker process) a recorder whose
        # counts go back to the main process with each answer (hsmd.worker).
        self._status = status if status is not None else runtime.host.status
        self._plugins = self._by_code(plugins)
        self._ids = itertools.count(1)
        self.faults: Counter[str] = Counter()  # fault kind -> count, for `plugins list` and tests

    @property
    def runtime(self) -> Runtime:
        return self._runtime

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
            self._status.refuse(frame.command)
            return frame.reply(DISABLED)
        # The server sets the request id; a direct caller (tests) gets one of the dispatcher's own.
        request_id = current_request_id() or f"d{next(self._ids)}"
        code = "41"  # also what the server answers if something unexpected escapes below
        started = time.perf_counter()
        try:
            frame, answer = self._answer(plugin, frame, request_id)
            if isinstance(answer, GuestError):
                code = answer.code
                log.info("command error", command=plugin.command, code=answer.code, reason=answer.reason)
                return frame.reply(answer.code.encode("ascii"))
            payload = answer
            code = payload[:2].decode("latin-1")
        except PluginFault as fault:
            self.faults[fault.kind] += 1
            # kind and reason say what happened (trap kind, the guest's message); a Python traceback
            # only where the host's own code failed, not wasmtime's wasm backtrace.
            log.error("plugin fault", command=plugin.command, kind=fault.kind, reason=fault.message, exc_info=fault.kind == "host")
            return frame.reply(INTERNAL_ERROR)
        finally:
            # What the status commands (J2, J4, J8) and /metrics report: every request a plugin
            # handled, its error code and its time.
            self._status.record(plugin.command, time.perf_counter() - started, code)
        return frame.reply_raw(payload)

    def _answer(self, plugin: Plugin, frame: Frame, request_id: str) -> tuple[Frame, bytes | GuestError]:
        """The plugin's answer (payload, or its error) and the frame it answers.

        A 0x19 inside a binary field (an ARQC, MAC data) followed by printable bytes only reads
        as a trailer (hsmd.protocol's rule); a real unit reads by the command's layout, which
        only the plugin knows. So a frame with a trailer that is answered with an error is tried
        again with the trailer as fields, and that answer stands unless it is 15 or the same
        code (then the trailer was one), or a fault. Nothing is done twice that succeeded the first time.
        """
        first = self._execute(plugin, frame.body, request_id)
        if frame.trailer is None or not isinstance(first, GuestError):
            return frame, first
        whole = frame.untrailed()
        try:
            again = self._execute(plugin, whole.body, request_id)
        except PluginFault as fault:  # the second reading was a guess: its fault does not undo the first answer
            log.warning("second reading faulted", command=plugin.command, kind=fault.kind, reason=fault.message)
            return frame, first
        if isinstance(again, GuestError) and again.code in (first.code, "15"):
            return frame, first
        return whole, again

    def _execute(self, plugin: Plugin, body: bytes, request_id: str) -> bytes | GuestError:
        try:
            return self._runtime.execute(plugin, body, RequestScope(request_id))
        except GuestError as error:
            return error
