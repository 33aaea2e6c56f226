"""Sans-IO codec of the channel between the main process and a worker (hsmd.workers, hsmd.worker),
and the one receive both ends share (`receive_packet`).

The channel is a Unix SOCK_SEQPACKET socket pair: every send is one message, read whole by one
receive (`receive_packet`), so the main process can take back a request its worker has not
read yet (hsmd.workers). Each message also carries its length, which the decoder checks::

    [length: u32 big-endian, counts the bytes after it][kind: 1 byte][body]

    kind  direction       message     body
    S     main → worker   Start       PROTOCOL (8 bytes), pickle of (worker index, Config): the first message
    Q     main → worker   Request     call id, request id, the frame, a status snapshot (below)
    R     main → worker   Reload      empty: load the plugin directory again
    Y     worker → main   Ready       JSON: pid, the plugins loaded, how many were refused
    A     worker → main   Answer      call id, the answer message, what to count (code, busy, ...)
    D     worker → main   Reloaded    JSON: ok, the plugins now served, refused, reason

    Request  !IBBBBI: call, len(request id), len(header), has trailer, len(trailer), len(snapshot);
             then request id (ASCII), header, command (2), trailer, snapshot, body (the rest)
    Answer   !IBB2sd: call, refused (0/1), len(fault), error code (2), busy seconds;
             then fault kind (ASCII), the answer message (the rest)

PROTOCOL is a digest of this module's source and of the modules whose classes go over the
channel pickled (hsmd.config, hsmd.host.status, hsmd_sdk.host_api): a worker started from
files upgraded under a running server differs from it, and refuses its Start
(`ProtocolMismatch`) before it reads anything else, instead of misreading every request
after it.

A decoder reads one direction only (`MAIN_TO_WORKER` or `WORKER_TO_MAIN`): the main process
never unpickles what a worker sends (a worker runs plugins), and a kind not of its direction,
a short or overlong body or a length over `MAX_MESSAGE` raises `ChannelError`. The status
snapshot of a Request stays bytes here: the worker unpickles it (hsmd.host.status.StatusSnapshot).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import pickle
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

from hsmd_sdk import host_api

from hsmd import config as config_module
from hsmd.config import Config
from hsmd.host import status as status_module
from hsmd.protocol import Frame

__all__ = [
    "MAIN_TO_WORKER",
    "MAX_MESSAGE",
    "PACKET_MAX",
    "PROTOCOL",
    "WORKER_TO_MAIN",
    "Answer",
    "ChannelDecoder",
    "ChannelError",
    "LoadedPlugin",
    "Message",
    "ProtocolMismatch",
    "Ready",
    "Reload",
    "Reloaded",
    "Request",
    "Start",
    "encode",
    "receive_packet",
    "request_call",
]

MAX_MESSAGE: Final = 256 * 1024  # a frame is at most 64 KiB; a status snapshot about 100 KiB at most (host.status)
_PREFIX: Final = struct.Struct("!I")
PACKET_MAX: Final = _PREFIX.size + MAX_MESSAGE  # a receive buffer that holds any message whole
_MSG_TRUNC: Final = int(socket.MSG_TRUNC)  # plain ints: IntFlag's `|` costs microseconds a call
DONTWAIT: Final = int(socket.MSG_DONTWAIT)
_REQUEST: Final = struct.Struct("!IBBBBBI")
# How long one end polls for the other's message before it sleeps, where polling is worth it
# (the pool for a lone request's answer, a worker for a lone client's next request): about
# twice a worker's round trip for NC (120-150 µs) on this project's 2-core virtual machines,
# where the wake-up that ends a sleep costs tens of µs on both sides.
ALONE_POLL: Final = 0.0003
_ANSWER: Final = struct.Struct("!IBB2sd")


def _protocol() -> bytes:
    """This codec's and the pickled classes' source (Config in Start; StatusSnapshot, with the
    SDK's LoadBand, in a status command's Request), hashed; the installed version where the
    source is not on disk (a sourceless install)."""
    digest = hashlib.sha256()
    try:
        for module in (__file__, config_module.__file__, status_module.__file__, host_api.__file__):
            digest.update(Path(module).read_bytes())
    except (OSError, TypeError):  # TypeError: a module without a __file__
        digest.update(importlib.metadata.version("hsmd").encode())
    return digest.digest()[:8]


PROTOCOL: Final = _protocol()


class ChannelError(Exception):
    """The peer sent something that is not a message of this channel: the channel is unusable."""


class ProtocolMismatch(ChannelError):
    """A Start from a main process whose channel code differs from this worker's."""


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    """A plugin a worker serves, as /plugins and /metrics show it."""

    command: str
    version: str
    contract: str
    description: str
    loaded_at: float  # time.time() when its file was loaded


@dataclass(frozen=True, slots=True)
class Start:
    index: int  # 0 .. workers-1, on every log line of the worker
    config: Config


@dataclass(frozen=True, slots=True)
class Request:
    call: int  # the main process's id for this call, echoed in the Answer
    request_id: str  # the log request id ("3-17"), bound while the worker runs it
    frame: Frame
    snapshot: bytes = b""  # pickled StatusSnapshot, for the status commands (NO NI J2 J4 J8 JK)
    # The pool held no other request, at most one host client was sending and the machine has
    # more than one CPU: once it has answered, the worker polls for the next request for a while
    # before it sleeps (hsmd.worker).
    linger: bool = False


@dataclass(frozen=True, slots=True)
class Reload:
    pass


@dataclass(frozen=True, slots=True)
class Ready:
    pid: int
    plugins: tuple[LoadedPlugin, ...]
    refused: int


@dataclass(frozen=True, slots=True)
class Answer:
    call: int
    message: bytes  # the complete answer: header, response code, error code, fields, trailer
    code: str  # the error code to count (what the worker's Dispatcher recorded)
    busy: float  # seconds in the plugin call
    refused: bool = False  # no plugin for the command (68): counted apart, as UnitStatus.refuse does
    fault: str = ""  # the fault kind when the call faulted (answered 41)


@dataclass(frozen=True, slots=True)
class Reloaded:
    ok: bool
    plugins: tuple[LoadedPlugin, ...]  # what the worker serves now
    refused: int
    reason: str = ""  # why not, when not ok


Message: TypeAlias = Start | Request | Reload | Ready | Answer | Reloaded

MAIN_TO_WORKER: Final = frozenset({b"S", b"Q", b"R"})
WORKER_TO_MAIN: Final = frozenset({b"Y", b"A", b"D"})


def _plugins(plugins: tuple[LoadedPlugin, ...]) -> list[list[Any]]:
    return [[p.command, p.version, p.contract, p.description, p.loaded_at] for p in plugins]


def encode(message: Message) -> bytes:
    """The message with its length prefix, ready to send."""
    if isinstance(message, Request):
        rid, frame = message.request_id.encode("ascii"), message.frame
        trailer = frame.trailer or b""
        head = _REQUEST.pack(
            message.call, len(rid), len(frame.header), frame.trailer is not None, message.linger, len(trailer), len(message.snapshot)
        )
        body = b"Q" + head + rid + frame.header + frame.command + trailer + message.snapshot + frame.body
    elif isinstance(message, Answer):
        fault = message.fault.encode("ascii")
        body = b"A" + _ANSWER.pack(message.call, message.refused, len(fault), message.code.encode("ascii"), message.busy) + fault
        body += message.message
    elif isinstance(message, Start):
        body = b"S" + PROTOCOL + pickle.dumps((message.index, message.config))
    elif isinstance(message, Reload):
        body = b"R"
    elif isinstance(message, Ready):
        body = b"Y" + json.dumps({"pid": message.pid, "plugins": _plugins(message.plugins), "refused": message.refused}).encode()
    else:
        fields = {"ok": message.ok, "plugins": _plugins(message.plugins), "refused": message.refused, "reason": message.reason}
        body = b"D" + json.dumps(fields).encode()
    return _PREFIX.pack(len(body)) + body


def request_call(packet: bytes) -> int:
    """The call id of an encoded Request: the main process reads it off a request it took back."""
    if packet[_PREFIX.size : _PREFIX.size + 1] != b"Q":
        raise ChannelError("not a request")
    return int(_REQUEST.unpack_from(packet, _PREFIX.size + 1)[0])


def receive_packet(sock: socket.socket, buffer: bytearray, flags: int = 0) -> bytes:
    """One whole message from a SOCK_SEQPACKET socket (b"" at the end of the channel), read into
    `buffer` (PACKET_MAX bytes); ChannelError if it did not fit (the rest of it is lost)."""
    size = sock.recv_into(buffer, len(buffer), flags | _MSG_TRUNC)
    if size > len(buffer):
        raise ChannelError(f"message of {size} bytes over the {len(buffer)}-byte buffer")
    return bytes(buffer[:size])


def _loaded(raw: object) -> tuple[LoadedPlugin, ...]:
    if not isinstance(raw, list):
        raise ChannelError("plugins: not a list")
    out = []
    for item in raw:
        match item:
            case [str(command), str(version), str(contract), str(description), int() | float() as loaded_at]:
                out.append(LoadedPlugin(command, version, contract, description, float(loaded_at)))
            case _:
                raise ChannelError("plugins: malformed entry")
    return tuple(out)


def _take(body: bytes, at: int, n: int) -> tuple[bytes, int]:
    """`n` bytes of `body` from `at`, and where the next field starts."""
    end = at + n
    if end > len(body):
        raise ChannelError("message shorter than its fields")
    return body[at:end], end


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ChannelError("body is not JSON") from None
    if not isinstance(data, dict):
        raise ChannelError("body is not a JSON object")
    return data


def _decode(kind: bytes, body: bytes) -> Message:
    try:
        if kind == b"Q":
            call, rid_len, header_len, has_trailer, linger, trailer_len, snapshot_len = _REQUEST.unpack_from(body)
            at = _REQUEST.size
            rid, at = _take(body, at, rid_len)
            header, at = _take(body, at, header_len)
            command, at = _take(body, at, 2)
            trailer, at = _take(body, at, trailer_len)
            snapshot, at = _take(body, at, snapshot_len)
            frame = Frame(header, command, body[at:], trailer if has_trailer else None)
            return Request(call, rid.decode("ascii"), frame, snapshot, bool(linger))
        if kind == b"A":
            call, refused, fault_len, code, busy = _ANSWER.unpack_from(body)
            fault, at = _take(body, _ANSWER.size, fault_len)
            return Answer(call, body[at:], code.decode("ascii"), busy, bool(refused), fault.decode("ascii"))
        if kind == b"S":
            if body[: len(PROTOCOL)] != PROTOCOL:
                raise ProtocolMismatch("start: the server's channel protocol is not this worker's")
            try:
                index, config = pickle.loads(body[len(PROTOCOL) :])
            except Exception as exc:  # noqa: BLE001 -- whatever unpickling raises: one error for the caller
                raise ChannelError(f"start: cannot unpickle: {type(exc).__name__}") from None
            if not isinstance(index, int) or not isinstance(config, Config):
                raise ChannelError("start: not (index, Config)")
            return Start(index, config)
        if kind == b"R":
            return Reload()
        data = _json(body)
        if kind == b"Y":
            pid, refused = data.get("pid"), data.get("refused")
            if not isinstance(pid, int) or not isinstance(refused, int):
                raise ChannelError("ready: pid and refused must be integers")
            return Ready(pid, _loaded(data.get("plugins")), refused)
        ok, refused, reason = data.get("ok"), data.get("refused"), data.get("reason")
        if not isinstance(ok, bool) or not isinstance(refused, int) or not isinstance(reason, str):
            raise ChannelError("reloaded: ok, refused or reason of the wrong type")
        return Reloaded(ok, _loaded(data.get("plugins")), refused, reason)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ChannelError(f"malformed {kind.decode('ascii')} message: {exc}") from None


class ChannelDecoder:
    """Bytes in (`receive_data`), messages out (`next_message`, None until one is complete).

    `accept` is the set of kinds this end may receive (`MAIN_TO_WORKER` in a worker,
    `WORKER_TO_MAIN` in the main process). Once it has raised `ChannelError` it raises it again.
    """

    def __init__(self, accept: frozenset[bytes]) -> None:
        self._accept = accept
        self._buf = bytearray()
        self._pos = 0
        self._error: ChannelError | None = None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not returned as a message yet."""
        return len(self._buf) - self._pos

    def next_message(self) -> Message | None:
        if self._error is not None:
            raise self._error
        start = self._pos
        if len(self._buf) - start < _PREFIX.size:
            return None
        (length,) = _PREFIX.unpack_from(self._buf, start)
        if not 1 <= length <= MAX_MESSAGE:
            self._error = ChannelError(f"message length {length} outside 1..{MAX_MESSAGE}")
            raise self._error
        end = start + _PREFIX.size + length
        if end > len(self._buf):
            return None
        kind = bytes(self._buf[start + _PREFIX.size : start + _PREFIX.size + 1])
        body = bytes(self._buf[start + _PREFIX.size + 1 : end])
        self._pos = end
        if kind not in self._accept:
            self._error = ChannelError(f"unexpected message kind {kind!r}")
            raise self._error
        try:
            return _decode(kind, body)
        except ChannelError as exc:
            self._error = exc
            raise
