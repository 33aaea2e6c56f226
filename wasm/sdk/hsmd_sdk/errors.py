"""The error a command raises to answer with a payShield error code."""

from __future__ import annotations


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
