"""Trio adapter around :mod:`hsmd.protocol`: sockets, concurrency and limits, nothing else.

Each connection is ONE task running this loop::

    receive a chunk     deadline idle_timeout, or frame_timeout while a frame is partial
    decode it           every complete frame, in order: answer = await dispatcher.handle(frame)
    send the answers    ONE send_all per batch; deadline idle_timeout ("peer not reading")
    repeat              reading again only once every complete buffered frame is answered

A batch holds at most ``max_in_flight`` frames: that many are taken from the decoder and
answered, their answers sent, then the rest of the buffer is processed before the next
read (backpressure: nothing is read while frames are pending).  Answers leave strictly in
request order, and a pipelined burst gets its answers in one write, which keeps the
client's reads batched too.  A ``concurrent`` server (the worker pool, hsmd.workers)
dispatches a batch's frames side by side, each in its own task, and still answers in
order.  One cancel scope per round covers the write and the receive after it; the idle
clock starts when the last answer is written (within a millisecond).
Each frame logs one ``request`` line with ``request_id`` (set while it is dispatched, so
the dispatcher's and plugins' lines carry it too), ``conn_id`` and ``peer`` (bound once
per connection) and ``duration_us`` (wall clock, dispatch only); the lines of a batch are
written, in request order, once its answers are (or once writing them failed or timed out, or
the batch was cancelled), so the client does not wait for them.

TLS (a listener that is a ``trio.SSLListener``): the listener only accepts; the handshake
runs first thing in the connection's own task under ``handshake_timeout``, so a client
that connects and never handshakes holds one connection slot for that long and delays
nobody.  A failed or timed-out handshake is logged once ("tls handshake failed", with
OpenSSL's reason, never key material), counted in ``PortStatus.handshake_failures``, and
closes the connection.  trio sends no TLS alert when the server refuses a handshake: the
client sees the connection close.

A connection ends for one of these reasons, always logged on the "connection closed" line:
``handshake failed`` (TLS), ``peer closed``, ``peer closed mid-frame``, ``idle timeout``,
``frame timeout`` (slow sender), ``frame too large``, ``peer not reading`` (an answer could
not be sent within ``idle_timeout``), ``connection lost``, ``shutdown``, ``internal error``
or ``cancelled`` (the server task itself was cancelled).  Unless the connection broke (lost, not reading,
internal error, cancelled), every frame already received completely is answered first:
:meth:`Server.shutdown` only cancels a pending receive, never a dispatch or a send.
"""

from __future__ import annotations

import contextvars
import errno
import itertools
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import structlog
import trio

from hsmd.host.status import OpenConnection, PortStatus
from hsmd.logging import REQUEST_ID, one_write
from hsmd.protocol import (
    MAX_FRAME_LEN,
    NEED_DATA,
    Frame,
    FrameDecoder,
    FrameTooLarge,
    ShortFrame,
    encode,
)

__all__ = ["Dispatcher", "Limits", "Server", "new_conn_id"]

_RECEIVE_SIZE: Final = 64 * 1024
# accept() errors that mean "out of resources right now": wait and retry instead of dying.
_ACCEPT_RETRY_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_DELAY: Final = 0.1
# Per-process connection ids: request ids are f"{conn_id}-{seq}", unique per process.
_conn_ids = itertools.count(1)

# A "request" line waiting for its batch to be written: the frame's number on its connection,
# command (None for a frame too short to have one), the answer's error code, dispatch time in µs.
_RequestLine = tuple[int, bytes | None, bytes, int]


def _frame_number(line: _RequestLine) -> int:
    return line[0]


def _log_requests(log: structlog.typing.FilteringBoundLogger, id_prefix: str, lines: list[_RequestLine]) -> None:
    """Log the batch's "request" lines in request order, each under its own request id, and empty `lines`.

    Written after the batch's answers, not before: a line costs tens of µs, which a client
    waiting for its answer would otherwise wait for too; and in one write (`one_write`), not
    one write(2) per line."""
    token = REQUEST_ID.set(None)
    try:
        with one_write():
            for seq, command, code, duration_us in sorted(lines, key=_frame_number):
                REQUEST_ID.set(id_prefix + str(seq))
                log.info(
                    "request",
                    command=None if command is None else command.decode("ascii", "replace"),
                    error_code=code.decode("ascii", "replace"),
                    duration_us=duration_us,
                )
    finally:
        REQUEST_ID.reset(token)
        lines.clear()


def new_conn_id() -> str:
    """A fresh per-process connection id (the UDP port takes one per socket)."""
    return str(next(_conn_ids))


# The idle clock restarts after a write that took longer than this (it had to wait for the
# peer); a quicker one leaves it counting from the start of the write, which saves moving
# the deadline (a few microseconds) on every round.
_WRITE_SLACK: Final = 0.001


class Dispatcher(Protocol):
    """Turns a request frame into its complete answer message (no length prefix).

    Must not raise for bad input (answer with a payShield error code instead); an exception
    is treated as a bug, logged, and answered with error 41.  It runs in the connection's
    task (or, for a ``concurrent`` server, in a task of the connection's batch): while it is
    suspended, that connection neither reads nor sends.
    """

    async def handle(self, frame: Frame) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 256
    idle_timeout: float = 300.0  # nothing received, nothing pending -> close
    frame_timeout: float = 5.0  # rest of a started frame must arrive within this -> close
    max_in_flight: int = 32  # frames taken from the buffer per batch before answers are sent
    max_frame_len: int = MAX_FRAME_LEN
    handshake_timeout: float = 5.0  # TLS: the handshake must complete within this -> close

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_in_flight < 1:
            raise ValueError("max_connections and max_in_flight must be at least 1")
        if self.idle_timeout <= 0 or self.frame_timeout <= 0 or self.handshake_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if not 0 <= self.max_frame_len <= MAX_FRAME_LEN:
            raise ValueError(f"max_frame_len must be 0-{MAX_FRAME_LEN}")


class _Connection:
    """Per-connection state the server needs to see from outside the connection's task."""

    __slots__ = ("id", "in_flight", "peer", "reason", "receive_scope", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.id = new_conn_id()
        self.stream = stream
        self.peer = _peer_name(stream)
        self.receive_scope: trio.CancelScope | None = None  # only while receiving or handshaking
        self.in_flight = 0  # frames taken from the decoder whose answers are not sent yet
        self.reason: str | None = None


def _peer_name(stream: trio.abc.Stream) -> str:
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    sock = getattr(stream, "socket", None)
    if sock is None:
        return type(stream).__name__
    try:
        address = sock.getpeername()
    except OSError:
        return "unknown"
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address)


def _peer_address(stream: trio.abc.Stream) -> tuple[str, int]:
    """The peer's (address, port), for NI; ("", 0) when the stream has none (tests' memory streams)."""
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    sock = getattr(stream, "socket", None)
    try:
        address = sock.getpeername() if sock is not None else None
    except OSError:
        address = None
    if isinstance(address, tuple):
        return str(address[0]), int(address[1])
    return "", 0


def _handshake_failure(exc: trio.BrokenResourceError) -> str:
    """OpenSSL's reason for a failed handshake (e.g. UNSUPPORTED_PROTOCOL), or what broke."""
    cause = exc.__cause__
    if isinstance(cause, ssl.SSLError) and cause.reason:
        return str(cause.reason)
    if isinstance(cause, OSError):
        return cause.strerror or type(cause).__name__
    return "connection lost" if cause is None else type(cause).__name__


def _client_subject(cert: dict[str, Any] | None) -> str | None:
    """The client certificate's subject as "organizationName=o,commonName=cn" (mutual TLS),
    or None without one."""
    if not cert:
        return None
    return ",".join(f"{key}={value}" for rdn in cert.get("subject", ()) for key, value in rdn)


class Server:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        header_len: int,
        limits: Limits,
        log: structlog.typing.FilteringBoundLogger | None = None,
        port_status: PortStatus | None = None,
        concurrent: bool = False,
    ) -> None:
        """`concurrent`: dispatch the frames of a batch side by side (a worker pool: hsmd.workers),
        not one after another (an in-process Dispatcher, whose calls would only queue)."""
        FrameDecoder(header_len)  # validates header_len here rather than per connection
        # Counted in place (connections, accepted, handshake failures); serve() fills in the address.
        self.port_status = port_status if port_status is not None else PortStatus("tcp", "", 0)
        self._dispatcher = dispatcher
        self._header_len = header_len
        self._limits = limits
        self._concurrent = concurrent
        self._log: structlog.typing.FilteringBoundLogger = log if log is not None else structlog.get_logger("hsmd.server")
        self._connections: set[_Connection] = set()
        self._accept_scope: trio.CancelScope | None = None
        self._shutting_down = False

    @property
    def active_connections(self) -> int:
        return len(self._connections)

    @property
    def in_flight(self) -> int:
        """Frames taken from a connection's buffer whose answers are not sent yet, over all
        connections."""
        return sum(conn.in_flight for conn in self._connections)

    async def serve(
        self,
        host: str,
        port: int,
        *,
        task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` (port 0 picks one); returns once shutdown has drained.

        ``task_status.started()`` receives the bound ``(host, port)`` addresses; the first
        one is also recorded in :attr:`port_status`.
        """
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = [(str(addr[0]), int(addr[1])) for addr in (listener.socket.getsockname() for listener in listeners)]
        self.port_status.host, self.port_status.port = bound[0]
        await self._run(listeners, lambda: task_status.started(bound))

    async def serve_listeners(
        self,
        listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve already open listeners; they are closed when accepting stops."""
        await self._run(listeners, lambda: task_status.started())

    def shutdown(self) -> None:
        """Stop accepting; connections stop reading, answer every frame already received,
        then close.  Only a pending receive is cancelled, never a dispatch or a send.

        Idempotent; may be called before or while serving, from trio context.
        """
        self._shutting_down = True
        if self._accept_scope is not None:
            self._accept_scope.cancel()
        for conn in self._connections:
            if conn.receive_scope is not None:
                conn.receive_scope.cancel()

    async def _run(
        self,
        listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
        started: Callable[[], None],
    ) -> None:
        # Connections live in the outer nursery so they outlive the accept loops and the
        # nursery's exit is exactly "every connection has drained".
        async with trio.open_nursery() as connections:
            try:
                async with trio.open_nursery() as accepting:
                    self._accept_scope = accepting.cancel_scope
                    if self._shutting_down:
                        accepting.cancel_scope.cancel()
                    for listener in listeners:
                        accepting.start_soon(self._accept_loop, listener, connections)
                    self._log.info("listening", listeners=len(listeners))
                    started()
            finally:
                self._accept_scope = None
                for listener in listeners:
                    await trio.aclose_forcefully(listener)
        self._log.info("stopped")

    async def _accept_loop(
        self,
        listener: trio.abc.Listener[trio.abc.Stream],
        connections: trio.Nursery,
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_RETRY_ERRNOS:
                    raise
                self._log.error("accept failed", error=str(exc))
                await trio.sleep(_ACCEPT_RETRY_DELAY)
                continue
            if len(self._connections) >= self._limits.max_connections:
                self._log.warning(
                    "connection rejected",
                    peer=_peer_name(stream),
                    reason="max connections",
                )
                await trio.aclose_forcefully(stream)
                continue
            conn = _Connection(stream)
            # Registered before the task starts so a burst of accepts cannot overshoot the
            # limit; a connection accepted during shutdown closes before its first read.
            self._connections.add(conn)
            self.port_status.accepted += 1
            self.port_status.connections += 1
            self.port_status.open[conn.id] = OpenConnection(*_peer_address(stream), time.monotonic())
            connections.start_soon(self._connection, conn)

    async def _connection(self, conn: _Connection) -> None:
        structlog.contextvars.bind_contextvars(conn_id=conn.id, peer=conn.peer)
        # Resolved once per connection, not per request (a lazy proxy re-resolves per call).
        log = self._log.bind()
        log.info("connection open")
        unlogged: list[_RequestLine] = []
        try:
            if isinstance(conn.stream, trio.SSLStream):
                conn.reason = await self._handshake(conn.stream, conn, log)
            if conn.reason is None:
                conn.reason = await self._serve_connection(conn, log, unlogged)
        except Exception:  # logged with traceback, see below
            # A bug in this module must cost one connection, not the server.
            conn.reason = "internal error"
            log.exception("connection failed")
        finally:
            if unlogged:  # a batch cut short before its answers were written (cancelled, a bug): its requests ran
                _log_requests(log, f"{conn.id}-", unlogged)
            structlog.contextvars.unbind_contextvars("request_id")
            self._connections.discard(conn)
            self.port_status.connections -= 1
            self.port_status.open.pop(conn.id, None)
            await trio.aclose_forcefully(conn.stream)
            log.info("connection closed", reason=conn.reason or "cancelled")

    async def _handshake(
        self, stream: trio.SSLStream[trio.abc.Stream], conn: _Connection, log: structlog.typing.FilteringBoundLogger
    ) -> str | None:
        """Complete the TLS handshake; None once done, else why the connection ends."""
        if self._shutting_down:
            return "shutdown"
        failure: str | None = None
        with trio.move_on_after(self._limits.handshake_timeout) as scope:
            conn.receive_scope = scope  # shutdown() abandons a pending handshake
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError as exc:
                failure = _handshake_failure(exc)
            finally:
                conn.receive_scope = None
        if scope.cancelled_caught:
            if self._shutting_down:
                return "shutdown"
            failure = "handshake timeout"
        if failure is not None:
            self.port_status.handshake_failures += 1
            log.warning("tls handshake failed", reason=failure)
            return "handshake failed"
        cipher = stream.cipher()
        log.info(
            "tls established",
            tls_version=stream.version(),
            cipher=cipher[0] if cipher else None,
            client_subject=_client_subject(stream.getpeercert()),
        )
        return None

    async def _answer_concurrently(
        self,
        pending: list[tuple[int, Frame, int]],
        answers: list[bytes],
        log: structlog.typing.FilteringBoundLogger,
        id_prefix: str,
        lines: list[_RequestLine] | None,
    ) -> None:
        """Dispatch a batch's frames at once (a worker pool runs them side by side), each in its
        own task with its request id, and put each encoded answer at its index in `answers`:
        they still leave in request order. As the sequential loop: 41 for a dispatcher bug, one
        "request" line per frame, kept in `lines` (None: not logged) until the batch is sent.
        `pending` holds each frame's answer index and number on the connection."""
        error_at = self._header_len + 2

        async def answer(index: int, frame: Frame, seq: int) -> None:
            started = time.perf_counter_ns()
            try:
                message = await self._dispatcher.handle(frame)
                if len(message) > MAX_FRAME_LEN:
                    raise FrameTooLarge(len(message), MAX_FRAME_LEN)
            except Exception:  # logged with traceback
                log.exception("dispatcher failed", command=frame.command.decode("ascii", "replace"))
                message = frame.reply(b"41")
            if lines is not None:
                lines.append((seq, frame.command, message[error_at : error_at + 2], (time.perf_counter_ns() - started) // 1000))
            answers[index] = encode(message)

        if len(pending) == 1:
            index, frame, seq = pending[0]
            REQUEST_ID.set(id_prefix + str(seq))  # the caller resets it with the batch's first token
            await answer(index, frame, seq)
            return
        async with trio.open_nursery() as nursery:
            for index, frame, seq in pending:
                REQUEST_ID.set(id_prefix + str(seq))  # the task started next copies the context as it is now
                nursery.start_soon(answer, index, frame, seq)

    async def _serve_connection(self, conn: _Connection, log: structlog.typing.FilteringBoundLogger, unlogged: list[_RequestLine]) -> str:
        """The connection loop (see the module docstring); returns why it ended. The request lines
        of a batch are kept in `unlogged` until its answers are written."""
        stream = conn.stream
        dispatcher = self._dispatcher
        limits = self._limits
        status = self.port_status
        idle_timeout = limits.idle_timeout
        max_in_flight = limits.max_in_flight
        error_at = self._header_len + 2
        log_requests = log.is_enabled_for(logging.INFO)
        lines = unlogged if log_requests else None
        decoder = FrameDecoder(self._header_len, max_frame_len=limits.max_frame_len)
        id_prefix = f"{conn.id}-"
        seq = 0
        started = 0
        frame_deadline: float | None = None  # set while a partial frame is buffered
        while True:
            # Answer up to max_in_flight buffered frames, in order, without any I/O.
            answers: list[bytes] = []
            pending: list[tuple[int, Frame, int]] = []  # concurrent: (answer index, frame, its number)
            ended: str | None = None
            unbind: contextvars.Token[Any] | None = None
            while True:
                try:
                    event = decoder.next_event()
                except FrameTooLarge as exc:
                    log.warning("frame too large", length=exc.length, limit=exc.limit)
                    ended = "frame too large"
                    break
                if event is NEED_DATA:
                    break
                frame_deadline = None
                conn.in_flight += 1
                status.frames_received += 1
                seq += 1
                # Overwritten by the next frame; the batch's first token unbinds it after.
                if unbind is None:
                    unbind = REQUEST_ID.set(id_prefix + str(seq))
                else:
                    REQUEST_ID.set(id_prefix + str(seq))
                if log_requests:
                    started = time.perf_counter_ns()
                if isinstance(event, ShortFrame):
                    self.port_status.malformed += 1  # answered ZZ51/ZZ15, as on the UDP port
                    command = None
                    message = event.message
                elif self._concurrent:
                    # Dispatched with the rest of the batch, all at once, below.
                    pending.append((len(answers), event, seq))
                    answers.append(b"")
                    if len(answers) == max_in_flight:
                        break
                    continue
                else:
                    try:
                        message = await dispatcher.handle(event)
                        if len(message) > MAX_FRAME_LEN:
                            raise FrameTooLarge(len(message), MAX_FRAME_LEN)
                    except Exception:  # logged with traceback
                        # A dispatcher bug costs one request (error 41), not the connection.
                        log.exception("dispatcher failed", command=event.command.decode("ascii", "replace"))
                        message = event.reply(b"41")
                    command = event.command
                if lines is not None:
                    duration_us = (time.perf_counter_ns() - started) // 1000
                    lines.append((seq, command, message[error_at : error_at + 2], duration_us))
                answers.append(encode(message))
                if len(answers) == max_in_flight:
                    break
            if pending:
                await self._answer_concurrently(pending, answers, log, id_prefix, lines)
            if unbind is not None:
                REQUEST_ID.reset(unbind)

            # One cancel scope per round: it bounds the write of the answers (deadline
            # idle_timeout: "peer not reading") and then the next receive (idle_timeout, or
            # frame_timeout while a frame is partial).  shutdown() cancels it only while
            # receiving.  A write that waited for the peer restarts the idle clock after it.
            writing = in_frame = False
            with trio.CancelScope(relative_deadline=idle_timeout) as scope:
                if answers:
                    writing = True
                    try:
                        payload = answers[0] if len(answers) == 1 else b"".join(answers)
                        await stream.send_all(payload)
                        status.bytes_sent += len(payload)
                        status.frames_sent += len(answers)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return "connection lost"
                    finally:
                        if lines:
                            _log_requests(log, id_prefix, lines)
                    writing = False
                    conn.in_flight = 0
                    if ended is None and len(answers) == max_in_flight:
                        continue  # more complete frames may be buffered: answer them first
                if ended is not None:
                    return ended
                if self._shutting_down:
                    return "shutdown"
                in_frame = decoder.in_frame  # exact here: every complete frame is answered
                if in_frame:
                    if frame_deadline is None:
                        frame_deadline = trio.current_time() + limits.frame_timeout
                    scope.deadline = frame_deadline
                elif answers:
                    now = trio.current_time()
                    if now + idle_timeout - scope.deadline > _WRITE_SLACK:
                        scope.deadline = now + idle_timeout
                conn.receive_scope = scope
                try:
                    data = await stream.receive_some(_RECEIVE_SIZE)
                    status.bytes_received += len(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return "connection lost"
                finally:
                    conn.receive_scope = None
            if scope.cancelled_caught:
                if writing:
                    return "peer not reading"
                if self._shutting_down:
                    return "shutdown"
                return "frame timeout" if in_frame else "idle timeout"
            if not data:
                return "peer closed mid-frame" if in_frame else "peer closed"
            decoder.receive_data(data)
