"""The blocking client: a TCP (optionally TLS) connection, or a UDP socket.

``timeout`` bounds every wait on the network (connecting, each send and each receive), not a
whole call: a server that goes silent that long fails the call with :class:`Timeout` (and
:class:`ConnectFailed` while connecting); ``None`` waits for ever.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Final

from hsmd.client.codec import (
    DEFAULT_HEADER,
    DEFAULT_PORT,
    Answer,
    ClientProtocol,
    Request,
    address,
    answer_from_datagram,
    as_header,
    check_timeout,
    request_message,
    with_fields,
)
from hsmd.client.errors import ClientClosed, ConnectFailed, ConnectionLost, Timeout
from hsmd.protocol import NEED_DATA

__all__ = ["Client", "UdpClient", "connect", "connect_udp"]

_RECEIVE_SIZE: Final = 64 * 1024
# A pipeline goes out in windows, each window's answers read before the next is sent: with
# only one thread, a window must fit in the socket buffers, or client and server could each
# wait for the other to read (the server stops reading while its answers wait to be sent).
_WINDOW_BYTES: Final = 64 * 1024
_WINDOW_FRAMES: Final = 256
_DATAGRAM_SIZE: Final = 2 + 0xFFFF + 1  # more than any frame: a longer datagram is not truncated unseen


def connect(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    header: str | bytes = DEFAULT_HEADER,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout: float | None = 10.0,
) -> Client:
    """Connect over TCP, or TLS with ``tls`` (its certificate checks apply; the server's name
    is ``server_hostname``, default ``host``).  Raises :class:`ConnectFailed`."""
    header, timeout = as_header(header), check_timeout(timeout)  # before connecting
    where = address(host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise ConnectFailed(f"cannot connect to {where}: timed out") from None
    except OSError as exc:
        raise ConnectFailed(f"cannot connect to {where}: {exc.strerror or exc}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        try:
            sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
        except TimeoutError:
            sock.close()
            raise ConnectFailed(f"TLS handshake with {where}: timed out") from None
        except OSError as exc:  # ssl.SSLError included
            sock.close()
            raise ConnectFailed(f"TLS handshake with {where} failed: {exc}") from exc
    return Client(sock, header=header)


class Client:
    """Requests on one connection, answered in order.  Use as a context manager, or close it.

    Not for use by several threads at once.  Any error but a bad request (``ValueError``)
    closes the connection: answers still on their way could not be matched to requests.
    """

    def __init__(self, sock: socket.socket, *, header: str | bytes = DEFAULT_HEADER) -> None:
        self._sock: socket.socket | None = sock
        self._protocol = ClientProtocol(header)
        self._closed_by = "close()"

    @property
    def header(self) -> bytes:
        return self._protocol.header

    def call(self, request: Request, fields: str | bytes = b"") -> Answer:
        """Send one request and return its answer: ``call("NC")``, ``call("B2", "0005hello")``."""
        return self._exchange([with_fields(request, fields)])[0]

    def pipeline(self, requests: Iterable[Request]) -> list[Answer]:
        """Send many requests back to back; their answers, in request order."""
        return self._exchange(list(requests))

    def close(self) -> None:
        """Idempotent."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()

    def _exchange(self, requests: list[Request]) -> list[Answer]:
        sock = self._sock
        if sock is None:
            raise ClientClosed(f"the client was closed by {self._closed_by}")
        frames = self._protocol.send(requests)  # a bad request raises here, before any I/O
        answers: list[Answer] = []
        try:
            for window, count in _windows(frames):
                sock.sendall(window)
                self._receive(sock, answers, len(answers) + count)
        except BaseException as exc:
            self._closed_by = f"an earlier error ({type(exc).__name__})"
            self.close()
            if isinstance(exc, TimeoutError):
                raise Timeout(f"no answer within the timeout of {sock.gettimeout()} s") from None
            if isinstance(exc, OSError):  # reset, broken pipe, a TLS error
                raise ConnectionLost(f"the connection broke: {exc}") from exc
            raise
        return answers

    def _receive(self, sock: socket.socket, answers: list[Answer], until: int) -> None:
        protocol = self._protocol
        while len(answers) < until:
            answer = protocol.next_answer()
            if answer is NEED_DATA:
                data = sock.recv(_RECEIVE_SIZE)
                if not data:
                    raise ConnectionLost(f"the server closed the connection with {protocol.pending} answers missing")
                protocol.receive_data(data)
            else:
                answers.append(answer)


def _windows(frames: list[bytes]) -> Iterator[tuple[bytes, int]]:
    """The frames joined into writes of at most a window each (one frame at least), with
    the number of frames in each."""
    start = size = 0
    for index, frame in enumerate(frames):
        if index > start and (size + len(frame) > _WINDOW_BYTES or index - start == _WINDOW_FRAMES):
            yield b"".join(frames[start:index]), index - start
            start, size = index, 0
        size += len(frame)
    if start < len(frames):
        yield b"".join(frames[start:]), len(frames) - start


def connect_udp(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    header: str | bytes = DEFAULT_HEADER,
    timeout: float | None = 10.0,
) -> UdpClient:
    """A UDP socket bound to ``host:port``: only its datagrams are received."""
    header, timeout = as_header(header), check_timeout(timeout)
    where = address(host, port)
    try:
        family, kind, proto, _, peer = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConnectFailed(f"cannot reach {where}: {exc.strerror or exc}") from exc
    try:
        sock.connect(peer)
    except OSError as exc:
        sock.close()
        raise ConnectFailed(f"cannot reach {where}: {exc.strerror or exc}") from exc
    sock.settimeout(timeout)
    return UdpClient(sock, header=header, where=where)


class UdpClient:
    """One request per datagram, one answer per datagram.

    UDP may lose a datagram: a lost request or answer is a :class:`Timeout`, after which the
    client stays usable (an answer arriving late is discarded before the next request).  A
    late answer arriving during the next call's wait cannot be told from that call's answer
    unless their headers (or commands) differ.
    """

    def __init__(self, sock: socket.socket, *, header: str | bytes = DEFAULT_HEADER, where: str = "the server") -> None:
        self._sock: socket.socket | None = sock
        self._header = as_header(header)
        self._where = where

    @property
    def header(self) -> bytes:
        return self._header

    def call(self, request: Request, fields: str | bytes = b"") -> Answer:
        sock = self._sock
        if sock is None:
            raise ClientClosed("the client was closed by close()")
        data, sent = request_message(self._header, with_fields(request, fields))
        self._discard_late_answers(sock)
        try:
            sock.send(data)
            datagram = sock.recv(_DATAGRAM_SIZE)
        except TimeoutError:
            raise Timeout(f"no answer from {self._where} within the timeout of {sock.gettimeout()} s") from None
        except ConnectionRefusedError as exc:  # an ICMP port unreachable for an earlier datagram
            raise ConnectFailed(f"nothing listens on UDP {self._where}") from exc
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:  # a frame holds 65535 bytes, an IPv4 datagram 65507
                raise ValueError(f"a request of {len(data)} bytes does not fit in one UDP datagram") from None
            raise ConnectionLost(f"UDP {self._where}: {exc.strerror or exc}") from exc
        return answer_from_datagram(datagram, sent)

    def close(self) -> None:
        """Idempotent."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> UdpClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()

    @staticmethod
    def _discard_late_answers(sock: socket.socket) -> None:
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            while True:
                sock.recv(_DATAGRAM_SIZE)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        finally:
            sock.settimeout(timeout)
