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


def respond(execute: Execute, request: bytes, hsm: Hsm) -> bytes:
    """Run `execute` and return error code + fields; `HsmError` passes through.

    Any other exception is a bug in the command: it becomes error 41, the
    code a payShield uses for an internal failure, so the client is answered.
    """
    try:
        result = execute(request, hsm)
    except HsmError:
        raise
    except Exception as exc:
        raise HsmError("41", f"command raised {type(exc).__name__}") from exc
    if isinstance(result, Reply):
        return result.code.encode("ascii") + result.fields
    return b"00" + result
