"""The contract's host interface, bound to a `Host`: one lifting/lowering function per import.

Each function reads the raw argument values, calls the host with the scope of
the request being executed, and writes the raw result. A `HostError` becomes
the WIT `hsm-error` the plugin sees; any other exception propagates to the
trampoline in abi.py, which traps the guest and hands the exception back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from hsmd.host import Host, HostError, RequestScope
from hsmd.runtime import abi

MAX_LOG_FIELDS = 64
MAX_STRING = 4096


class NoActiveRequest(RuntimeError):
    """A host function was called outside execute (e.g. from init): there is no request to scope it to."""


class CallState(threading.local):
    """The request being executed on this thread, if any; set by the runtime around each execute.

    Thread-local because a reload instantiates plugins on a worker thread while
    requests run on the event loop's thread: each must see only its own call.
    """

    def __init__(self) -> None:
        self.scope: RequestScope | None = None
        self.host_failure: BaseException | None = None

    def require(self) -> RequestScope:
        if self.scope is None or self.scope.closed:
            raise NoActiveRequest("host function called with no request in progress")
        return self.scope


def _lower_string_result(results: Any, produce: Callable[[], str]) -> None:
    try:
        value = produce()
    except HostError as exc:
        abi.lower_err_record(results[0], [(b"code", exc.code.encode()), (b"reason", exc.reason.encode())])
        return
    abi.lower_ok_string(results[0], value.encode())


def bind(host: Host, state: CallState) -> dict[str, abi.HostFunc]:
    """name -> raw host function, for every function of `hsmd:plugin/host`."""

    def log(args: Any, results: Any) -> None:
        level = abi.lift_enum(args[0]).decode()
        event = abi.lift_string(args[1], MAX_STRING).decode(errors="replace")
        pairs = abi.lift_string_pairs(args[2], MAX_LOG_FIELDS)
        fields = [(k.decode(errors="replace"), v.decode(errors="replace")) for k, v in pairs]
        # log returns nothing to the guest: a line with a bad level is dropped, not fatal.
        with contextlib.suppress(HostError):
            host.log(state.require(), level, event, fields)

    def random_hex(args: Any, results: Any) -> None:
        n = abi.lift_u32(args[0])
        scope = state.require()
        _lower_string_result(results, lambda: host.random_hex(scope, n))

    def lmk_check_value(args: Any, results: Any) -> None:
        lmk_id = abi.lift_option_u32(args[0])
        scope = state.require()
        _lower_string_result(results, lambda: host.lmk_check_value(scope, lmk_id))

    def firmware_number(args: Any, results: Any) -> None:
        abi.lower_string(results[0], host.firmware_number(state.require()).encode())

    return {
        "log": log,
        "random-hex": random_hex,
        "lmk-check-value": lmk_check_value,
        "firmware-number": firmware_number,
    }
