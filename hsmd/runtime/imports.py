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
from typing import Any, TypeVar

from hsmd.host import Host, HostError, RequestScope
from hsmd.host.services import KeyInfo
from hsmd.runtime import abi

MAX_LOG_FIELDS = 64
MAX_KEY_PARTS = 9
MAX_STRING = 4096
T = TypeVar("T")


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


def _answer(results: Any, produce: Callable[[], T], lower: Callable[[abi.Val, T], None]) -> None:
    """result<T, hsm-error>: the host's refusal becomes the err case the plugin sees."""
    try:
        value = produce()
    except HostError as exc:
        abi.lower_err_record(results[0], [(b"code", exc.code.encode()), (b"reason", exc.reason.encode())])
        return
    abi.lower_ok(results[0], lambda val: lower(val, value))


def _string(val: abi.Val, text: str) -> None:
    abi.lower_string(val, text.encode())


def _key_info(val: abi.Val, info: KeyInfo) -> None:
    abi.lower_record(
        val,
        [
            (b"key-type", lambda v: abi.lower_string(v, info.key_type.encode())),
            (b"length", lambda v: abi.lower_u32(v, info.length)),
            (b"odd-parity", lambda v: abi.lower_bool(v, info.odd_parity)),
        ],
    )


def _text(val: abi.Val) -> str:
    return abi.lift_string(val, MAX_STRING).decode(errors="replace")


def bind(host: Host, state: CallState) -> dict[str, abi.HostFunc]:
    """name -> raw host function, for every function of `hsmd:plugin/host`."""

    def log(args: Any, results: Any) -> None:
        level = abi.lift_enum(args[0]).decode()
        event = _text(args[1])
        pairs = abi.lift_string_pairs(args[2], MAX_LOG_FIELDS)
        fields = [(k.decode(errors="replace"), v.decode(errors="replace")) for k, v in pairs]
        # log returns nothing to the guest: a line with a bad level is dropped, not fatal.
        with contextlib.suppress(HostError):
            host.log(state.require(), level, event, fields)

    def random_hex(args: Any, results: Any) -> None:
        n = abi.lift_u32(args[0])
        scope = state.require()
        _answer(results, lambda: host.random_hex(scope, n), _string)

    def lmk_check_value(args: Any, results: Any) -> None:
        lmk_id = abi.lift_option_u32(args[0])
        scope = state.require()
        _answer(results, lambda: host.lmk_check_value(scope, lmk_id), _string)

    def firmware_number(args: Any, results: Any) -> None:
        abi.lower_string(results[0], host.firmware_number(state.require()).encode())

    def key_from_lmk(args: Any, results: Any) -> None:
        key_type, key, lmk_id = _text(args[0]), _text(args[1]), abi.lift_option_u32(args[2])
        scope = state.require()
        _answer(results, lambda: host.key_from_lmk(scope, key_type, key, lmk_id), abi.lower_u32)

    def key_to_lmk(args: Any, results: Any) -> None:
        handle, scheme, lmk_id = abi.lift_u32(args[0]), _text(args[1]), abi.lift_option_u32(args[2])
        scope = state.require()
        _answer(results, lambda: host.key_to_lmk(scope, handle, scheme, lmk_id), _string)

    def key_from_kek(args: Any, results: Any) -> None:
        kek, key_type, key = abi.lift_u32(args[0]), _text(args[1]), _text(args[2])
        scope = state.require()
        _answer(results, lambda: host.key_from_kek(scope, kek, key_type, key), abi.lower_u32)

    def key_to_kek(args: Any, results: Any) -> None:
        kek, handle, scheme = abi.lift_u32(args[0]), abi.lift_u32(args[1]), _text(args[2])
        scope = state.require()
        _answer(results, lambda: host.key_to_kek(scope, kek, handle, scheme), _string)

    def key_generate(args: Any, results: Any) -> None:
        key_type, scheme = _text(args[0]), _text(args[1])
        scope = state.require()
        _answer(results, lambda: host.key_generate(scope, key_type, scheme), abi.lower_u32)

    def key_combine(args: Any, results: Any) -> None:
        key_type, parts = _text(args[0]), abi.lift_u32_list(args[1], MAX_KEY_PARTS)
        scope = state.require()
        _answer(results, lambda: host.key_combine(scope, key_type, parts), abi.lower_u32)

    def key_check_value(args: Any, results: Any) -> None:
        handle = abi.lift_u32(args[0])
        scope = state.require()
        _answer(results, lambda: host.key_check_value(scope, handle), _string)

    def key_info(args: Any, results: Any) -> None:
        handle = abi.lift_u32(args[0])
        scope = state.require()
        _answer(results, lambda: host.key_info(scope, handle), _key_info)

    def key_type_code(args: Any, results: Any) -> None:
        role = _text(args[0])
        scope = state.require()
        _answer(results, lambda: host.key_type_code(scope, role), _string)

    return {
        "log": log,
        "random-hex": random_hex,
        "lmk-check-value": lmk_check_value,
        "firmware-number": firmware_number,
        "key-from-lmk": key_from_lmk,
        "key-to-lmk": key_to_lmk,
        "key-from-kek": key_from_kek,
        "key-to-kek": key_to_kek,
        "key-generate": key_generate,
        "key-combine": key_combine,
        "key-check-value": key_check_value,
        "key-describe": key_info,
        "key-type-code": key_type_code,
    }
