"""The client's sans-IO core: requests to bytes, bytes to answers, each checked against its
request.  The blocking, trio and UDP clients are thin adapters around it.

The 2-byte length framing is :mod:`hsmd.protocol`'s (:func:`~hsmd.protocol.encode`,
:meth:`~hsmd.protocol.FrameDecoder.next_message`); this module adds what only a client knows,
the request an answer belongs to:

- its header must come back byte for byte, and its response code must be the command's
  (NC -> ND), else :class:`~hsmd.client.errors.AnswerMismatch`;
- a trailer is split off the answer's fields only when the request carried one (by the trailer
  rule of :func:`~hsmd.protocol.split_trailer`, as the server reads it), so binary fields that
  happen to end like a trailer stay whole.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from hsmd.client.errors import AnswerMismatch, MalformedAnswer
from hsmd.error_codes import meaning
from hsmd.protocol import MAX_HEADER_LEN, NEED_DATA, TRAILER_MARK, FrameDecoder, NeedData, encode, response_code, split_trailer

__all__ = [
    "DEFAULT_HEADER",
    "DEFAULT_PORT",
    "DEFAULT_TLS_PORT",
    "Answer",
    "ClientProtocol",
    "Request",
    "Sent",
    "address",
    "answer_from_datagram",
    "as_header",
    "check_timeout",
    "request_message",
    "with_fields",
]

DEFAULT_HEADER: Final = b"0000"  # 4 characters: hsmd.toml's (and a payShield's factory) header_len
DEFAULT_PORT: Final = 1500  # TCP and UDP, as on a payShield
DEFAULT_TLS_PORT: Final = 2500  # a payShield 10K's TLS host port

Request: TypeAlias = str | bytes | tuple[str | bytes, str | bytes]
"""A command code, optionally followed by its fields (``"NC"``, ``b"B20005hello"``), or a
``(command, fields)`` pair.  Text must be ASCII; binary fields go as bytes."""

_CODES_LEN: Final = 4  # response code + error code


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer, split: ``raw`` is the whole message as received (without length prefix)."""

    header: bytes
    response_code: str  # e.g. "ND"
    error_code: str  # "00" is success
    fields: bytes  # everything after the error code, less the trailer
    trailer: bytes | None  # without the 0x19 mark; only when the request carried one
    raw: bytes

    @property
    def ok(self) -> bool:
        return self.error_code == "00"

    @property
    def meaning(self) -> str:
        """The error code's general meaning (:mod:`hsmd.error_codes`)."""
        return meaning(self.error_code)


@dataclass(frozen=True, slots=True)
class Sent:
    """A request as its answer is checked against it."""

    header: bytes
    response_code: bytes
    trailer: bytes | None


def as_header(header: str | bytes) -> bytes:
    """A header given as text (ASCII) or bytes, checked before anything is sent."""
    data = _as_bytes(header, "header")
    if len(data) > MAX_HEADER_LEN:
        raise ValueError(f"a header is at most {MAX_HEADER_LEN} characters, got {len(data)}")
    return data


def check_timeout(timeout: float | None) -> float | None:
    """``None`` (wait for ever) or a positive number of seconds; 0 would mean "do not wait"."""
    if timeout is not None and not timeout > 0:
        raise ValueError(f"a timeout is a positive number of seconds or None, got {timeout!r}")
    return timeout


def with_fields(request: Request, fields: str | bytes) -> Request:
    """``call(request, fields)``'s request: ``fields`` appended to a command code."""
    if not fields:
        return request
    if isinstance(request, tuple):
        raise ValueError("give the fields in the request tuple or as the fields argument, not both")
    return (request, fields)


def address(host: str, port: int) -> str:
    """``host:port`` for messages, IPv6 addresses bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _as_bytes(value: str | bytes, what: str) -> bytes:
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"{what} must be ASCII text or bytes, got {value!r}") from None
    return bytes(value)


def request_message(header: bytes, request: Request) -> tuple[bytes, Sent]:
    """The framed request (length prefix included) and what its answer is checked against.

    A trailer (0x19 and up to 32 printable characters) goes at the end of the fields, as on
    the wire.  Raises ``ValueError`` for a request without a 2-character command code,
    non-ASCII text, or a frame over 65535 bytes.
    """
    if isinstance(request, tuple):
        command = _as_bytes(request[0], "command")
        if len(command) != 2:
            raise ValueError(f"a command code is 2 characters, got {request[0]!r}")
        body = command + _as_bytes(request[1], "fields")
    else:
        body = _as_bytes(request, "request")
        if len(body) < 2:
            raise ValueError(f"a request starts with a 2-character command code, got {request!r}")
    _, sent_trailer = split_trailer(body[2:])  # what the server will echo
    return encode(header + body), Sent(header, response_code(body[:2]), sent_trailer)


def _answer(message: bytes, sent: Sent) -> Answer:
    header_len = len(sent.header)
    if message[:header_len] != sent.header:
        raise AnswerMismatch("header", sent.header, message[:header_len])
    if len(message) < header_len + _CODES_LEN:
        raise MalformedAnswer(f"answer {message!r} is too short for a header of {header_len}, a response code and an error code")
    code = message[header_len : header_len + 2]
    if code != sent.response_code:
        raise AnswerMismatch("response code", sent.response_code, code)
    fields = message[header_len + _CODES_LEN :]
    trailer = None
    if sent.trailer is not None and fields.endswith(TRAILER_MARK + sent.trailer):
        fields, trailer = fields[: len(fields) - len(sent.trailer) - 1], sent.trailer
    return Answer(
        header=sent.header,
        response_code=code.decode("ascii", "replace"),
        error_code=message[header_len + 2 : header_len + _CODES_LEN].decode("ascii", "replace"),
        fields=fields,
        trailer=trailer,
        raw=message,
    )


def answer_from_datagram(datagram: bytes, sent: Sent) -> Answer:
    """A UDP answer: the datagram must hold exactly one frame (hsmd.protocol's datagram rule)."""
    decoder = FrameDecoder(len(sent.header))
    decoder.receive_data(datagram)
    message = decoder.next_message()
    if message is NEED_DATA or decoder.buffered:
        raise MalformedAnswer(f"a datagram of {len(datagram)} bytes is not exactly one frame")
    return _answer(message, sent)


class ClientProtocol:
    """One connection's requests and answers, in order; no I/O.

    :meth:`send` returns the bytes to write; feed what is read to :meth:`receive_data` and
    pull answers with :meth:`next_answer` until it returns :data:`~hsmd.protocol.NEED_DATA`.
    """

    def __init__(self, header: str | bytes = DEFAULT_HEADER) -> None:
        self.header: Final = as_header(header)
        self._decoder = FrameDecoder(len(self.header))
        self._sent: deque[Sent] = deque()

    @property
    def pending(self) -> int:
        """Requests sent whose answers have not been returned yet."""
        return len(self._sent)

    def send(self, requests: Iterable[Request]) -> list[bytes]:
        """Each request framed, to be written in this order.  All or nothing: a bad request
        raises ``ValueError`` before any is recorded as sent."""
        framed = [request_message(self.header, request) for request in requests]
        self._sent.extend(sent for _, sent in framed)
        return [data for data, _ in framed]

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._decoder.receive_data(data)

    def next_answer(self) -> Answer | Literal[NeedData.NEED_DATA]:
        """The next answer, checked against its request; raises on a mismatch, a malformed
        answer, or an answer that no request is waiting for."""
        message = self._decoder.next_message()
        if message is NEED_DATA:
            return NEED_DATA
        if not self._sent:
            # Its length only: an answer can carry keys or PIN blocks, and this text reaches stderr.
            raise MalformedAnswer(f"an answer of {len(message)} bytes no request is waiting for")
        return _answer(message, self._sent.popleft())
