"""The UDP host port (hsmd.udp) over real datagram sockets on localhost, with a fake dispatcher.

"Dropped" is observed without waiting for silence: the server answers one datagram at a
time, in arrival order, so when a bad datagram is followed by a good one from the same
client, the first answer that client receives is the good one's.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import structlog
import trio
from structlog.testing import capture_logs
from structlog.typing import EventDict

from hsmd.host.status import PortStatus
from hsmd.protocol import Frame, encode
from hsmd.udp import LogLimiter, UdpServer, open_udp_sockets

TIMEOUT = 10.0
NC = encode(b"HEADNC")
NC_ANSWER = encode(b"HEADND00")


class FakeDispatcher:
    """Echoes the body with error 00. ``XX`` raises, ``BG`` answers more than a frame holds,
    ``HG`` answers more than one IPv4 datagram holds, and ``GT`` waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = trio.Event()
        self.calls: list[Frame] = []

    async def handle(self, frame: Frame) -> bytes:
        self.calls.append(frame)
        if frame.command == b"XX":
            raise RuntimeError("dispatcher bug")
        if frame.command == b"BG":
            return frame.reply(b"00", b"x" * 65535)
        if frame.command == b"HG":
            return frame.reply(b"00", b"x" * 65500)
        if frame.command == b"GT":
            await self.gate.wait()
        return frame.reply(b"00", frame.body)


@dataclass
class UdpPort:
    server: UdpServer
    status: PortStatus
    address: tuple[str, int]

    async def client(self) -> Client:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        await sock.bind(("127.0.0.1", 0))
        return Client(sock, self.address)

    async def wait_for_datagrams(self, count: int) -> None:
        with trio.fail_after(TIMEOUT):
            while self.status.datagrams < count:
                await trio.sleep(0.001)


@dataclass
class Client:
    sock: trio.socket.SocketType
    server: tuple[str, int]

    async def send(self, *datagrams: bytes) -> None:
        for datagram in datagrams:
            await self.sock.sendto(datagram, self.server)

    async def receive(self) -> bytes:
        with trio.fail_after(TIMEOUT):
            data, sender = await self.sock.recvfrom(70000)
        assert sender == self.server
        return data

    async def call(self, datagram: bytes) -> bytes:
        await self.send(datagram)
        return await self.receive()


@asynccontextmanager
async def udp_port(
    dispatcher: FakeDispatcher | None = None, *, header_len: int = 4, log_interval: float = 1.0, concurrent: int = 1
) -> AsyncIterator[UdpPort]:
    """Serve on 127.0.0.1 (a free port) until the block ends, then shut down and wait."""
    sockets = await open_udp_sockets("127.0.0.1", 0)
    status = PortStatus("udp", *sockets[0].getsockname()[:2])
    dispatcher = dispatcher or FakeDispatcher()
    server = UdpServer(dispatcher, header_len=header_len, port_status=status, log_interval=log_interval, concurrent=concurrent)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, sockets)
            yield UdpPort(server, status, (status.host, status.port))
            server.shutdown()


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


def events(logs: list[EventDict], name: str) -> list[EventDict]:
    return [entry for entry in logs if entry["event"] == name]


# --- answering -----------------------------------------------------------------------------


async def test_each_datagram_gets_one_answer_sent_back_to_its_sender() -> None:
    async with udp_port() as port:
        alice, bob = await port.client(), await port.client()
        await alice.send(NC)
        await bob.send(encode(b"HEADB2bob"))
        assert await alice.receive() == NC_ANSWER
        assert await bob.receive() == encode(b"HEADB300bob")
    assert (port.status.datagrams, port.status.malformed, port.status.connections) == (2, 0, 0)


async def test_with_a_worker_pool_a_datagram_waiting_on_its_request_holds_up_no_other() -> None:
    """concurrent > 1: the next datagram is answered while an earlier one is still being answered."""
    dispatcher = FakeDispatcher()
    async with udp_port(dispatcher, concurrent=4) as port:
        client = await port.client()
        await client.send(encode(b"HEADGTslow"), NC)
        first = await client.receive()
        dispatcher.gate.set()
        second = await client.receive()
    assert (first, second) == (NC_ANSWER, encode(b"HEADGU00slow"))


def test_concurrent_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="concurrent"):
        UdpServer(FakeDispatcher(), header_len=4, concurrent=0)


async def test_datagrams_from_one_client_are_answered_in_order() -> None:
    async with udp_port() as port:
        client = await port.client()
        await client.send(*(encode(b"HEADB2%d" % i) for i in range(20)))
        assert [await client.receive() for _ in range(20)] == [encode(b"HEADB300%d" % i) for i in range(20)]


async def test_the_header_and_the_trailer_are_echoed() -> None:
    async with udp_port(header_len=6) as port:
        client = await port.client()
        assert await client.call(encode(b"abcdefB2hi\x19tr")) == encode(b"abcdefB300hi\x19tr")


# --- malformed datagrams: each documented outcome ---------------------------------------------


@pytest.mark.parametrize(
    ("datagram", "reason", "length"),
    [
        (b"", "empty", None),
        (b"\x00", "shorter than the length prefix", None),
        (b"\x00\x07HEADNC", "truncated frame", 7),
        (b"\x00\x05HEADNC", "bytes after the frame", 5),
        (NC + NC, "bytes after the frame", 6),
    ],
)
async def test_a_datagram_that_is_not_one_frame_is_dropped_counted_and_logged(
    logs: list[EventDict], datagram: bytes, reason: str, length: int | None
) -> None:
    async with udp_port() as port:
        client = await port.client()
        await client.send(datagram, NC)
        assert await client.receive() == NC_ANSWER  # the first answer is the good datagram's
    assert (port.status.datagrams, port.status.malformed) == (2, 1)
    [line] = events(logs, "malformed datagram")
    assert {key: line[key] for key in ("reason", "size", "length", "suppressed", "log_level")} == {
        "reason": reason,
        "size": len(datagram),
        "length": length,
        "suppressed": 0,
        "log_level": "warning",
    }
    assert line["peer"] == f"127.0.0.1:{client.sock.getsockname()[1]}"
    assert len(events(logs, "request")) == 1  # only the good one


@pytest.mark.parametrize(
    ("datagram", "answer"),
    [
        (b"\x00\x02AB", b"AB  ZZ51"),  # shorter than the header: padded, 51
        (b"\x00\x00", b"    ZZ51"),
        (b"\x00\x05HEADN", b"HEADZZ15"),  # the header but no command code: 15
        (b"\x00\x04HEAD", b"HEADZZ15"),
    ],
)
async def test_one_frame_too_short_for_header_or_command_gets_the_tcp_answer(logs: list[EventDict], datagram: bytes, answer: bytes) -> None:
    async with udp_port() as port:
        client = await port.client()
        assert await client.call(datagram) == encode(answer)
    assert (port.status.datagrams, port.status.malformed) == (1, 1)
    [line] = events(logs, "request")
    assert (line["command"], line["error_code"]) == (None, answer[-2:].decode())


async def test_the_malformed_log_is_rate_limited_and_says_how_many_it_held_back(logs: list[EventDict]) -> None:
    async with udp_port(log_interval=3600) as port:
        client = await port.client()
        for burst in range(10):  # in bursts, so the kernel's receive buffer never overflows
            await client.send(*[b"\x00"] * 50)
            await port.wait_for_datagrams(50 * (burst + 1))
        assert await client.call(NC) == NC_ANSWER  # a garbage flood, then a good datagram is answered
    assert (port.status.datagrams, port.status.malformed) == (501, 500)
    assert [line["suppressed"] for line in events(logs, "malformed datagram")] == [0]


def test_the_log_limiter_allows_one_line_per_interval_and_counts_the_rest() -> None:
    now = [100.0]
    limiter = LogLimiter(1.0, clock=lambda: now[0])
    assert limiter.allow() == 0
    assert [limiter.allow() for _ in range(3)] == [None, None, None]
    now[0] += 0.999
    assert limiter.allow() is None
    now[0] += 0.001
    assert limiter.allow() == 4
    assert limiter.allow() is None


# --- the dispatcher's failures, as on TCP -------------------------------------------------------


async def test_a_dispatcher_exception_is_answered_with_41(logs: list[EventDict]) -> None:
    async with udp_port() as port:
        client = await port.client()
        assert await client.call(encode(b"HEADXX")) == encode(b"HEADXY41")
        assert await client.call(NC) == NC_ANSWER
    [failure] = events(logs, "dispatcher failed")
    assert failure["command"] == "XX"


async def test_an_answer_longer_than_a_frame_is_answered_with_41() -> None:
    async with udp_port() as port:
        client = await port.client()
        assert await client.call(encode(b"HEADBG")) == encode(b"HEADBH41")


async def test_an_answer_longer_than_a_datagram_is_answered_with_41(logs: list[EventDict]) -> None:
    async with udp_port() as port:
        client = await port.client()
        assert await client.call(encode(b"HEADHG")) == encode(b"HEADHH41")
    [line] = events(logs, "request")
    assert (line["command"], line["error_code"]) == ("HG", "41")


class FakeSocket:
    """Datagrams pushed by the test arrive from ``PEER``; each sendto takes the next outcome
    from ``failures`` (an exception to raise, or None to succeed)."""

    PEER = ("192.0.2.7", 1500)

    def __init__(self, failures: list[BaseException | None]) -> None:
        self._send, self._receive = trio.open_memory_channel[bytes](100)
        self.failures = failures
        self.sent: list[bytes] = []

    def push(self, *datagrams: bytes) -> None:
        for datagram in datagrams:
            self._send.send_nowait(datagram)

    async def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int]]:
        return await self._receive.receive(), self.PEER

    async def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        await trio.lowlevel.checkpoint()
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        self.sent.append(data)
        return len(data)

    def close(self) -> None:
        pass


async def serve_fake(sock: FakeSocket, count: int) -> PortStatus:
    """Serve ``sock`` until ``count`` datagrams were handled."""
    status = PortStatus("udp", "", 0)
    server = UdpServer(FakeDispatcher(), header_len=4, port_status=status, log_interval=3600)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, [sock])
            while status.datagrams < count or server.in_flight:
                await trio.sleep(0.001)
            server.shutdown()
    return status


async def test_answers_the_kernel_refuses_to_send_are_logged_rate_limited(logs: list[EventDict]) -> None:
    sock = FakeSocket([OSError(errno.EPERM, "denied"), OSError(errno.EPERM, "denied"), None])
    sock.push(NC, NC, NC)
    await serve_fake(sock, 3)
    assert sock.sent == [NC_ANSWER]
    assert [(line["peer"], line["error"], line["suppressed"]) for line in events(logs, "answer not sent")] == [
        ("192.0.2.7:1500", "Operation not permitted", 0)
    ]
    assert len(events(logs, "request")) == 3


async def test_a_bug_while_answering_costs_one_datagram_not_the_port(logs: list[EventDict]) -> None:
    sock = FakeSocket([RuntimeError("bug"), None])
    sock.push(NC, NC)
    status = await serve_fake(sock, 2)
    assert sock.sent == [NC_ANSWER]
    assert status.datagrams == 2
    [failure] = events(logs, "datagram failed")
    assert failure["peer"] == "192.0.2.7:1500"


# --- logging --------------------------------------------------------------------------------------


async def test_each_datagram_logs_one_request_line_with_its_request_id_and_no_payload(logs: list[EventDict]) -> None:
    async with udp_port() as port:
        client = await port.client()
        assert await client.call(NC) == NC_ANSWER
        assert await client.call(encode(b"HEADB2SECRETSECRETSECRET")) == encode(b"HEADB300SECRETSECRETSECRET")
    lines = events(logs, "request")
    conn_id = lines[0]["conn_id"]
    peer = f"127.0.0.1:{client.sock.getsockname()[1]}"
    assert [{key: line[key] for key in ("request_id", "peer", "command", "error_code")} for line in lines] == [
        {"request_id": f"{conn_id}-1", "peer": peer, "command": "NC", "error_code": "00"},
        {"request_id": f"{conn_id}-2", "peer": peer, "command": "B2", "error_code": "00"},
    ]
    assert all(isinstance(line["duration_us"], int) for line in lines)
    assert "SECRET" not in repr(logs)


async def test_request_ids_differ_between_ports() -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with udp_port() as first, udp_port() as second:
            assert await (await first.client()).call(NC) == NC_ANSWER
            assert await (await second.client()).call(NC) == NC_ANSWER
    ids = [line["request_id"] for line in events(logs, "request")]
    assert len(set(ids)) == 2


# --- shutdown ----------------------------------------------------------------------------------


async def test_shutdown_answers_the_datagram_being_dispatched_then_serve_returns() -> None:
    dispatcher = FakeDispatcher()
    sockets = await open_udp_sockets("127.0.0.1", 0)
    server = UdpServer(dispatcher, header_len=4)
    client_sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await client_sock.bind(("127.0.0.1", 0))
    client = Client(client_sock, sockets[0].getsockname()[:2])
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, sockets)
            await client.send(encode(b"HEADGTwait"))
            while server.in_flight == 0:
                await trio.sleep(0.001)
            server.shutdown()
            dispatcher.gate.set()
            assert await client.receive() == encode(b"HEADGU00wait")
    assert server.in_flight == 0
    assert all(sock.fileno() == -1 for sock in sockets)  # closed when serve returned


async def test_shutdown_before_serving_returns_at_once() -> None:
    sockets = await open_udp_sockets("127.0.0.1", 0)
    server = UdpServer(FakeDispatcher(), header_len=4)
    server.shutdown()
    with trio.fail_after(TIMEOUT):
        await server.serve(sockets)


def test_a_bad_header_length_is_refused_when_the_server_is_built() -> None:
    with pytest.raises(ValueError, match="header length"):
        UdpServer(FakeDispatcher(), header_len=33)


async def test_a_busy_udp_port_cannot_be_bound_twice() -> None:
    [first] = await open_udp_sockets("127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match="Address already in use"):
            await open_udp_sockets("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
