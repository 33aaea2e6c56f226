"""Trio adapter around :mod:`hsmd.protocol`: sockets, concurrency and limits, nothing else.

Each connection runs a reader task (stream -> :class:`FrameDecoder` -> bounded channel) and a
writer task (channel -> dispatcher -> stream), so answers leave strictly in request order
while the next requests are already being parsed.  At most ``max_in_flight`` frames per
connection are parsed but unanswered; beyond that the reader stops reading (backpressure).

A connection ends for one of these reasons, always logged on the "connection closed" line:
``peer closed``, ``peer closed mid-frame``, ``idle timeout``, ``frame timeout`` (slow
sender), ``frame too large``, ``peer not reading`` (an answer could not be sent within
``idle_timeout``), ``connection lost``, ``shutdown``, ``internal error`` or ``cancelled``
(the server task itself was cancelled).  Unless the connection broke (lost, not reading,
internal error, cancelled), every frame already received completely is answered first.
"""

from __future__ import annotations

import errno
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import structlog
import trio

from hsmd.protocol import (
    MAX_FRAME_LEN,
    NEED_DATA,
    Frame,
    FrameDecoder,
    FrameTooLarge,
    ShortFrame,
    encode,
)

__all__ = ["Dispatcher", "Limits", "Server"]

_RECEIVE_SIZE: Final = 64 * 1024
# accept() errors that mean "out of resources right now": wait and retry instead of dying.
_ACCEPT_RETRY_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_DELAY: Final = 0.1
# Per-process connection ids: request ids are f"{conn_id}-{seq}", unique per process.
_conn_ids = itertools.count(1)


class Dispatcher(Protocol):
    """Turns a request frame into its complete answer message (no length prefix).

    Must not raise for bad input (answer with a payShield error code instead); an exception
    is treated as a bug, logged, and answered with error 41.
    """

    async def handle(self, frame: Frame) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 256
    idle_timeout: float = 300.0  # no frame in progress and nothing in flight -> close
    frame_timeout: float = 5.0  # rest of a started frame must arrive within this -> close
    max_in_flight: int = 32  # parsed but unanswered frames per connection (backpressure)
    max_frame_len: int = MAX_FRAME_LEN

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_in_flight < 1:
            raise ValueError("max_connections and max_in_flight must be at least 1")
        if self.idle_timeout <= 0 or self.frame_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if not 0 <= self.max_frame_len <= MAX_FRAME_LEN:
            raise ValueError(f"max_frame_len must be 0-{MAX_FRAME_LEN}")


class _Connection:
    """Mutable per-connection state shared by its reader and writer tasks."""

    def __init__(self, stream: trio.abc.Stream, limits: Limits) -> None:
        self.id = str(next(_conn_ids))
        self.stream = stream
        self.peer = _peer_name(stream)
        self.limits = limits
        self.read_scope = trio.CancelScope()  # cancelled by Server.shutdown()
        self.receive_scope: trio.CancelScope | None = None  # around the current receive
        self.slots = trio.Semaphore(limits.max_in_flight)
        self.in_flight = 0
        self.idle_since = trio.current_time()
        self.frame_deadline: float | None = None
        self.reason: str | None = None
        self.seq = itertools.count(1)

    def close_because(self, reason: str) -> None:
        if self.reason is None:  # the first cause wins; later ones are consequences
            self.reason = reason

    def receive_deadline(self) -> float:
        if self.frame_deadline is not None:
            return self.frame_deadline
        if self.in_flight:
            return math.inf  # waiting on us, not on the peer: not idle
        return self.idle_since + self.limits.idle_timeout

    def answered(self) -> None:
        self.in_flight -= 1
        self.slots.release()
        if self.in_flight == 0:
            self.idle_since = trio.current_time()
            if self.receive_scope is not None:
                self.receive_scope.deadline = self.receive_deadline()


def _peer_name(stream: trio.abc.Stream) -> str:
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


class Server:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        header_len: int,
        limits: Limits,
        log: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        FrameDecoder(header_len)  # validates header_len here rather than per connection
        self._dispatcher = dispatcher
        self._header_len = header_len
        self._limits = limits
        self._log: structlog.typing.FilteringBoundLogger = log if log is not None else structlog.get_logger("hsmd.server")
        self._connections: set[_Connection] = set()
        self._accept_scope: trio.CancelScope | None = None
        self._shutting_down = False

    @property
    def active_connections(self) -> int:
        return len(self._connections)

    @property
    def in_flight(self) -> int:
        """Frames parsed but not yet answered, over all connections."""
        return sum(conn.in_flight for conn in self._connections)

    async def serve(
        self,
        host: str,
        port: int,
        *,
        task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` (port 0 picks one); returns once shutdown has drained.

        ``task_status.started()`` receives the bound ``(host, port)`` addresses.
        """
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = [(str(addr[0]), int(addr[1])) for addr in (listener.socket.getsockname() for listener in listeners)]
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
        """Stop accepting; connections answer every frame already received, then close.

        Idempotent; may be called before or while serving, from trio context.
        """
        self._shutting_down = True
        if self._accept_scope is not None:
            self._accept_scope.cancel()
        for conn in self._connections:
            conn.read_scope.cancel()

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
            conn = _Connection(stream, self._limits)
            # Registered before the task starts so a burst of accepts cannot overshoot the
            # limit and shutdown() reaches connections whose task has not run yet.
            self._connections.add(conn)
            if self._shutting_down:
                conn.read_scope.cancel()
            connections.start_soon(self._connection, conn)

    async def _connection(self, conn: _Connection) -> None:
        structlog.contextvars.bind_contextvars(conn_id=conn.id, peer=conn.peer)
        self._log.info("connection open")
        try:
            async with trio.open_nursery() as nursery:
                send, receive = trio.open_memory_channel[Frame | ShortFrame](self._limits.max_in_flight)
                nursery.start_soon(self._reader, conn, send)
                nursery.start_soon(self._writer, conn, receive, nursery.cancel_scope)
        except Exception:  # noqa: BLE001 - logged with traceback, see below
            # A bug in this module must cost one connection, not the server.
            conn.close_because("internal error")
            self._log.exception("connection failed")
        finally:
            self._connections.discard(conn)
            await trio.aclose_forcefully(conn.stream)
            self._log.info("connection closed", reason=conn.reason or "cancelled")

    async def _reader(
        self,
        conn: _Connection,
        send: trio.MemorySendChannel[Frame | ShortFrame],
    ) -> None:
        decoder = FrameDecoder(self._header_len, max_frame_len=self._limits.max_frame_len)
        async with send:
            with conn.read_scope:
                conn.close_because(await self._read_frames(conn, decoder, send))
            if conn.read_scope.cancelled_caught:
                conn.close_because("shutdown")
                # Frames already received completely are owed an answer even on shutdown.
                try:
                    while True:
                        await conn.slots.acquire()
                        event = decoder.next_event()
                        if event is NEED_DATA:
                            break
                        self._forward(conn, send, event)
                except FrameTooLarge:
                    pass

    async def _read_frames(
        self,
        conn: _Connection,
        decoder: FrameDecoder,
        send: trio.MemorySendChannel[Frame | ShortFrame],
    ) -> str:
        """Feed the decoder until the connection should stop reading; return why."""
        while True:
            # Take the in-flight slot before parsing, so exactly max_in_flight frames can be
            # parsed and unanswered; while waiting here nothing is read from the peer.
            await conn.slots.acquire()
            while True:
                try:
                    event = decoder.next_event()
                except FrameTooLarge as exc:
                    self._log.warning("frame too large", length=exc.length, limit=exc.limit)
                    return "frame too large"
                if event is not NEED_DATA:
                    break
                if decoder.in_frame and conn.frame_deadline is None:
                    conn.frame_deadline = trio.current_time() + self._limits.frame_timeout
                with trio.CancelScope(deadline=conn.receive_deadline()) as scope:
                    conn.receive_scope = scope
                    try:
                        data = await conn.stream.receive_some(_RECEIVE_SIZE)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return "connection lost"
                    finally:
                        conn.receive_scope = None
                if scope.cancelled_caught:
                    return "frame timeout" if conn.frame_deadline is not None else "idle timeout"
                if not data:
                    return "peer closed mid-frame" if decoder.in_frame else "peer closed"
                decoder.receive_data(data)
            conn.frame_deadline = None
            self._forward(conn, send, event)

    def _forward(
        self,
        conn: _Connection,
        send: trio.MemorySendChannel[Frame | ShortFrame],
        event: Frame | ShortFrame,
    ) -> None:
        conn.in_flight += 1
        # Never blocks (the slot guarantees room) and, unlike send(), has no checkpoint
        # where a shutdown cancel could drop a frame that was already received.
        send.send_nowait(event)

    async def _writer(
        self,
        conn: _Connection,
        receive: trio.MemoryReceiveChannel[Frame | ShortFrame],
        connection_scope: trio.CancelScope,
    ) -> None:
        async with receive:
            async for event in receive:
                wire = await self._answer(conn, event)
                with trio.move_on_after(self._limits.idle_timeout) as scope:
                    try:
                        await conn.stream.send_all(wire)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        conn.close_because("connection lost")
                        connection_scope.cancel()
                        return
                if scope.cancelled_caught:
                    conn.close_because("peer not reading")
                    connection_scope.cancel()
                    return
                conn.answered()

    async def _answer(self, conn: _Connection, event: Frame | ShortFrame) -> bytes:
        """Dispatch one event, log its request line, and return the encoded answer."""
        request_id = f"{conn.id}-{next(conn.seq)}"
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            started = trio.current_time()
            if isinstance(event, ShortFrame):
                command = None
                message = event.message
            else:
                command = event.command.decode("ascii", "replace")
                message = await self._dispatch(event, command)
            error_at = self._header_len + 2
            self._log.info(
                "request",
                command=command,
                error_code=message[error_at : error_at + 2].decode("ascii", "replace"),
                duration_us=int((trio.current_time() - started) * 1_000_000),
            )
            return encode(message)

    async def _dispatch(self, frame: Frame, command: str) -> bytes:
        try:
            message = await self._dispatcher.handle(frame)
            if len(message) > MAX_FRAME_LEN:
                raise FrameTooLarge(len(message), MAX_FRAME_LEN)
        except Exception:  # noqa: BLE001 - logged with traceback, see below
            # A dispatcher bug costs one request (error 41), not the connection or server.
            self._log.exception("dispatcher failed", command=command)
            return frame.reply(b"41")
        return message
