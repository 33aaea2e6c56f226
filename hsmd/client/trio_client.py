"""The trio client: the blocking client's shape, on any ``trio.abc.Stream`` (TCP, TLS, memory).

``timeout`` bounds every wait on the network (connecting with its TLS handshake, each send and
each receive), as in :mod:`hsmd.client.blocking`.  Tasks may share a client: calls take turns.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Iterable
from types import TracebackType
from typing import Final

import trio

from hsmd.client.codec import DEFAULT_HEADER, DEFAULT_PORT, Answer, ClientProtocol, Request, address, as_header, check_timeout, with_fields
from hsmd.client.errors import ClientClosed, ClientError, ConnectFailed, ConnectionLost, Timeout
from hsmd.protocol import NEED_DATA

__all__ = ["TrioClient", "open_trio"]

_RECEIVE_SIZE: Final = 64 * 1024


async def open_trio(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    header: str | bytes = DEFAULT_HEADER,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout: float | None = 10.0,
) -> TrioClient:
    """Connect over TCP, or TLS with ``tls`` (handshake included).  Raises :class:`ConnectFailed`.

    ``async with await open_trio(...) as client: ...``
    """
    header, timeout = as_header(header), check_timeout(timeout)  # before connecting
    where = address(host, port)
    try:
        with trio.fail_after(math.inf if timeout is None else timeout):
            stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
            if tls is not None:
                stream = trio.SSLStream(stream, tls, server_hostname=server_hostname or host)
                try:
                    await stream.do_handshake()
                except BaseException:
                    await trio.aclose_forcefully(stream)
                    raise
    except trio.TooSlowError:
        raise ConnectFailed(f"cannot connect to {where}: timed out") from None
    except trio.BrokenResourceError as exc:  # the TLS handshake failed; its cause is the ssl error
        raise ConnectFailed(f"TLS handshake with {where} failed: {exc.__cause__ or exc}") from exc
    except OSError as exc:
        raise ConnectFailed(f"cannot connect to {where}: {exc.strerror or exc}") from exc
    return TrioClient(stream, header=header, timeout=timeout)


class TrioClient:
    """Requests on one stream, answered in order.  ``async with`` it, or :meth:`aclose` it.

    Any error but a bad request (``ValueError``), and a cancellation in the middle of a call,
    close the stream: answers still on their way could not be matched to requests.
    """

    def __init__(self, stream: trio.abc.Stream, *, header: str | bytes = DEFAULT_HEADER, timeout: float | None = 10.0) -> None:
        self._stream: trio.abc.Stream | None = stream
        self._protocol = ClientProtocol(header)
        checked = check_timeout(timeout)
        self._timeout = math.inf if checked is None else checked
        self._turn = trio.Lock()
        self._closed_by = "aclose()"

    @property
    def header(self) -> bytes:
        return self._protocol.header

    async def call(self, request: Request, fields: str | bytes = b"") -> Answer:
        """Send one request and return its answer: ``await call("B2", "0005hello")``."""
        return (await self._exchange([with_fields(request, fields)]))[0]

    async def pipeline(self, requests: Iterable[Request]) -> list[Answer]:
        """Send many requests in one write while reading their answers; the answers, in order."""
        return await self._exchange(list(requests))

    async def aclose(self) -> None:
        """Idempotent."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await trio.aclose_forcefully(stream)

    async def __aenter__(self) -> TrioClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        await self.aclose()

    async def _exchange(self, requests: list[Request]) -> list[Answer]:
        async with self._turn:
            stream = self._stream
            if stream is None:
                raise ClientClosed(f"the client was closed by {self._closed_by}")
            data = b"".join(self._protocol.send(requests))  # a bad request raises here, before any I/O
            answers: list[Answer] = []
            done = False
            try:
                if len(requests) == 1:
                    await self._send(stream, data)
                    await self._receive(stream, answers)
                else:
                    await self._send_while_receiving(stream, data, answers)
                done = True
            finally:
                if not done:
                    self._closed_by = "an earlier error or cancellation"
                    await self.aclose()
        return answers

    async def _send_while_receiving(self, stream: trio.abc.Stream, data: bytes, answers: list[Answer]) -> None:
        # The server stops reading while its answers wait to be read: read while sending.
        # Each side keeps its error rather than raising it through the nursery (which would
        # wrap it in an exception group), and stops the other.
        failures: list[ClientError] = []

        async def run(side: str) -> None:
            try:
                if side == "send":
                    await self._send(stream, data)
                else:
                    await self._receive(stream, answers)
            except ClientError as exc:
                failures.append(exc)
                nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "send")
            nursery.start_soon(run, "receive")
        if failures:
            raise failures[0]

    async def _send(self, stream: trio.abc.Stream, data: bytes) -> None:
        try:
            with trio.fail_after(self._timeout):
                await stream.send_all(data)
        except trio.TooSlowError:
            raise Timeout(f"the server took no request within the timeout of {self._timeout} s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ConnectionLost(f"the connection broke: {exc.__cause__ or exc}") from exc

    async def _receive(self, stream: trio.abc.Stream, answers: list[Answer]) -> None:
        protocol = self._protocol
        while protocol.pending:
            answer = protocol.next_answer()
            if answer is not NEED_DATA:
                answers.append(answer)
                continue
            try:
                with trio.fail_after(self._timeout):
                    data = await stream.receive_some(_RECEIVE_SIZE)
            except trio.TooSlowError:
                raise Timeout(f"no answer within the timeout of {self._timeout} s") from None
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ConnectionLost(f"the connection broke: {exc.__cause__ or exc}") from exc
            if not data:
                raise ConnectionLost(f"the server closed the connection with {protocol.pending} answers missing")
            protocol.receive_data(data)
