"""The `execute` call in one native step, where fastcall.c has been built.

fastcall.c does what `Instance.execute` does through abi.call (arm the
store, lower the request, call, read the answer, free, post-return) with one
ctypes call instead of about ten. It is an accelerator, not a second contract:
the answer it cannot read itself (an error, a malformed value) is handed back
to abi.py's lifting, and without the library every call takes abi.call, which
gives the same bytes (tests/test_fastcall.py runs both).

`make build` compiles it with the pinned zig into the compile cache, under
`host/`, named by what it was built from and by the SHA-256 of what was built.
It is native code the server runs, so it is loaded as the cache's entries are:
from a directory no one else can write, a regular file owned by this user (or
root) that no one else can write, whose content matches the digest in its
name, through the descriptor that was checked.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import structlog
import wasmtime
from wasmtime import _ffi as ffi

from hsmd.runtime import abi, cache, memory

SOURCE: Final = Path(__file__).with_name("fastcall.c")
SUBDIR: Final = "host"
PREFIX: Final = "fastcall-"
SUFFIX: Final = ".so"
log = structlog.get_logger("hsmd.runtime")

# hsmd_execute's answers (fastcall.c).
ANSWERED, TO_LIFT, TRAPPED, POSTED, UNARMED = range(5)


def build_key() -> str:
    """What the library is built from: its source, the compiler, the machine, the wasmtime whose layout it assumes."""
    tools = f"ziglang {metadata.version('ziglang')}|{platform.machine()}|wasmtime {abi.WASMTIME_VERSION}|"
    return hashlib.sha256(tools.encode() + SOURCE.read_bytes()).hexdigest()[:16]


def _entries(directory: Path) -> list[Path]:
    prefix = f"{PREFIX}{build_key()}-"
    with contextlib.suppress(FileNotFoundError):
        return sorted(p for p in directory.iterdir() if p.name.startswith(prefix) and p.name.endswith(SUFFIX))
    return []


def build(cache_dir: Path, zig_env: dict[str, str] | None = None) -> Path:
    """Compile fastcall.c into `cache_dir`/host unless a verified build of this source is there. Returns its path.

    Builds of other sources, and any of this one that fails the checks, are removed.
    (plugingen.build holds the build lock: no other writer is in this directory.)
    """
    directory = cache_dir / SUBDIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache.check_directory(directory)
    key = build_key()
    found: Path | None = None
    for path in sorted(directory.iterdir()):
        if not path.name.startswith(PREFIX):
            continue
        if found is None and path.name.startswith(f"{PREFIX}{key}-") and _verified(path):
            found = path
        else:
            path.unlink(missing_ok=True)
    if found is not None:
        return found
    tmp = directory / f"{PREFIX}{key}.{os.getpid()}.tmp"
    command = [sys.executable, "-m", "ziglang", "cc", "-O2", "-shared", "-fPIC", str(SOURCE), "-o", str(tmp)]
    done = subprocess.run(command, capture_output=True, text=True, env=zig_env, check=False)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"zig cc could not build {SOURCE.name}:\n{done.stdout}{done.stderr}".strip())
    tmp.chmod(0o600)
    target = directory / f"{PREFIX}{key}-{hashlib.sha256(tmp.read_bytes()).hexdigest()}{SUFFIX}"
    os.replace(tmp, target)
    return target


def _open_checked(path: Path) -> int:
    """A descriptor of `path` if it passes the cache's checks and its content matches the digest in its name;
    cache.Untrusted or OSError (with why) otherwise."""
    fd = cache.open_nofollow(path)
    try:
        st = cache.check_file(fd, path)
        if not path.name.endswith(f"-{cache.hash_fd(fd, st.st_size)}{SUFFIX}"):
            raise cache.Untrusted("content does not match the digest in its name")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _verified(path: Path) -> bool:
    try:
        os.close(_open_checked(path))
    except (cache.Untrusted, OSError):
        return False
    return True


class Api(ctypes.Structure):
    """fastcall.c's api_t: the wasmtime functions it calls, by address."""

    _fields_ = [
        (name, ctypes.c_void_p)
        for name in (
            "func_call",
            "post_return",
            "val_delete",
            "vallist_new_uninit",
            "set_fuel",
            "set_epoch_deadline",
            "byte_vec_new",
            "val_new",
            "byte_vec_new_uninit",
        )
    ]


class Call(ctypes.Structure):
    """fastcall.c's call_t: one instance's `execute`."""

    _fields_ = [
        ("api", ctypes.c_void_p),
        ("func", ctypes.c_void_p),
        ("context", ctypes.c_void_p),
        ("fuel", ctypes.c_uint64),
        ("ticks", ctypes.c_uint64),
        ("mark", ctypes.c_void_p),
        ("probe_write", ctypes.c_int32),
        ("probe_read", ctypes.c_int32),
        ("frames", ctypes.c_int32),
        ("above", ctypes.c_int32),
    ]


class Entry(ctypes.Structure):
    """fastcall.c's entry_t: one fixed answer."""

    _fields_ = [("key", ctypes.c_uint32), ("size", ctypes.c_uint32), ("text", ctypes.c_char_p)]


class Fixed(ctypes.Structure):
    """fastcall.c's fixed_t: a host function answered from a table."""

    _fields_ = [
        ("api", ctypes.c_void_p),
        ("python", ctypes.c_void_p),
        ("boxed", ctypes.c_int32),
        ("keyed", ctypes.c_int32),
        ("none", ctypes.POINTER(Entry)),
        ("entries", ctypes.POINTER(Entry)),
        ("count", ctypes.c_uint32),
    ]


def _function(function: Any, *argtypes: Any) -> Any:
    function.restype = None
    function.argtypes = list(argtypes)
    return function


def _address(function: Any) -> int:
    return ctypes.cast(function, ctypes.c_void_p).value or 0


class Library:
    """The loaded fastcall library and the wasmtime API table it is given."""

    def __init__(self, dll: ctypes.CDLL, path: Path) -> None:
        self.path = path
        self._execute = dll.hsmd_execute
        self._execute.restype = ctypes.c_int
        c_void_p, c_size_t = ctypes.c_void_p, ctypes.c_size_t
        self._execute.argtypes = [c_void_p, ctypes.c_char_p, c_size_t, c_void_p, c_size_t, c_void_p, c_void_p, c_void_p]
        wt = ffi.dll
        self.api = Api(
            _address(wt.wasmtime_component_func_call),
            _address(wt.wasmtime_component_func_post_return),
            _address(wt.wasmtime_component_val_delete),
            _address(wt.wasmtime_component_vallist_new_uninit),
            _address(wt.wasmtime_context_set_fuel),
            _address(wt.wasmtime_context_set_epoch_deadline),
            _address(wt.wasm_byte_vec_new),
            _address(wt.wasmtime_component_val_new),
            _address(wt.wasm_byte_vec_new_uninitialized),
        )
        api = ctypes.byref(self.api)
        self._lower_string = _function(dll.hsmd_lower_string, c_void_p, c_void_p, ctypes.c_char_p, c_size_t)
        self._lower_ok_string = _function(dll.hsmd_lower_ok_string, c_void_p, c_void_p, ctypes.c_char_p, c_size_t)
        self._lower_ok_u32 = _function(dll.hsmd_lower_ok_u32, c_void_p, c_void_p, ctypes.c_uint32)
        self._api_ref = api
        self._fixed_answer = _address(dll.hsmd_fixed_answer)

    # Host function answers written into a raw result slot (a pointer to the first result value).

    def lower_string(self, results: Any, text: bytes) -> None:
        self._lower_string(self._api_ref, results, text, len(text))

    def lower_ok_string(self, results: Any, text: bytes) -> None:
        self._lower_ok_string(self._api_ref, results, text, len(text))

    def lower_ok_u32(self, results: Any, number: int) -> None:
        self._lower_ok_u32(self._api_ref, results, number)

    def fixed(self, answers: Mapping[int | None, str], *, keyed: bool, boxed: bool, keepalive: list[object]) -> abi.NativeFront:
        """A native host function answering from `answers` (argument -> text; None: no argument or
        `none`) while a native execute runs; `keepalive` holds the table as long as wasmtime may call it."""
        encoded = {key: text.encode() for key, text in answers.items()}
        keys = sorted(key for key in encoded if key is not None)
        entries = (Entry * max(1, len(keys)))(*(Entry(key, len(encoded[key]), encoded[key]) for key in keys))
        none = encoded.get(None)
        none_entry = None if none is None else Entry(0, len(none), none)
        keepalive.extend((entries, none_entry, encoded))

        def front(python: int) -> tuple[int, int]:
            table = Fixed(ctypes.addressof(self.api), python, int(boxed), int(keyed), None, entries, len(keys))
            if none_entry is not None:
                table.none = ctypes.pointer(none_entry)
            keepalive.append(table)
            return self._fixed_answer, ctypes.addressof(table)

        return front

    def caller(self, func: abi.RawFunc, frames: bool, fuel: int, ticks: int, capacity: int, mark: int | None) -> Caller:
        return Caller(self, func, frames, fuel, ticks, capacity, mark)


class Caller:
    """`execute-frame` (`frames`) or `execute` of one instance: call it with the request bytes, get the ok bytes
    or what `lift` makes of another answer.

    With a `mark` (an address memory.py would probe), each answer read natively
    also says whether the memory reaches it: `above` (None where it was not asked).
    """

    __slots__ = ("_args", "_call", "_error", "_execute", "_func", "_length", "_out", "_result", "above")

    def __init__(self, library: Library, func: abi.RawFunc, frames: bool, fuel: int, ticks: int, capacity: int, mark: int | None) -> None:
        self._func = func  # keeps the function struct and the store context alive as long as the call table points at them
        read_end, write_end = memory.probe_pipe() if mark is not None else (-1, -1)
        self._call = Call(ctypes.addressof(library.api), *func.addresses(), fuel, ticks, mark, write_end, read_end, int(frames), -1)
        self.above: bool | None = None
        self._out = ctypes.create_string_buffer(capacity)
        self._length = ctypes.c_size_t()
        self._result = abi.Val()
        self._error = ctypes.c_void_p()
        self._execute = library._execute
        self._args = (
            ctypes.byref(self._call),
            self._out,
            capacity,
            ctypes.byref(self._length),
            ctypes.byref(self._result),
            ctypes.byref(self._error),
        )

    def __call__(self, request: bytes, lift: Callable[[abi.Val], Any]) -> Any:
        call, out, capacity, length, result, error = self._args
        status = self._execute(call, request, len(request), out, capacity, length, result, error)
        if status == ANSWERED:
            above = self._call.above
            self.above = None if above < 0 else above == 1
            return ctypes.string_at(out, self._length.value)
        self.above = None
        if status == TO_LIFT:
            try:
                return lift(self._result)
            finally:
                ffi.wasmtime_component_val_delete(ctypes.byref(self._result))
                self._func.post_return()
        failure = ctypes.cast(self._error, ctypes.POINTER(ffi.wasmtime_error_t))
        message = str(wasmtime.WasmtimeError._from_ptr(failure))
        if status == UNARMED:
            raise wasmtime.WasmtimeError(message)
        raise abi.TrapError(message)


def load(cache_dir: Path) -> Library | None:
    """The library built for this source in `cache_dir`, if one passes the checks; None (and why, once) otherwise."""
    directory = cache_dir / SUBDIR
    try:
        cache.check_directory(directory)
    except FileNotFoundError:
        _without("not built (make build builds it)", directory)
        return None
    except (cache.Untrusted, OSError) as exc:
        _without(str(exc), directory)
        return None
    for path in reversed(_entries(directory)):
        try:
            fd = _open_checked(path)
        except (cache.Untrusted, OSError) as exc:
            log.error("fast call library refused", path=str(path), reason=str(exc))
            continue
        try:
            # Through the descriptor that was checked: no swap between the check and the load.
            return Library(ctypes.CDLL(f"/proc/self/fd/{fd}"), path)
        except OSError as exc:
            log.error("fast call library refused", path=str(path), reason=str(exc))
        finally:
            os.close(fd)
    _without("not built for this source (make build builds it)", directory)
    return None


def _without(reason: str, directory: Path) -> None:
    log.warning("fast call library not used", directory=str(directory), reason=reason, consequence="every call takes the ctypes path")
