"""From a logic module's return value to the bytes after the response code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hsmd_sdk.errors import HsmError
from hsmd_sdk.hsm import Hsm


@dataclass(frozen=True, slots=True)
class Reply:
    """A response that carries fields with a non-zero code (e.g. 01: parity warning)."""

    code: str
    fields: bytes = b""


Execute = Callable[[bytes, Hsm], "bytes | Reply"]
MEMORY_FAILURE = "command raised MemoryError"


def failure(exc: BaseException) -> str:
    """What `fail` reports of an exception: its type and where it was raised, never its message (it may quote the request).

    Read off the traceback's frames, not with `traceback`'s helpers: they read source files, and a
    plugin has no file system (the stubbed WASI call traps).
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = "" if tb is None else f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
    return f"command raised {type(exc).__name__}{where}"


def respond(execute: Execute, request: bytes, hsm: Hsm) -> bytes:
    """Run `execute` and return error code + fields; `HsmError` passes through.

    Any other exception is a bug in the command, which the host must tell from
    an answer: it goes to `hsm.fail`, which does not return (the host answers
    41, the payShield code for an internal failure, and logs a "guest" fault).
    """
    try:
        result = execute(request, hsm)
    except HsmError:
        raise
    except MemoryError:
        hsm.fail(MEMORY_FAILURE)  # nothing that allocates: the memory may be full
        raise
    except Exception as exc:
        hsm.fail(failure(exc))
        raise
    if isinstance(result, Reply):
        return result.code.encode("ascii") + result.fields
    return b"00" + result
