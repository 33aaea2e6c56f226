"""The client's errors: one base class, one subclass per way a call can fail.

Every one but :class:`ClientClosed` also closes the connection: once an answer is missing,
late or not the one expected, the answers that follow cannot be matched to their requests.
"""

from __future__ import annotations

__all__ = [
    "AnswerMismatch",
    "ClientClosed",
    "ClientError",
    "ConnectFailed",
    "ConnectionLost",
    "MalformedAnswer",
    "Timeout",
]


class ClientError(Exception):
    """Base class of every error :mod:`hsmd.client` raises for the network or the server."""


class ConnectFailed(ClientError):
    """No connection: refused, unreachable, name not resolved, TLS handshake failed, or (UDP)
    nothing listening on the port.  The cause is chained (``__cause__``)."""


class Timeout(ClientError, TimeoutError):
    """The server did not answer (or accept the request) within the client's timeout."""


class ConnectionLost(ClientError):
    """The server closed the connection, or it broke, before every answer arrived."""


class MalformedAnswer(ClientError):
    """An answer too short to hold the header, response code and error code, or (UDP) a
    datagram that is not exactly one frame."""


class AnswerMismatch(ClientError):
    """An answer's header, or its response code, is not its request's: the answers are out of
    step, or the client's header is not as long as the server's ``header_len``."""

    def __init__(self, part: str, expected: bytes, received: bytes) -> None:
        super().__init__(
            f"answer {part} {received!r} is not the request's {expected!r} (is the client's header as long as the server's header_len?)"
        )
        self.part = part  # "header" or "response code"
        self.expected = expected
        self.received = received


class ClientClosed(ClientError):
    """The client was closed (by :meth:`close` or by an earlier error) and cannot be used."""
