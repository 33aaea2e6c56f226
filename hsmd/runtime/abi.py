"""The fast call path: component values built and read through wasmtime's C API.

wasmtime-py's `component.Func.__call__` re-reads the function type on every
call and lifts `list<u8>` one element at a time in Python (130-470 µs a call,
~10 ms per KiB; shared/reference/wasm-runtime.md). The contract's functions
are few and fixed, so this module talks to `wasmtime_component_func_call`
directly with a hand-written lowering for each shape the contract uses.

Byte lists cross as arrays of `wasmtime_component_val_t` (one per byte). They
are filled and read with strided slice copies (`buf[offset::stride]`), which
run in C, so a request costs one allocation and two memmoves, not a Python
loop per byte.

Everything here depends on the C struct layout of wasmtime 50: `check_layout`
asserts it at import, and tests pin it, so an upgrade that moves a field fails
loudly instead of corrupting memory.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable, Sequence
from ctypes import byref, memmove, sizeof, string_at
from importlib import metadata as _metadata
from typing import Any, Final

import wasmtime
from wasmtime import _ffi as ffi

__all__ = [
    "ABI_WASMTIME_VERSION",
    "TRAP_KINDS",
    "HostFunc",
    "NativeFront",
    "RawFunc",
    "TrapError",
    "Val",
    "call",
    "check_layout",
    "define_host_func",
    "lift_bool",
    "lift_bytes",
    "lift_enum",
    "lift_option_u32",
    "lift_string",
    "lift_string_pairs",
    "lift_u32",
    "lift_u32_list",
    "lower_bool",
    "lower_err_record",
    "lower_list",
    "lower_ok",
    "lower_record",
    "lower_string",
    "lower_u32",
    "lower_u64",
]

# The wasmtime release this module's struct offsets were written against.
ABI_WASMTIME_VERSION: Final = "50.0.1"
WASMTIME_VERSION: Final = _metadata.version("wasmtime")

Val = ffi.wasmtime_component_val_t
VAL_SIZE: Final = sizeof(Val)
PAYLOAD: Final = Val.of.offset  # where a val's union starts (its u8 lives here)

# Value kinds (wasmtime/component/val.h).
K_BOOL: Final = ffi.WASMTIME_COMPONENT_BOOL.value
K_U8: Final = ffi.WASMTIME_COMPONENT_U8.value
K_U32: Final = ffi.WASMTIME_COMPONENT_U32.value
K_U64: Final = ffi.WASMTIME_COMPONENT_U64.value
K_STRING: Final = ffi.WASMTIME_COMPONENT_STRING.value
K_LIST: Final = ffi.WASMTIME_COMPONENT_LIST.value
K_RECORD: Final = ffi.WASMTIME_COMPONENT_RECORD.value
K_TUPLE: Final = ffi.WASMTIME_COMPONENT_TUPLE.value
K_ENUM: Final = ffi.WASMTIME_COMPONENT_ENUM.value
K_OPTION: Final = ffi.WASMTIME_COMPONENT_OPTION.value
K_RESULT: Final = ffi.WASMTIME_COMPONENT_RESULT.value

_U8_KIND = bytes([K_U8])


# What stopped the guest, by the words of wasmtime's trap description (its `Trap` Display,
# which follows "Caused by:" and "wasm trap: " in the error text). First match wins;
# anything else is a plain "trap".
TRAP_KINDS: Final = (
    ("all fuel consumed", "fuel"),
    ("out of fuel", "fuel"),
    ("interrupt", "deadline"),
    ("call stack exhausted", "stack-overflow"),
    ("out of bounds memory access", "out-of-bounds"),
    ("out of bounds table access", "out-of-bounds"),
    ("out of bounds array access", "out-of-bounds"),
    ("unaligned atomic", "out-of-bounds"),
    ("`unreachable` instruction executed", "unreachable"),
    ("integer divide by zero", "arithmetic"),
    ("integer overflow", "arithmetic"),
    ("invalid conversion to integer", "arithmetic"),
    ("indirect call type mismatch", "bad-call"),
    ("uninitialized element", "bad-call"),
    ("null reference", "bad-call"),
    ("cannot enter component instance", "reentered"),
)
_BACKTRACE_FRAME = re.compile(r"^\s*\d+:\s+0x[0-9a-f]+ - (?P<where>.+)$")
_CAUSE_NUMBER = re.compile(r"^\d+: ")


class TrapError(Exception):
    """A call into the guest ended in a trap (or the host function failed).

    wasmtime's text is a header ("error while executing at wasm backtrace:"),
    the wasm frames, then "Caused by:" and what happened: `reason` is that last
    part, `kind` its class, `where` the innermost frame with a name.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def reason(self) -> str:
        """What happened, in one line: "wasm `unreachable` instruction executed", "all fuel consumed by WebAssembly"."""
        head, _, cause = self.message.rpartition("Caused by:")
        # Several causes come numbered ("0: ...", "1: wasm trap: ..."): the trap is the one that says so.
        lines = [_CAUSE_NUMBER.sub("", line.strip()) for line in (cause if head else self.message).splitlines() if line.strip()]
        trap = next((line for line in lines if line.startswith("wasm trap: ")), None)
        text = trap or (lines[0] if lines else "trap with no description")
        return text.removeprefix("wasm trap: ")

    @property
    def kind(self) -> str:
        """fuel | deadline | stack-overflow | out-of-bounds | unreachable | arithmetic | bad-call | reentered | trap."""
        reason = self.reason
        return next((kind for words, kind in TRAP_KINDS if words in reason), "trap")

    @property
    def where(self) -> str | None:
        """The innermost backtrace frame wasmtime could name ("libc.so!stat"), if any."""
        for line in self.message.splitlines():
            match = _BACKTRACE_FRAME.match(line)
            if match and "<unknown>" not in match["where"]:
                return match["where"]
        return None


def check_layout() -> None:
    """Refuse to run on a wasmtime whose component value layout we don't know."""
    problems = []
    if WASMTIME_VERSION != ABI_WASMTIME_VERSION:
        problems.append(f"wasmtime {WASMTIME_VERSION} (this runtime is written for {ABI_WASMTIME_VERSION})")
    if VAL_SIZE != 32 or PAYLOAD != 8:
        problems.append(f"wasmtime_component_val_t size {VAL_SIZE}/offset {PAYLOAD}, expected 32/8")
    expected = {"BOOL": 0, "U8": 2, "U32": 6, "U64": 8, "STRING": 12, "LIST": 13, "RECORD": 14}
    expected |= {"TUPLE": 15, "ENUM": 17, "OPTION": 18, "RESULT": 19}
    for name, kind in expected.items():
        if getattr(ffi, f"WASMTIME_COMPONENT_{name}").value != kind:
            problems.append(f"value kind {name} changed")
    if problems:
        raise RuntimeError("hsmd's wasm call path does not match this wasmtime: " + "; ".join(problems))


check_layout()


# --- lowering: Python -> component values (memory owned by wasmtime's allocator) ---


def _byte_vec(data: bytes) -> ffi.wasm_byte_vec_t:
    vec = ffi.wasm_byte_vec_t()
    ffi.wasm_byte_vec_new_uninitialized(byref(vec), len(data))
    if data:
        memmove(vec.data, data, len(data))
    return vec


def lower_string(val: Val, text: bytes) -> None:
    """`text` must already be UTF-8."""
    val.kind = K_STRING
    val.of.string = _byte_vec(text)


def lower_bytes(val: Val, data: bytes) -> None:
    """A list<u8>: one u8 value per byte, written with two strided copies."""
    n = len(data)
    vec = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(byref(vec), n)
    if n:
        buf = bytearray(n * VAL_SIZE)
        buf[0::VAL_SIZE] = _U8_KIND * n
        buf[PAYLOAD::VAL_SIZE] = data
        memmove(vec.data, (ctypes.c_char * len(buf)).from_buffer(buf), len(buf))
    val.kind = K_LIST
    val.of.list = vec


def _boxed(inner: Val) -> Any:
    # wasmtime_component_val_new moves `inner` into a heap value wasmtime frees.
    return ffi.wasmtime_component_val_new(byref(inner))


def lower_u32(val: Val, number: int) -> None:
    val.kind = K_U32
    val.of.u32 = number


def lower_u64(val: Val, number: int) -> None:
    val.kind = K_U64
    val.of.u64 = number


def lower_list(val: Val, items: Sequence[Callable[[Val], None]]) -> None:
    """A list of values, each written by its own lowering function."""
    vec = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(byref(vec), len(items))
    for i, lower in enumerate(items):
        lower(vec.data[i])
    val.kind = K_LIST
    val.of.list = vec


def lower_bool(val: Val, flag: bool) -> None:
    val.kind = K_BOOL
    val.of.boolean = flag


def lower_record(val: Val, fields: Sequence[tuple[bytes, Callable[[Val], None]]]) -> None:
    rec = ffi.wasmtime_component_valrecord_t()
    ffi.wasmtime_component_valrecord_new_uninit(byref(rec), len(fields))
    for i, (name, lower) in enumerate(fields):
        entry = rec.data[i]
        entry.name = _byte_vec(name)
        lower(entry.val)
    val.kind = K_RECORD
    val.of.record = rec


def lower_ok(val: Val, lower: Callable[[Val], None]) -> None:
    inner = Val()
    lower(inner)
    val.kind = K_RESULT
    val.of.result.is_ok = True
    val.of.result.val = _boxed(inner)


def lower_err_record(val: Val, fields: Sequence[tuple[bytes, bytes]]) -> None:
    """result<_, record{...}> err case whose fields are all strings."""
    inner = Val()
    lower_record(inner, [(name, lambda v, value=value: lower_string(v, value)) for name, value in fields])  # type: ignore[misc]
    val.kind = K_RESULT
    val.of.result.is_ok = False
    val.of.result.val = _boxed(inner)


# --- lifting: component values -> Python (copies out; never keeps pointers) ---


def _expect(val: Val, kind: int) -> None:
    if val.kind != kind:
        raise TypeError(f"component value of kind {val.kind}, expected {kind}")


def lift_string(val: Val, limit: int) -> bytes:
    _expect(val, K_STRING)
    vec = val.of.string
    if vec.size > limit:
        raise ValueError(f"string of {vec.size} bytes exceeds {limit}")
    return string_at(vec.data, vec.size) if vec.size else b""


def lift_bytes(val: Val, limit: int) -> bytes:
    _expect(val, K_LIST)
    vec = val.of.list
    n = vec.size
    if n > limit:
        raise ValueError(f"list of {n} bytes exceeds {limit}")
    if not n:
        return b""
    raw = string_at(vec.data, n * VAL_SIZE)
    if raw[0::VAL_SIZE] != _U8_KIND * n:
        raise TypeError("list<u8> holds a value that is not a u8")
    return raw[PAYLOAD::VAL_SIZE]


def lift_bool(val: Val) -> bool:
    _expect(val, K_BOOL)
    return bool(val.of.boolean)


def lift_u32(val: Val) -> int:
    _expect(val, K_U32)
    return int(val.of.u32)


def lift_u32_list(val: Val, limit: int) -> list[int]:
    _expect(val, K_LIST)
    vec = val.of.list
    if vec.size > limit:
        raise ValueError(f"list of {vec.size} exceeds {limit}")
    return [lift_u32(vec.data[i]) for i in range(vec.size)]


def lift_option_u32(val: Val) -> int | None:
    _expect(val, K_OPTION)
    inner = val.of.option
    return lift_u32(inner.contents) if inner else None


def lift_enum(val: Val) -> bytes:
    _expect(val, K_ENUM)
    name = val.of.enumeration
    return string_at(name.data, name.size)


def lift_string_pairs(val: Val, limit: int) -> list[tuple[bytes, bytes]]:
    """list<tuple<string, string>>."""
    _expect(val, K_LIST)
    vec = val.of.list
    if vec.size > limit:
        raise ValueError(f"list of {vec.size} pairs exceeds {limit}")
    pairs = []
    for i in range(vec.size):
        item = vec.data[i]
        _expect(item, K_TUPLE)
        tup = item.of.tuple
        if tup.size != 2:
            raise TypeError("expected a pair")
        pairs.append((lift_string(tup.data[0], 4096), lift_string(tup.data[1], 4096)))
    return pairs


def lift_record_strings(val: Val, limit: int) -> dict[bytes, bytes]:
    _expect(val, K_RECORD)
    rec = val.of.record
    out = {}
    for i in range(rec.size):
        entry = rec.data[i]
        out[string_at(entry.name.data, entry.name.size)] = lift_string(entry.val, limit)
    return out


# --- calls ---


class RawFunc:
    """An exported function of one instance, called without wasmtime-py's per-call type walk."""

    __slots__ = ("_context", "_func")

    def __init__(self, store: wasmtime.Store, instance: Any, name: str) -> None:
        func = instance.get_func(store, name)
        if func is None:
            raise LookupError(f"component does not export {name!r}")
        self._func = func._func
        self._context = store._context()

    def addresses(self) -> tuple[int, int]:
        """Where the function struct and the store context are, for a native caller (valid while this object lives)."""
        return ctypes.addressof(self._func), ctypes.cast(self._context, ctypes.c_void_p).value or 0

    def call(self, args: Any, nargs: int, result: Val | None) -> None:
        err = ffi.wasmtime_component_func_call(
            byref(self._func), self._context, args, nargs, byref(result) if result is not None else None, 1 if result is not None else 0
        )
        if err:
            raise TrapError(str(wasmtime.WasmtimeError._from_ptr(err)))

    def post_return(self) -> None:
        err = ffi.wasmtime_component_func_post_return(byref(self._func), self._context)
        if err:
            raise TrapError(str(wasmtime.WasmtimeError._from_ptr(err)))


def call(func: RawFunc, args: Sequence[Callable[[Val], None]], lift: Callable[[Val], Any] | None) -> Any:
    """Call `func` with arguments written by `args`; read the result with `lift`.

    Argument and result values are freed here whatever happens, so a trap
    leaks nothing on the host side.
    """
    argv = (Val * max(len(args), 1))()
    for i, lower in enumerate(args):
        lower(argv[i])
    result = Val() if lift is not None else None
    try:
        func.call(argv, len(args), result)
    finally:
        for i in range(len(args)):
            ffi.wasmtime_component_val_delete(byref(argv[i]))
    try:
        return lift(result) if lift is not None and result is not None else None
    finally:
        if result is not None:
            ffi.wasmtime_component_val_delete(byref(result))
        func.post_return()  # even when lifting refused the value: the instance must stay enterable


# --- host functions ---

# A host function sees the raw argument array and writes the raw result slot.
HostFunc = Callable[[Any, Any], None]

# wasmtime's callback type, with the context and type pointers as plain addresses: ctypes
# builds no pointer objects for what the trampoline never reads (about 0.5 µs a host call).
_VALS, _ADDRESS, _SIZE = ctypes.POINTER(Val), ctypes.c_void_p, ctypes.c_size_t
_CALLBACK = ctypes.CFUNCTYPE(_SIZE, _ADDRESS, _ADDRESS, _ADDRESS, _VALS, _SIZE, _VALS, _SIZE)


def _finalize_nothing(_data: Any) -> None:
    """Nothing to free per function: the Runtime owns the callbacks."""


# Module-level so the C pointer to it can never outlive it.
_no_finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(_finalize_nothing)


# A native host function put in front of the Python one: given the address of the Python
# trampoline (where it sends the calls it does not answer), its callback's and its data's addresses.
NativeFront = Callable[[int], tuple[int, int]]


def define_host_func(
    linker_instance: Any,
    name: str,
    body: HostFunc,
    on_failure: Callable[[BaseException], None],
    keepalive: list[object],
    native: NativeFront | None = None,
) -> None:
    """Register `body` as the import `name`: the one wrapper at the boundary.

    Any exception out of `body` (BaseException included: a host bug must not
    let the guest run on with garbage) is handed to `on_failure`, which keeps
    it so the host can re-raise it, and turned into a trap for the guest.
    With `native`, its callback is what wasmtime calls, and it hands to this
    trampoline every call it does not answer itself.
    """

    def trampoline(_data: Any, _context: Any, _ty: Any, args: Any, _nargs: int, results: Any, _nresults: int) -> int:
        try:
            body(args, results)
        except BaseException as exc:  # noqa: BLE001 - we trap on every failure, by design
            on_failure(exc)
            err = ffi.wasmtime_error_new(f"host function {name} failed".encode())
            return ctypes.cast(err, ctypes.c_void_p).value or 0
        return 0

    callback = _CALLBACK(trampoline)
    keepalive.append(callback)  # the C side holds a raw pointer to it
    encoded = name.encode()
    data = None
    if native is not None:
        address, data = native(ctypes.cast(callback, ctypes.c_void_p).value or 0)
        callback = ctypes.cast(address, _CALLBACK)
    as_wasmtime = ctypes.cast(callback, ffi.wasmtime_component_func_callback_t)
    err = ffi.wasmtime_component_linker_instance_add_func(linker_instance.ptr(), encoded, len(encoded), as_wasmtime, data, _no_finalizer)
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)
