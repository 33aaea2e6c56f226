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
from hsmd.runtime import abi, fastcall, wit

MAX_LOG_FIELDS = 64
MAX_KEY_PARTS = 9
MAX_STRING = 4096
MAX_DATA = 65536  # bytes: a frame's whole payload, the most any command can pass on


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


# Writes the ok value of a host function's answer into its raw result slot.
OkWriter = Callable[[Any, Any], None]


def _writer(lower: Callable[[abi.Val, Any], None], *, boxed: bool) -> OkWriter:
    """abi.py's lowering of a result: `result<T, hsm-error>` (boxed) or a plain T."""
    if boxed:
        return lambda results, value: abi.lower_ok(results[0], lambda val: lower(val, value))
    return lambda results, value: lower(results[0], value)


def _native_writer(kind: str, fast: fastcall.Library, *, boxed: bool) -> OkWriter | None:
    """The same lowering done by the fast call library, for the result types most imports return."""
    if kind in ("string", "hex-data"):
        write = fast.lower_ok_string if boxed else fast.lower_string
        return lambda results, value: write(results, value.encode())
    if kind in ("u32", "key-handle", "pin-handle") and boxed:
        return fast.lower_ok_u32
    return None


def _string(val: abi.Val, text: str) -> None:
    abi.lower_string(val, text.encode())


def _text(val: abi.Val) -> str:
    return abi.lift_string(val, MAX_STRING).decode(errors="replace")


# How each WIT type the contract uses crosses the boundary.
_LIFT: dict[str, Callable[[abi.Val], Any]] = {
    "string": _text,
    "u32": abi.lift_u32,
    "key-handle": abi.lift_u32,
    "pin-handle": abi.lift_u32,
    "option<u32>": abi.lift_option_u32,
    "list<key-handle>": lambda val: abi.lift_u32_list(val, MAX_KEY_PARTS),
    "hex-data": lambda val: abi.lift_string(val, 2 * MAX_DATA).decode("ascii", errors="replace"),
    "bool": abi.lift_bool,
}
_LOWER: dict[str, Callable[[abi.Val, Any], None]] = {
    "string": _string,
    "hex-data": _string,
    "u32": abi.lower_u32,
    "u64": abi.lower_u64,
    "key-handle": abi.lower_u32,
    "pin-handle": abi.lower_u32,
    "bool": abi.lower_bool,
}


def _bound_value(lower: Callable[[abi.Val, Any], None], value: Any) -> Callable[[abi.Val], None]:
    return lambda val: lower(val, value)


def _lowering(kind: str, records: dict[str, tuple[tuple[str, str], ...]]) -> Callable[[abi.Val, Any], None]:
    """How a result of WIT type `kind` is written: a scalar, a list of them, or a record read off
    the host's value by attribute (the field name in snake case: key-type -> key_type)."""
    if kind in _LOWER:
        return _LOWER[kind]
    if kind.startswith("list<") and kind.endswith(">"):
        item = _lowering(kind[5:-1], records)
        return lambda val, values: abi.lower_list(val, [_bound_value(item, v) for v in values])
    if kind in records:
        fields = [(name.encode(), name.replace("-", "_"), _lowering(field_kind, records)) for name, field_kind in records[kind]]

        def record(val: abi.Val, value: Any) -> None:
            abi.lower_record(val, [(encoded, _bound_value(lower, getattr(value, attr))) for encoded, attr, lower in fields])

        return record
    raise KeyError(kind)


def bound_function(
    host: Host,
    func: wit.WitFunc,
    state: CallState,
    records: dict[str, tuple[tuple[str, str], ...]] | None = None,
    fast: fastcall.Library | None = None,
) -> abi.HostFunc:
    """The raw host function for `func`: lift its parameters, call the host in the request's scope, lower the answer.

    The host's method is looked up at each call, not bound once, so a host
    method replaced later (tests, instrumentation) is the one that runs; but
    where the native step gives a fixed answer (native_fronts), it reaches
    this method only for what its table does not hold.
    """
    name = func.python_name
    ok = func.ok_type
    kind = ok if ok is not None else func.result or ""
    try:
        lifts = tuple(_LIFT[param] for _, param in func.params)
        lower = _lowering(kind, wit.records() if records is None else records)
    except KeyError as exc:
        raise TypeError(f"host function {func.name}: WIT type {exc} has no binding") from None
    native = None if fast is None else _native_writer(kind, fast, boxed=ok is not None)
    write = native or _writer(lower, boxed=ok is not None)

    if ok is None:

        def plain(args: Any, results: Any) -> None:
            values = [lift(args[i]) for i, lift in enumerate(lifts)]
            write(results, getattr(host, name)(state.require(), *values))

        return plain

    def answering(args: Any, results: Any) -> None:
        values = [lift(args[i]) for i, lift in enumerate(lifts)]
        scope = state.require()
        try:
            value = getattr(host, name)(scope, *values)
        except HostError as exc:  # the host's refusal becomes the err case the plugin sees
            abi.lower_err_record(results[0], [(b"code", exc.code.encode()), (b"reason", exc.reason.encode())])
            return
        write(results, value)

    return answering


def bind(host: Host, state: CallState, fast: fastcall.Library | None = None) -> dict[str, abi.HostFunc]:
    """name -> raw host function, for every function of `hsmd:plugin/host`, as the WIT declares it.

    With the fast call library, the common results are written by it (the same values, fewer ctypes calls).
    """

    def log(args: Any, results: Any) -> None:
        level = abi.lift_enum(args[0]).decode()
        event = _text(args[1])
        pairs = abi.lift_string_pairs(args[2], MAX_LOG_FIELDS)
        fields = [(k.decode(errors="replace"), v.decode(errors="replace")) for k, v in pairs]
        # log returns nothing to the guest: a line with a bad level is dropped, not fatal.
        with contextlib.suppress(HostError):
            host.log(state.require(), level, event, fields)

    def fail(args: Any, results: Any) -> None:
        # No scope needed: init may fail too. The GuestFailure it raises traps the guest (abi.define_host_func).
        host.fail(state.scope, _text(args[0]))

    special: dict[str, abi.HostFunc] = {"log": log, "fail": fail}
    bound: dict[str, abi.HostFunc] = {}
    records = wit.records()  # read the contract once for every binding
    for func in wit.host_functions():
        bound[func.name] = special.get(func.name) or bound_function(host, func, state, records, fast)
    return bound


def native_fronts(host: Host, fast: fastcall.Library, keepalive: list[object]) -> dict[str, abi.NativeFront]:
    """name -> native front, for the host's fixed answers (Host.fixed_answers) whose WIT shape the
    library answers: no argument or one option<u32>, and a string or result<string, hsm-error>."""
    functions = {func.name: func for func in wit.host_functions()}
    fronts: dict[str, abi.NativeFront] = {}
    own_table = type(host).fixed_answers is not Host.fixed_answers
    for name, answers in host.fixed_answers().items():
        func = functions.get(name)
        if func is None:
            raise TypeError(f"host function {name}: a fixed answer for a function the contract does not have")
        if not own_table and getattr(type(host), func.python_name) is not getattr(Host, func.python_name):
            continue  # a subclass answers it its own way, and did not say its answer is fixed
        kind = func.ok_type or func.result
        keyed = [param for _, param in func.params] == ["option<u32>"]
        if kind != "string" or not (keyed or not func.params):
            raise TypeError(f"host function {name}: a fixed answer needs no argument or one option<u32>, and a string result")
        fronts[name] = fast.fixed(answers, keyed=keyed, boxed=func.ok_type is not None, keepalive=keepalive)
    return fronts
