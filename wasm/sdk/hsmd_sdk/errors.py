"""The error a command raises to answer with a payShield error code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class HsmError(Exception):
    """Answer this request with `code` (two characters, e.g. "15") and no fields.

    Raised by logic for bad input, and by the `Hsm` when the host refuses an
    operation (the host proposes the code; logic may catch and remap it).
    `reason` is logged, never sent to the client.
    """

    def __init__(self, code: str, reason: str = "") -> None:
        if len(code) != 2:
            raise ValueError(f"payShield error codes are two characters, got {code!r}")
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = code
        self.reason = reason


@contextmanager
def answering(code: str, instead_of: str) -> Iterator[None]:
    """Answer `code` where the host refused with `instead_of`.

    The host's codes name a role in general terms (10: the source key fails
    its parity check); a command whose manual page gives that failure another
    code (11 for the key being exported) says so here:

        with answering("11", instead_of="10"):
            key = hsm.key_from_lmk(key_type, key_field, lmk_id)
    """
    try:
        yield
    except HsmError as exc:
        if exc.code != instead_of:
            raise
        raise HsmError(code, exc.reason) from None
