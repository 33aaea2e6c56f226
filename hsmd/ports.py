"""The host ports of a running unit: TCP always, TLS and UDP when enabled.

Every port is bound by :func:`open_host_ports` before anything is served, so a busy or
forbidden address stops start-up with one line naming the port (`PortError`), and "ready"
can mean "every port listens".  Each port's log lines carry ``listener`` ("tcp", "tls" or
"udp").  All ports share the dispatcher, the header length and the
connection limits of ``[server]``; each has its own :class:`PortStatus`.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
import trio

from hsmd.config import Config
from hsmd.host.status import PortStatus
from hsmd.server import Dispatcher, Limits, Server
from hsmd.tls import tls_listener
from hsmd.udp import UdpServer, open_udp_sockets

__all__ = ["HostPort", "PortError", "open_host_ports"]


class PortError(Exception):
    """A port cannot be bound; ``str()`` is one line for the operator."""


@dataclass(eq=False)
class HostPort:
    """One bound port (all the addresses its host resolved to), ready to serve."""

    status: PortStatus
    addresses: list[tuple[str, int]]
    server: Server | UdpServer
    listeners: Sequence[trio.abc.Listener[trio.abc.Stream]] = ()
    sockets: Sequence[trio.socket.SocketType] = ()

    @property
    def in_flight(self) -> int:
        return self.server.in_flight

    def shutdown(self) -> None:
        self.server.shutdown()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until shutdown has drained; closes the port's sockets."""
        if isinstance(self.server, UdpServer):
            await self.server.serve(self.sockets, task_status=task_status)
        else:
            await self.server.serve_listeners(self.listeners, task_status=task_status)

    def close(self) -> None:
        """Release the sockets of a port that will not be served (start-up failed later)."""
        for listener in self.listeners:
            inner = listener.transport_listener if isinstance(listener, trio.SSLListener) else listener
            if isinstance(inner, trio.SocketListener):
                inner.socket.close()
        for sock in self.sockets:
            sock.close()


def _address(sockname: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    return str(sockname[0]), int(sockname[1])


async def open_host_ports(
    config: Config, dispatcher: Dispatcher, limits: Limits, tls: ssl.SSLContext | None, *, concurrent: bool = False
) -> list[HostPort]:
    """Bind every enabled port (TCP first); `PortError` if one cannot be, with none left bound.

    `concurrent`: the dispatcher is a worker pool; the ports dispatch side by side (up to
    `limits.max_in_flight` frames per connection or per UDP socket)."""
    header_len = config.server.header_len
    ports: list[HostPort] = []
    try:
        server = config.server
        ports.append(await _stream_port("server", server.host, server.port, dispatcher, header_len, limits, None, concurrent))
        if tls is not None:
            ports.append(await _stream_port("tls", config.tls.host, config.tls.port, dispatcher, header_len, limits, tls, concurrent))
        if config.udp.enabled:
            host, port = config.udp.host, config.udp.port
            try:
                sockets = await open_udp_sockets(host, port)
            except OSError as exc:
                raise PortError(f"udp: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            status = PortStatus("udp", *_address(sockets[0].getsockname()))
            log = structlog.get_logger("hsmd.udp").bind(listener="udp")
            udp = UdpServer(
                dispatcher, header_len=header_len, log=log, port_status=status, concurrent=limits.max_in_flight if concurrent else 1
            )
            ports.append(HostPort(status, [_address(s.getsockname()) for s in sockets], udp, sockets=sockets))
    except BaseException:
        for opened in ports:
            opened.close()
        raise
    return ports


async def _stream_port(
    section: str,
    host: str,
    port: int,
    dispatcher: Dispatcher,
    header_len: int,
    limits: Limits,
    tls: ssl.SSLContext | None,
    concurrent: bool,
) -> HostPort:
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise PortError(f"{section}: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    addresses = [_address(listener.socket.getsockname()) for listener in listeners]
    status = PortStatus("tls" if tls is not None else "tcp", *addresses[0])
    # Every line of this port's connections says which port it is.
    log = structlog.get_logger("hsmd.server").bind(listener=status.kind)
    server = Server(dispatcher, header_len=header_len, limits=limits, log=log, port_status=status, concurrent=concurrent)
    serving: list[trio.abc.Listener[trio.abc.Stream]] = list(listeners)
    if tls is not None:
        serving = [tls_listener(listener, tls) for listener in listeners]
    return HostPort(status, addresses, server, listeners=serving)
