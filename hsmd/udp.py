"""The UDP host port: one request frame per datagram, one answer datagram to its sender.

A datagram is decoded by :func:`hsmd.protocol.parse_datagram` and then treated as that
frame would be on TCP (same header length, dispatcher, request ids and "request" line)::

    datagram                                          outcome                       counted as
    exactly one frame (prefix = bytes after it)       dispatched, answered          datagrams
    one frame shorter than the header                 answered <payload+spaces>ZZ51 datagrams, malformed
    one frame holding the header, not the command     answered <header>ZZ15         datagrams, malformed
    empty, 1 byte, prefix > rest (truncated frame),   dropped: no answer            datagrams, malformed
      prefix < rest (bytes after the frame, e.g.
      two frames in one datagram)

A datagram that is not exactly one frame is dropped because there is no frame to answer:
which bytes are the header is unknown, and a guess would answer garbage (or a forged
sender) with more garbage.  A dropped datagram is logged as "malformed datagram" (peer,
reason, sizes; never its bytes), at most one line per second per port; the next line
carries ``suppressed``, the lines left out since.  An answered short frame gets its
"request" line (``command`` None), like every answered datagram.  An answer the kernel refuses to
send (e.g. to an unreachable sender) is logged as "answer not sent", limited the same way.

An answer longer than a frame can be (65535 bytes), or than the socket can send as one
datagram (EMSGSIZE), is replaced by the request's error 41 answer, as on TCP.

One task per socket answers datagrams one at a time: an in-process dispatcher runs plugins
synchronously, so more tasks would not answer sooner.  With a worker pool (``concurrent`` >
1, hsmd.workers) up to that many datagrams per socket are answered side by side, each in a
task of its own, so a slow request does not hold up the next datagram.  The kernel's receive
buffer is the only queue (bounded; the kernel drops what does not fit), each datagram costs one bounded
decode and at most one dispatch, and every receive is a trio checkpoint, so a flood of
garbage takes turns with the TCP connections instead of starving them.  :meth:`shutdown`
stops receiving; a datagram being answered is answered first.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import structlog
import trio

from hsmd.host.status import PortStatus
from hsmd.logging import REQUEST_ID
from hsmd.protocol import MAX_FRAME_LEN, BadDatagram, Frame, FrameDecoder, FrameTooLarge, ShortFrame, encode, parse_datagram
from hsmd.server import Dispatcher, new_conn_id

__all__ = ["LogLimiter", "UdpServer", "open_udp_sockets"]

# One more than the largest frame (2 + 65535): a bigger datagram is cut to this size by the
# kernel, which parse_datagram then sees as "bytes after the frame".
_RECEIVE_SIZE: Final = MAX_FRAME_LEN + 3
_RETRY_DELAY: Final = 0.1  # after a receive error (e.g. ENOBUFS), so an error cannot spin


class LogLimiter:
    """Allows one log line per ``interval`` seconds and counts the ones it held back."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._next = -float("inf")
        self.suppressed = 0

    def allow(self) -> int | None:
        """The number of lines suppressed since the last allowed one, or None to suppress this one."""
        now = self._clock()
        if now < self._next:
            self.suppressed += 1
            return None
        self._next = now + self._interval
        held, self.suppressed = self.suppressed, 0
        return held


def _peer(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def open_udp_sockets(host: str, port: int) -> list[trio.socket.SocketType]:
    """Bound datagram sockets for every address ``host`` resolves to, as trio's TCP listeners do."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    sockets: list[trio.socket.SocketType] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = trio.socket.socket(family, kind, proto)
            sockets.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            await sock.bind(address)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class UdpServer:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        header_len: int,
        log: structlog.typing.FilteringBoundLogger | None = None,
        port_status: PortStatus | None = None,
        log_interval: float = 1.0,
        concurrent: int = 1,
    ) -> None:
        """`concurrent`: datagrams answered at once per socket (more than 1 only for a worker
        pool, hsmd.workers: an in-process dispatcher runs one plugin call at a time anyway)."""
        if concurrent < 1:
            raise ValueError("concurrent must be at least 1")
        FrameDecoder(header_len)  # validates header_len here rather than per datagram
        self.port_status = port_status if port_status is not None else PortStatus("udp", "", 0)
        self._dispatcher = dispatcher
        self._header_len = header_len
        self._log: structlog.typing.FilteringBoundLogger = log if log is not None else structlog.get_logger("hsmd.udp")
        self._malformed_log = LogLimiter(log_interval)
        self._unsent_log = LogLimiter(log_interval)
        self._receive_scopes: set[trio.CancelScope] = set()
        self._answering = 0
        self._concurrent = concurrent
        self._shutting_down = False

    @property
    def in_flight(self) -> int:
        """Datagrams received and not answered yet (at most `concurrent` per socket)."""
        return self._answering

    def shutdown(self) -> None:
        """Stop receiving; a datagram being answered is answered first.  Idempotent."""
        self._shutting_down = True
        for scope in self._receive_scopes:
            scope.cancel()

    async def serve(
        self,
        sockets: Sequence[trio.socket.SocketType],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Answer datagrams on bound ``sockets`` until :meth:`shutdown`; closes them on return."""
        try:
            async with trio.open_nursery() as nursery:
                for sock in sockets:
                    nursery.start_soon(self._serve_socket, sock)
                task_status.started()
        finally:
            for sock in sockets:
                sock.close()
        self._log.info("stopped")

    async def _serve_socket(self, sock: trio.socket.SocketType) -> None:
        # Like a TCP connection: one conn_id per socket, request ids f"{conn_id}-{seq}".
        conn_id = new_conn_id()
        structlog.contextvars.bind_contextvars(conn_id=conn_id)
        log = self._log.bind()
        id_prefix = f"{conn_id}-"
        seq = 0
        # At most `concurrent` datagrams answered at once; the kernel's receive buffer queues the rest.
        slots = trio.Semaphore(self._concurrent)
        async with trio.open_nursery() as answering:
            while not self._shutting_down:
                await slots.acquire()
                if self._shutting_down:
                    slots.release()
                    break
                with trio.CancelScope() as scope:
                    self._receive_scopes.add(scope)
                    try:
                        datagram, address = await sock.recvfrom(_RECEIVE_SIZE)
                    except OSError as exc:
                        slots.release()
                        log.error("receive failed", error=exc.strerror or str(exc))
                        await trio.sleep(_RETRY_DELAY)
                        continue
                    finally:
                        self._receive_scopes.discard(scope)
                if scope.cancelled_caught:
                    slots.release()
                    break
                seq += 1
                token = REQUEST_ID.set(id_prefix + str(seq))
                try:
                    if self._concurrent == 1:
                        await self._answer_datagram(sock, datagram, address, log, slots)
                    else:  # the task copies the context, request id included, as it is now
                        answering.start_soon(self._answer_datagram, sock, datagram, address, log, slots)
                finally:
                    REQUEST_ID.reset(token)

    async def _answer_datagram(
        self, sock: trio.socket.SocketType, datagram: bytes, address: Any, log: structlog.typing.FilteringBoundLogger, slot: trio.Semaphore
    ) -> None:
        self._answering += 1
        try:
            await self._answer(sock, datagram, address, log)
        except Exception:  # logged with traceback
            # A bug in this module must cost one datagram, not the port.
            log.exception("datagram failed", peer=_peer(address))
        finally:
            self._answering -= 1
            slot.release()

    async def _answer(
        self, sock: trio.socket.SocketType, datagram: bytes, address: Any, log: structlog.typing.FilteringBoundLogger
    ) -> None:
        status = self.port_status
        status.datagrams += 1
        status.last_datagram = time.monotonic()
        status.bytes_received += len(datagram)
        event = parse_datagram(datagram, self._header_len)
        if isinstance(event, BadDatagram):
            status.malformed += 1
            held = self._malformed_log.allow()
            if held is not None:
                log.warning(
                    "malformed datagram", peer=_peer(address), reason=event.reason, size=event.size, length=event.length, suppressed=held
                )
            return
        started = time.perf_counter_ns()
        command: str | None = None
        status.frames_received += 1
        if isinstance(event, ShortFrame):
            status.malformed += 1
            message = event.message
        else:
            command = event.command.decode("ascii", "replace")
            try:
                message = await self._dispatcher.handle(event)
                if len(message) > MAX_FRAME_LEN:
                    raise FrameTooLarge(len(message), MAX_FRAME_LEN)
            except Exception:  # logged with traceback
                # A dispatcher bug costs one request (error 41), as on TCP.
                log.exception("dispatcher failed", command=command)
                message = event.reply(b"41")
        duration_us = (time.perf_counter_ns() - started) // 1000
        error = await self._send(sock, message, address)
        if error == errno.EMSGSIZE and isinstance(event, Frame):
            message = event.reply(b"41")
            error = await self._send(sock, message, address)
        if error is None:
            status.bytes_sent += len(message) + 2
            status.frames_sent += 1
        if error is not None and (held := self._unsent_log.allow()) is not None:
            log.warning("answer not sent", peer=_peer(address), error=os.strerror(error), suppressed=held)
        if log.is_enabled_for(logging.INFO):
            error_at = self._header_len + 2
            log.info(
                "request",
                peer=_peer(address),
                command=command,
                error_code=message[error_at : error_at + 2].decode("ascii", "replace"),
                duration_us=duration_us,
            )

    @staticmethod
    async def _send(sock: trio.socket.SocketType, message: bytes, address: Any) -> int | None:
        """Send one answer datagram; the errno if the kernel refused it."""
        try:
            await sock.sendto(encode(message), address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return None
