"""Fake payShield-protocol servers for the client tests: hsmd.server.Server with a fake
dispatcher on a real TCP (or TLS) port, and a tiny UDP responder."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from hsmd.protocol import Frame, encode, parse_datagram
from hsmd.server import Limits, Server


@dataclass
class FakeDispatcher:
    """Echoes the fields with error 00; some commands answer otherwise on purpose.

    ``ER`` answers error 15, ``HX`` with another header, ``RC`` with another response code,
    ``SH`` with no error code, ``WT`` only once ``release`` is set.
    """

    release: trio.Event = field(default_factory=trio.Event)

    async def handle(self, frame: Frame) -> bytes:
        if frame.command == b"ER":
            return frame.reply(b"15")
        if frame.command == b"HX":
            return b"X" * len(frame.header) + b"HY00"
        if frame.command == b"RC":
            return frame.header + b"ZZ00"
        if frame.command == b"SH":
            return frame.header + b"SI"
        if frame.command == b"WT":
            await self.release.wait()
        return frame.reply(b"00", frame.body)


@asynccontextmanager
async def serving(*, header_len: int = 4, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """hsmd.server.Server with a FakeDispatcher on 127.0.0.1 (TLS with ``tls``); yields the port."""
    dispatcher = FakeDispatcher()
    server = Server(dispatcher, header_len=header_len, limits=Limits())
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = int(listeners[0].socket.getsockname()[1])
    wrapped: list[trio.abc.Listener[trio.abc.Stream]] = list(listeners)
    if tls is not None:
        wrapped = [trio.SSLListener(listener, tls, https_compatible=False) for listener in listeners]
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, wrapped)
        try:
            yield port
        finally:
            dispatcher.release.set()
            server.shutdown()


@dataclass
class Responder:
    """A UDP responder: echoes fields with 00, drops ``DR`` (keeping its answer in ``late``),
    answers ``BD`` with a truncated frame."""

    port: int = 0
    late: list[tuple[bytes, tuple[str, int]]] = field(default_factory=list)


@asynccontextmanager
async def udp_responder() -> AsyncIterator[tuple[Responder, trio.socket.SocketType]]:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    responder = Responder(sock.getsockname()[1])

    async def respond() -> None:
        while True:
            datagram, peer = await sock.recvfrom(70000)
            frame = parse_datagram(datagram, 4)
            assert isinstance(frame, Frame)
            answer = encode(frame.reply(b"00", frame.body))
            if frame.command == b"DR":
                responder.late.append((answer, peer))
            elif frame.command == b"BD":
                await sock.sendto(answer[:-1], peer)
            else:
                await sock.sendto(answer, peer)

    with sock:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(respond)
            yield responder, sock
            nursery.cancel_scope.cancel()


def closed_port(kind: socket.SocketKind) -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
