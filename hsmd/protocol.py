"""Sans-IO codec for the payShield host protocol: bytes in, events out.

Nothing here touches a socket or an event loop; ``hsmd.server`` is the thin adapter that
feeds :class:`FrameDecoder` with received bytes and writes the answers it is given.

Wire format (see /work/shared/reference/payshield.md)::

    request : [len:2 big-endian][header:H][command:2][fields...][0x19 trailer]?
    response: [len:2 big-endian][header:H][response:2][error:2][fields...][0x19 trailer]?

``len`` counts every byte after itself, so a frame is at most 65535 bytes long.  The header
length ``H`` (0-32) is a configuration setting; the header is echoed back byte for byte.

Trailer rule
    The trailer is whatever follows the LAST 0x19 byte in the fields (everything after the
    command code), but only if that part is at most 32 bytes long and every byte of it is
    printable ASCII (0x20-0x7E).  Otherwise there is no trailer and the 0x19 is ordinary data
    (binary fields may contain 0x19).  An empty trailer (0x19 as the last byte) counts, and is
    echoed back as a lone 0x19.  A reply carries ``0x19 + trailer`` exactly when the request did.
    A binary field can still end in 0x19 + printable bytes; only the command's layout can tell,
    so the dispatcher reads a frame again without its trailer when the first reading fails
    (hsmd.dispatch.Dispatcher._answer, :meth:`Frame.untrailed`).

Short frame rule
    Every complete frame produces exactly one event.  A frame whose payload is too short to
    hold the header and the command code cannot be dispatched, so the decoder emits a
    :class:`ShortFrame` carrying the answer to send (without length prefix):

    * payload shorter than H bytes (including a zero-length frame when H > 0): the payload
      padded with ASCII spaces to H bytes, then ``b"ZZ51"`` (51 = invalid message header).
      With H = 4, the frame ``00 02 41 42`` is answered ``b"AB  ZZ51"``.
    * payload holds the header but fewer than 2 command bytes (including a zero-length frame
      when H = 0): the header, then ``b"ZZ15"`` (15 = invalid input data).
      With H = 4, the frame ``00 05 48 45 41 44 4E`` is answered ``b"HEADZZ15"``.

    "ZZ" stands in for the response code, since there is no command to derive it from.

Datagram rule (UDP)
    A datagram must hold exactly one frame: the length prefix equals the number of bytes
    after it.  Such a datagram decodes as that frame would on TCP (a :class:`Frame` or a
    :class:`ShortFrame`).  Anything else is a :class:`BadDatagram`, which has no frame to
    answer: an empty datagram, a single byte, a prefix larger than the rest (truncated) or
    smaller (bytes after the frame, e.g. two frames in one datagram).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

__all__ = [
    "MAX_FRAME_LEN",
    "MAX_HEADER_LEN",
    "MAX_TRAILER_LEN",
    "NEED_DATA",
    "TRAILER_MARK",
    "BadDatagram",
    "Event",
    "Frame",
    "FrameDecoder",
    "FrameTooLarge",
    "NeedData",
    "ProtocolError",
    "ShortFrame",
    "encode",
    "parse_datagram",
    "parse_message",
    "response_code",
    "split_trailer",
]

MAX_FRAME_LEN: Final = 0xFFFF
MAX_HEADER_LEN: Final = 32
MAX_TRAILER_LEN: Final = 32
TRAILER_MARK: Final = b"\x19"

_LEN_PREFIX: Final = 2
_COMMAND_LEN: Final = 2
_SHORT_HEADER: Final = b"ZZ51"
_SHORT_COMMAND: Final = b"ZZ15"
_TRAILER_RE: Final = re.compile(rb"[\x20-\x7e]{0,%d}" % MAX_TRAILER_LEN)
# Compact the receive buffer once this much has been consumed (and it is over half the
# buffer): amortised O(1) per byte without shifting the buffer after every frame.
_COMPACT_AT: Final = 64 * 1024


class NeedData(enum.Enum):
    """Type of the :data:`NEED_DATA` sentinel (an enum so mypy can narrow on ``is``)."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
"""Returned by :meth:`FrameDecoder.next_event` when no complete frame is buffered."""


class ProtocolError(Exception):
    """Base class of the codec's errors."""


class FrameTooLarge(ProtocolError, ValueError):
    """A frame is longer than the 2-byte length prefix (or the configured limit) allows."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"frame of {length} bytes exceeds the limit of {limit} bytes")
        self.length = length
        self.limit = limit


def response_code(command: bytes) -> bytes:
    """Return the response code for a 2-byte command code: the second byte plus one.

    ``NC -> ND``, ``A0 -> A1``, ``B2 -> B3``.  No letter/digit carry is applied: ``NZ -> N[``
    and ``N9 -> N:``, which is what the plain "+1" rule gives; 0xFF wraps to 0x00.
    """
    if len(command) != _COMMAND_LEN:
        raise ValueError(f"command code must be 2 bytes, got {command!r}")
    return bytes((command[0], (command[1] + 1) & 0xFF))


def split_trailer(payload: bytes) -> tuple[bytes, bytes | None]:
    """Split ``fields`` into ``(fields, trailer)`` following the trailer rule above.

    The returned trailer excludes the 0x19 mark; it is ``None`` when there is no trailer.
    """
    mark = payload.rfind(TRAILER_MARK)
    if mark < 0:
        return payload, None
    tail = payload[mark + 1 :]
    if _TRAILER_RE.fullmatch(tail) is None:
        return payload, None
    return payload[:mark], tail


def encode(message: bytes) -> bytes:
    """Prefix ``message`` with its 2-byte big-endian length."""
    if len(message) > MAX_FRAME_LEN:
        raise FrameTooLarge(len(message), MAX_FRAME_LEN)
    return len(message).to_bytes(_LEN_PREFIX, "big") + message


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete request: header, command code, fields and optional trailer."""

    header: bytes
    command: bytes
    body: bytes
    trailer: bytes | None  # without the 0x19 mark

    def reply(self, error_code: bytes, fields: bytes = b"") -> bytes:
        """Answer message (no length prefix): header, response code, error code, fields, trailer."""
        if len(error_code) != 2:
            raise ValueError(f"error code must be 2 bytes, got {error_code!r}")
        return self.reply_raw(error_code + fields)

    def reply_raw(self, payload: bytes) -> bytes:
        """Like :meth:`reply`, for a ``payload`` that already starts with the error code."""
        head = self.header + response_code(self.command) + payload
        if self.trailer is None:
            return head
        return head + TRAILER_MARK + self.trailer

    def untrailed(self) -> Frame:
        """The same message read with no trailer: the 0x19 and what follows it are fields."""
        if self.trailer is None:
            return self
        return Frame(self.header, self.command, self.body + TRAILER_MARK + self.trailer, None)

    def to_message(self) -> bytes:
        """The request message (no length prefix) that decodes back to this frame.

        Client side and tests; it round-trips only if ``body`` does not itself end in
        something the trailer rule would take for a trailer.
        """
        head = self.header + self.command + self.body
        if self.trailer is None:
            return head
        return head + TRAILER_MARK + self.trailer


@dataclass(frozen=True, slots=True)
class ShortFrame:
    """A complete frame too short to carry the header and command code."""

    message: bytes  # the whole answer to send, without length prefix
    reason: str


Event: TypeAlias = Frame | ShortFrame | Literal[NeedData.NEED_DATA]


@dataclass(frozen=True, slots=True)
class BadDatagram:
    """A datagram that is not exactly one frame (see the datagram rule)."""

    reason: str
    size: int  # bytes in the datagram
    length: int | None  # what its length prefix said, if it had one


def parse_datagram(datagram: bytes, header_len: int) -> Frame | ShortFrame | BadDatagram:
    """Decode one UDP datagram following the datagram rule."""
    size = len(datagram)
    if size < _LEN_PREFIX:
        return BadDatagram("empty" if size == 0 else "shorter than the length prefix", size, None)
    length = (datagram[0] << 8) | datagram[1]
    if length != size - _LEN_PREFIX:
        reason = "truncated frame" if length > size - _LEN_PREFIX else "bytes after the frame"
        return BadDatagram(reason, size, length)
    return parse_message(datagram[_LEN_PREFIX:], header_len)


def parse_message(message: bytes, header_len: int) -> Frame | ShortFrame:
    """Turn one frame's payload (everything after the length prefix) into an event."""
    if len(message) < header_len:
        return ShortFrame(
            message.ljust(header_len, b" ") + _SHORT_HEADER,
            "shorter than the message header",
        )
    command_end = header_len + _COMMAND_LEN
    if len(message) < command_end:
        return ShortFrame(message[:header_len] + _SHORT_COMMAND, "no command code")
    body, trailer = split_trailer(message[command_end:])
    return Frame(message[:header_len], message[header_len:command_end], body, trailer)


class FrameDecoder:
    """Incremental decoder: feed bytes with :meth:`receive_data`, pull events with
    :meth:`next_event` until it returns :data:`NEED_DATA`.

    Never raises on input with the default ``max_frame_len``: every complete frame becomes a
    :class:`Frame` or a :class:`ShortFrame`.  A lower ``max_frame_len`` makes
    :meth:`next_event` raise :class:`FrameTooLarge` as soon as an oversized length prefix
    is seen (before buffering the frame); the decoder then stays in that error state.
    """

    def __init__(self, header_len: int, *, max_frame_len: int = MAX_FRAME_LEN) -> None:
        if not 0 <= header_len <= MAX_HEADER_LEN:
            raise ValueError(f"header length must be 0-{MAX_HEADER_LEN}, got {header_len}")
        if not 0 <= max_frame_len <= MAX_FRAME_LEN:
            raise ValueError(f"max frame length must be 0-{MAX_FRAME_LEN}, got {max_frame_len}")
        self.header_len: Final = header_len
        self.max_frame_len: Final = max_frame_len
        # Consumed bytes are skipped with an offset rather than deleted per frame, which
        # would make a long pipelined burst quadratic.
        self._buf = bytearray()
        self._pos = 0
        self._error: FrameTooLarge | None = None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; ``b""`` is a no-op (the adapter handles EOF itself)."""
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos >= _COMPACT_AT and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_event(self) -> Event:
        """Return the next complete frame's event, or :data:`NEED_DATA`."""
        message = self.next_message()
        if message is NEED_DATA:
            return NEED_DATA
        return parse_message(message, self.header_len)

    def next_message(self) -> bytes | Literal[NeedData.NEED_DATA]:
        """Return the next complete frame's payload (after the length prefix), unparsed, or
        :data:`NEED_DATA`.

        The client side's entry point: an answer is read against the request it answers
        (``hsmd.client``), not by the request rules of :func:`parse_message`.  Raises
        :class:`FrameTooLarge` as :meth:`next_event` does.
        """
        if self._error is not None:
            raise self._error
        start = self._pos
        available = len(self._buf) - start
        if available < _LEN_PREFIX:
            return NEED_DATA
        length = (self._buf[start] << 8) | self._buf[start + 1]
        if length > self.max_frame_len:
            self._error = FrameTooLarge(length, self.max_frame_len)
            raise self._error
        end = start + _LEN_PREFIX + length
        if end > len(self._buf):
            return NEED_DATA
        self._pos = end
        return bytes(self._buf[start + _LEN_PREFIX : end])

    @property
    def in_frame(self) -> bool:
        """True while bytes of an incomplete frame are buffered (slow-sender timing).

        Exact once :meth:`next_event` has returned :data:`NEED_DATA`; before that it is also
        True for complete frames not yet pulled.
        """
        return self._pos < len(self._buf)

    @property
    def buffered(self) -> int:
        """Number of received bytes not yet returned as events."""
        return len(self._buf) - self._pos
