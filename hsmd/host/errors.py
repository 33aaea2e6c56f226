"""The error the host raises towards a plugin, and the failure a plugin reports of its own."""

from __future__ import annotations


class HostError(Exception):
    """A refusal with the payShield error code the plugin should answer.

    `reason` goes to the log (through redaction), never to the client.
    """

    def __init__(self, code: str, reason: str) -> None:
        if len(code) != 2:
            raise ValueError(f"payShield error codes are two characters, got {code!r}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class GuestFailure(Exception):
    """A plugin reported its own failure (the contract's `fail`): a fault of kind "guest", never a host error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
