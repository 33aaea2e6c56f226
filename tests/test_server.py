"""Tests for hsmd.server, the trio adapter, with fake dispatchers, memory streams and
virtual time (``autojump_clock``): every limit is checked to the exact second."""

from __future__ import annotations

import errno
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
import trio
import trio.testing
from structlog.testing import capture_logs
from structlog.typing import EventDict

from hsmd import server as server_module
from hsmd.protocol import Frame, encode
from hsmd.server import Limits, Server

NC = encode(b"HEADNC")
NC_ANSWER = encode(b"HEADND00")


class FakeDispatcher:
    """Echoes the body with error 00; some commands misbehave on purpose.

    ``XX`` raises, ``BG`` answers with more than 65535 bytes, ``SL`` sleeps for the number of
    seconds in its body, and a command with an entry in ``gates`` waits for that event.
    """

    def __init__(self) -> None:
        self.gates: dict[bytes, trio.Event] = {}
        self.calls: list[Frame] = []

    async def handle(self, frame: Frame) -> bytes:
        self.calls.append(frame)
        if frame.command == b"XX":
            raise RuntimeError("dispatcher bug")
        if frame.command == b"BG":
            return frame.reply(b"00", b"x" * 65535)
        if frame.command == b"SL":
            await trio.sleep(float(frame.body))
        gate = self.gates.get(frame.command)
        if gate is not None:
            await gate.wait()
        return frame.reply(b"00", frame.body)


class MemoryListener(trio.abc.Listener[trio.abc.Stream]):
    """A listener whose connections are in-memory stream pairs made by :meth:`connect`."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[trio.abc.Stream](math.inf)
        self.closed = False
        self.server_sides: list[trio.abc.Stream] = []  # the server's end of each connection, in order

    def connect(self, *, lockstep: bool = False) -> trio.abc.Stream:
        pair = trio.testing.lockstep_stream_pair() if lockstep else trio.testing.memory_stream_pair()
        client, server_side = pair
        self.server_sides.append(server_side)
        self._send.send_nowait(server_side)
        return client

    async def accept(self) -> trio.abc.Stream:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:  # pragma: no cover - the channel is never closed that way
            raise trio.ClosedResourceError from None

    async def aclose(self) -> None:
        self.closed = True
        self._receive.close()
        await trio.lowlevel.checkpoint()


@asynccontextmanager
async def serving(
    dispatcher: FakeDispatcher,
    limits: Limits | None = None,
    header_len: int = 4,
    *,
    concurrent: bool = False,
) -> AsyncIterator[tuple[Server, MemoryListener]]:
    """Run a server on a memory listener; shut it down and wait for serve to return on exit."""
    server = Server(dispatcher, header_len=header_len, limits=limits or Limits(), concurrent=concurrent)
    listener = MemoryListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        yield server, listener
        server.shutdown()


async def read_answers(stream: trio.abc.Stream, count: int) -> list[bytes]:
    """Read ``count`` length-prefixed answers and return each with its prefix."""
    buffer = b""
    answers: list[bytes] = []
    while len(answers) < count:
        if len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
            end = 2 + int.from_bytes(buffer[:2], "big")
            answers.append(buffer[:end])
            buffer = buffer[end:]
            continue
        data = await stream.receive_some()
        assert data, f"connection closed after {len(answers)} answers"
        buffer += data
    assert buffer == b""
    return answers


async def assert_closed_by_server(stream: trio.abc.Stream) -> None:
    # Bounded so a missing timeout fails the test (at once in virtual time) instead of hanging.
    with trio.fail_after(1000):
        assert await stream.receive_some() == b""


def events(logs: list[EventDict], name: str) -> list[EventDict]:
    return [entry for entry in logs if entry["event"] == name]


def close_reasons(logs: list[EventDict]) -> list[str]:
    return [entry["reason"] for entry in events(logs, "connection closed")]


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    # merge_contextvars kept so the captured lines carry conn_id/peer/request_id.
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


# --- API ---------------------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    """The module exports exactly Dispatcher, Limits, Server and new_conn_id."""
    assert sorted(server_module.__all__) == ["Dispatcher", "Limits", "Server", "new_conn_id"]


def test_limits_defaults() -> None:
    """The defaults are the documented ones."""
    assert Limits() == Limits(
        max_connections=256, idle_timeout=300.0, frame_timeout=5.0, max_in_flight=32, max_frame_len=65535, handshake_timeout=5.0
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"max_connections": 0},
        {"max_in_flight": 0},
        {"idle_timeout": 0.0},
        {"frame_timeout": -1.0},
        {"handshake_timeout": 0.0},
        {"max_frame_len": 65536},
    ],
)
def test_limits_reject_nonsense(bad: dict[str, Any]) -> None:
    """Zero or negative limits, and frames longer than the prefix allows, are refused."""
    with pytest.raises(ValueError):
        Limits(**bad)


def test_server_rejects_a_bad_header_length() -> None:
    """The header length is validated when the server is built."""
    with pytest.raises(ValueError, match="header length"):
        Server(FakeDispatcher(), header_len=33, limits=Limits())


# --- answering ---------------------------------------------------------------------------


async def test_answers_pipelined_frames_in_request_order() -> None:
    """Fifty frames in one send get fifty answers, in order, byte for byte."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(b"".join(encode(b"%04dB2%d" % (i, i)) for i in range(50)))
        answers = await read_answers(client, 50)
    assert answers == [encode(b"%04dB300%d" % (i, i)) for i in range(50)]


async def test_order_holds_when_early_requests_are_slow(autojump_clock: trio.testing.MockClock) -> None:
    """A slow first request delays, but never reorders, the answers behind it."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"0001SL2") + encode(b"0002B2") + encode(b"0003SL1"))
        answers = await read_answers(client, 3)
        assert trio.current_time() == pytest.approx(3.0)
    assert answers == [encode(b"0001SM002"), encode(b"0002B300"), encode(b"0003SM001")]


async def test_a_concurrent_server_dispatches_a_batch_side_by_side_and_answers_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """For a worker pool: the frames of a batch are dispatched at once (2 + 1 s take 2 s, not 3),
    their answers still leave in request order."""
    async with serving(FakeDispatcher(), concurrent=True) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"0001SL2") + encode(b"0002B2") + encode(b"0003SL1"))
        answers = await read_answers(client, 3)
        assert trio.current_time() == pytest.approx(2.0)
    assert answers == [encode(b"0001SM002"), encode(b"0002B300"), encode(b"0003SM001")]


async def test_a_concurrent_batch_answers_a_dispatcher_bug_41_and_logs_each_frame_with_its_id(logs: list[EventDict]) -> None:
    async with serving(FakeDispatcher(), concurrent=True) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"0001B2a") + encode(b"0002XX") + encode(b"0003B2c"))
        answers = await read_answers(client, 3)
    assert answers == [encode(b"0001B300a"), encode(b"0002XY41"), encode(b"0003B300c")]
    requests = sorted((line["request_id"], line["error_code"]) for line in events(logs, "request"))
    assert [code for _, code in requests] == ["00", "41", "00"]
    assert len({request_id for request_id, _ in requests}) == 3
    assert [line["request_id"] for line in events(logs, "dispatcher failed")] == [requests[1][0]]


async def test_serves_connections_concurrently() -> None:
    """A connection blocked in the dispatcher does not hold up another connection."""
    dispatcher = FakeDispatcher()
    dispatcher.gates[b"WA"] = trio.Event()
    async with serving(dispatcher) as (server, listener):
        blocked, free = listener.connect(), listener.connect()
        await blocked.send_all(encode(b"AAAAWA"))
        await free.send_all(NC)
        assert await read_answers(free, 1) == [NC_ANSWER]
        assert server.active_connections == 2
        assert server.in_flight == 1
        dispatcher.gates[b"WA"].set()
        assert await read_answers(blocked, 1) == [encode(b"AAAAWB00")]


async def test_short_frames_get_exact_error_answers_in_order() -> None:
    """Too short for the header: padded + ZZ51; no command code: header + ZZ15; in order."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(b"\x00\x02AB" + NC + b"\x00\x05HEADN" + b"\x00\x00")
        answers = await read_answers(client, 4)
    assert answers == [b"\x00\x08AB  ZZ51", NC_ANSWER, b"\x00\x08HEADZZ15", b"\x00\x08    ZZ51"]


async def test_a_dispatcher_exception_is_answered_with_41(logs: list[EventDict]) -> None:
    """A raising dispatcher gives header + response code + 41 (+ trailer), logged with exc_info,
    and the connection carries on."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"HEADXXsecret\x19T1") + NC)
        answers = await read_answers(client, 2)
    assert answers == [encode(b"HEADXY41\x19T1"), NC_ANSWER]
    [failure] = events(logs, "dispatcher failed")
    assert failure["exc_info"] is True
    assert failure["log_level"] == "error"
    assert [entry["error_code"] for entry in events(logs, "request")] == ["41", "00"]


async def test_an_answer_too_long_to_encode_is_answered_with_41() -> None:
    """An answer over 65535 bytes is a dispatcher bug: error 41 instead."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"HEADBG"))
        assert await read_answers(client, 1) == [encode(b"HEADBH41")]


async def test_logs_one_line_per_request_with_ids_and_no_body(logs: list[EventDict]) -> None:
    """Each request logs command, error code, duration and ids; bodies never appear."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(encode(b"HEADB2SECRETBODY") + b"\x00\x02AB")
        await read_answers(client, 2)
        await client.aclose()
        await trio.testing.wait_all_tasks_blocked()  # the server sees EOF before shutdown
    requests = events(logs, "request")
    conn_id = requests[0]["conn_id"]
    assert [{k: v for k, v in entry.items() if k not in ("conn_id", "duration_us", "log_level")} for entry in requests] == [
        {"event": "request", "command": "B2", "error_code": "00", "request_id": f"{conn_id}-1", "peer": "StapledStream"},
        {"event": "request", "command": None, "error_code": "51", "request_id": f"{conn_id}-2", "peer": "StapledStream"},
    ]
    assert all(isinstance(entry["duration_us"], int) for entry in requests)
    assert events(logs, "connection open")[0]["conn_id"] == conn_id
    assert close_reasons(logs) == ["peer closed"]
    assert "request_id" not in events(logs, "connection closed")[0]  # cleared after each batch
    assert "SECRETBODY" not in repr(logs)


@pytest.mark.parametrize("concurrent", [False, True], ids=["in order", "concurrent"])
async def test_a_batchs_request_lines_are_logged_after_its_answers_are_written(logs: list[EventDict], concurrent: bool) -> None:
    """A client waiting for its answers does not wait for their log lines too; each line still
    carries its own request id."""
    async with serving(FakeDispatcher(), concurrent=concurrent) as (_, listener):
        client = listener.connect()
        server_side = listener.server_sides[0]
        assert isinstance(server_side, trio.StapledStream) and isinstance(server_side.send_stream, trio.testing.MemorySendStream)
        send_stream = server_side.send_stream
        pump = send_stream.send_all_hook
        assert pump is not None

        async def written() -> None:
            logs.append({"event": "answers written"})
            await pump()

        send_stream.send_all_hook = written
        # The first frame answers last when dispatched concurrently: its line still comes first.
        await client.send_all(encode(b"HEADSL0.01") + NC)
        await read_answers(client, 2)
        await client.send_all(NC)
        await read_answers(client, 1)
    order = [entry["event"] for entry in logs if entry["event"] in ("answers written", "request")]
    assert order == ["answers written", "request", "request", "answers written", "request"]
    conn_id = events(logs, "request")[0]["conn_id"]
    requests = events(logs, "request")
    assert [(entry["request_id"], entry["command"]) for entry in requests] == [
        (f"{conn_id}-1", "SL"),
        (f"{conn_id}-2", "NC"),
        (f"{conn_id}-3", "NC"),
    ]


async def test_a_batch_cut_short_still_logs_the_requests_it_answered(logs: list[EventDict]) -> None:
    """The server is cancelled while the second frame of a batch is dispatched: the first was
    answered (it ran), so its line is logged."""
    dispatcher = FakeDispatcher()
    dispatcher.gates[b"GT"] = trio.Event()  # never set
    with trio.CancelScope() as cancel:
        async with serving(dispatcher) as (_, listener):
            client = listener.connect()
            await client.send_all(encode(b"HEADB2ok") + encode(b"HEADGT"))
            await trio.testing.wait_all_tasks_blocked()
            assert [frame.command for frame in dispatcher.calls] == [b"B2", b"GT"]
            cancel.cancel()
    requests = events(logs, "request")
    assert [(entry["request_id"], entry["command"], entry["error_code"]) for entry in requests] == [
        (f"{requests[0]['conn_id']}-1", "B2", "00")
    ]


async def test_the_dispatcher_logs_with_the_request_id(logs: list[EventDict]) -> None:
    """The request id is bound while the dispatcher runs, so its own lines carry it (and
    the connection's ids), each frame's its own."""

    class LoggingDispatcher(FakeDispatcher):
        async def handle(self, frame: Frame) -> bytes:
            structlog.get_logger("test").info("dispatching")
            return await super().handle(frame)

    async with serving(LoggingDispatcher()) as (_, listener):
        client = listener.connect()
        await client.send_all(NC + NC)
        await read_answers(client, 2)
    dispatching, requests = events(logs, "dispatching"), events(logs, "request")
    assert [entry["request_id"] for entry in dispatching] == [entry["request_id"] for entry in requests]
    assert len({entry["request_id"] for entry in dispatching}) == 2
    assert all(entry["conn_id"] == requests[0]["conn_id"] for entry in dispatching)


async def test_request_ids_are_unique_across_connections(logs: list[EventDict]) -> None:
    """Two connections never share a request id."""
    async with serving(FakeDispatcher()) as (_, listener):
        for _ in range(2):
            client = listener.connect()
            await client.send_all(NC + NC)
            await read_answers(client, 2)
    ids = [entry["request_id"] for entry in events(logs, "request")]
    assert len(ids) == len(set(ids)) == 4


# --- limits ------------------------------------------------------------------------------


async def test_idle_connection_is_closed_after_idle_timeout(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """With nothing sent and nothing in flight, the connection closes at exactly idle_timeout."""
    async with serving(FakeDispatcher(), Limits(idle_timeout=30.0)) as (_, listener):
        start = trio.current_time()
        client = listener.connect()
        await assert_closed_by_server(client)
        assert trio.current_time() - start == pytest.approx(30.0)
    assert close_reasons(logs) == ["idle timeout"]


async def test_idle_time_starts_after_the_last_answer(autojump_clock: trio.testing.MockClock) -> None:
    """A request in flight longer than idle_timeout keeps the connection open; idleness is
    counted from its answer."""
    async with serving(FakeDispatcher(), Limits(idle_timeout=30.0)) as (_, listener):
        start = trio.current_time()
        client = listener.connect()
        await client.send_all(encode(b"HEADSL100"))
        assert await read_answers(client, 1) == [encode(b"HEADSM00100")]
        assert trio.current_time() - start == pytest.approx(100.0)
        await assert_closed_by_server(client)
        assert trio.current_time() - start == pytest.approx(130.0)


async def test_idle_time_counts_from_the_end_of_a_slow_write(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """An answer the peer takes a while to read (less than idle_timeout) restarts the idle
    clock when the write completes, not when it started."""
    async with serving(FakeDispatcher(), Limits(idle_timeout=30.0)) as (_, listener):
        client = listener.connect(lockstep=True)
        start = trio.current_time()
        await client.send_all(NC)
        await trio.sleep(20.0)
        assert await read_answers(client, 1) == [NC_ANSWER]
        await assert_closed_by_server(client)
        assert trio.current_time() - start == pytest.approx(50.0)
    assert close_reasons(logs) == ["idle timeout"]


async def test_slow_sender_is_closed_after_frame_timeout(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """Once a frame has started, the rest must arrive within frame_timeout."""
    async with serving(FakeDispatcher(), Limits(frame_timeout=5.0)) as (_, listener):
        client = listener.connect()
        await trio.sleep(10.0)  # idle before the frame starts: does not count
        start = trio.current_time()
        await client.send_all(NC[:3])
        await trio.sleep(4.0)
        await client.send_all(NC[3:5])  # more bytes do not restart the clock
        await assert_closed_by_server(client)
        assert trio.current_time() - start == pytest.approx(5.0)
    assert close_reasons(logs) == ["frame timeout"]


async def test_a_frame_completed_within_frame_timeout_is_answered(autojump_clock: trio.testing.MockClock) -> None:
    """A frame trickling in byte by byte but finishing in time is served normally."""
    async with serving(FakeDispatcher(), Limits(frame_timeout=5.0)) as (_, listener):
        client = listener.connect()
        for byte in NC:
            await client.send_all(bytes([byte]))
            await trio.sleep(0.5)
        assert await read_answers(client, 1) == [NC_ANSWER]


async def test_frame_timeout_restarts_for_each_frame(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """Each frame gets its own frame_timeout from its first byte, and a finished frame leaves
    no frame timer behind (the connection then ends by idle timeout)."""
    async with serving(FakeDispatcher(), Limits(frame_timeout=5.0, idle_timeout=30.0)) as (_, listener):
        client = listener.connect()
        for _ in range(3):
            await client.send_all(NC[:3])
            await trio.sleep(4.0)
            await client.send_all(NC[3:])
            assert await read_answers(client, 1) == [NC_ANSWER]
        start = trio.current_time()
        await assert_closed_by_server(client)
        assert trio.current_time() - start == pytest.approx(30.0)
    assert close_reasons(logs) == ["idle timeout"]


async def test_max_connections_rejects_the_extra_connection(logs: list[EventDict]) -> None:
    """Over max_connections a connection is accepted and closed at once; a slot that frees up
    is usable again."""
    async with serving(FakeDispatcher(), Limits(max_connections=1)) as (server, listener):
        first = listener.connect()
        await first.send_all(NC)
        assert await read_answers(first, 1) == [NC_ANSWER]
        second = listener.connect()
        await assert_closed_by_server(second)
        assert server.active_connections == 1
        await first.aclose()
        await trio.testing.wait_all_tasks_blocked()
        third = listener.connect()
        await third.send_all(NC)
        assert await read_answers(third, 1) == [NC_ANSWER]
    [rejected] = events(logs, "connection rejected")
    assert rejected["reason"] == "max connections"


async def test_at_most_max_in_flight_frames_are_taken_before_their_answers_are_sent() -> None:
    """With a client that does not read its answers, the server takes exactly max_in_flight
    of the buffered frames, answers them in ONE write, and waits for that write before
    taking more; the rest of the buffer is answered before anything more is read."""
    dispatcher = FakeDispatcher()
    extra_sent = False

    async with serving(dispatcher, Limits(max_in_flight=3)) as (server, listener):
        client = listener.connect(lockstep=True)  # the server's send_all returns once read
        await client.send_all(b"".join(encode(b"%04dB2" % i) for i in range(10)))

        async def send_extra() -> None:
            nonlocal extra_sent
            await client.send_all(encode(b"0010B2"))
            extra_sent = True

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_extra)
            chunks: list[bytes] = []
            for batch in (3, 3, 3, 1):
                await trio.testing.wait_all_tasks_blocked()
                taken = len(chunks) * 3 + batch
                assert (len(dispatcher.calls), server.in_flight, extra_sent) == (taken, batch, False)
                chunks.append(bytes(await client.receive_some()))  # exactly one write: one batch
            assert [len(chunk) for chunk in chunks] == [3 * len(NC_ANSWER), 3 * len(NC_ANSWER), 3 * len(NC_ANSWER), len(NC_ANSWER)]
            assert await read_answers(client, 1) == [encode(b"0010B300")]
        assert extra_sent
    assert b"".join(chunks) == b"".join(encode(b"%04dB300" % i) for i in range(10))


async def test_nothing_is_read_while_a_frame_is_being_answered() -> None:
    """While the dispatcher works on a frame, the connection reads no further bytes."""
    dispatcher = FakeDispatcher()
    gate = dispatcher.gates[b"B2"] = trio.Event()
    sent = 0

    async def send_frames(client: trio.abc.Stream) -> None:
        nonlocal sent
        for i in range(5):
            await client.send_all(encode(b"%04dB2" % i))  # lockstep: returns once read
            sent += 1

    async with serving(dispatcher, Limits(max_in_flight=3)) as (server, listener):
        client = listener.connect(lockstep=True)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_frames, client)
            await trio.testing.wait_all_tasks_blocked()
            assert (sent, server.in_flight, len(dispatcher.calls)) == (1, 1, 1)
            gate.set()
            answers = await read_answers(client, 5)
    assert answers == [encode(b"%04dB300" % i) for i in range(5)]


async def test_peer_not_reading_answers_is_closed_after_idle_timeout(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """An answer that cannot be delivered within idle_timeout closes the connection."""
    async with serving(FakeDispatcher(), Limits(idle_timeout=30.0)) as (server, listener):
        client = listener.connect(lockstep=True)
        start = trio.current_time()
        await client.send_all(NC)
        await trio.sleep(31.0)
        assert server.active_connections == 0
    assert close_reasons(logs) == ["peer not reading"]
    assert trio.current_time() - start == pytest.approx(31.0)


async def test_an_oversized_frame_closes_the_connection_after_earlier_answers(logs: list[EventDict]) -> None:
    """A length prefix over max_frame_len ends the connection; frames before it are answered."""
    async with serving(FakeDispatcher(), Limits(max_frame_len=10)) as (_, listener):
        client = listener.connect()
        await client.send_all(NC + b"\x00\x0bHEADNC12345")
        assert await read_answers(client, 1) == [NC_ANSWER]
        await assert_closed_by_server(client)
    assert close_reasons(logs) == ["frame too large"]


async def test_peer_closing_mid_frame_is_logged_and_earlier_frames_answered(logs: list[EventDict]) -> None:
    """EOF inside a frame closes the connection after answering the complete frames."""
    async with serving(FakeDispatcher()) as (_, listener):
        client = listener.connect()
        assert isinstance(client, trio.abc.HalfCloseableStream)
        await client.send_all(NC + NC[:4])
        await client.send_eof()
        assert await read_answers(client, 1) == [NC_ANSWER]
        await assert_closed_by_server(client)
    assert close_reasons(logs) == ["peer closed mid-frame"]


class FlakyListener(MemoryListener):
    """Fails its first accept with EMFILE, like a process out of file descriptors."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def accept(self) -> trio.abc.Stream:
        if self.failures:
            self.failures -= 1
            await trio.lowlevel.checkpoint()
            raise OSError(errno.EMFILE, "Too many open files")
        return await super().accept()


async def test_accept_out_of_descriptors_is_logged_and_retried(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """EMFILE from accept() is logged and accepting resumes after a short pause."""
    server = Server(FakeDispatcher(), header_len=4, limits=Limits())
    listener = FlakyListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        client = listener.connect()
        await client.send_all(NC)
        assert await read_answers(client, 1) == [NC_ANSWER]
        server.shutdown()
    [failure] = events(logs, "accept failed")
    assert "Too many open files" in failure["error"]


# --- shutdown ----------------------------------------------------------------------------


async def test_shutdown_answers_received_frames_then_closes_and_serve_returns(logs: list[EventDict]) -> None:
    """shutdown() during a dispatch does not cancel it: every completely received frame is
    answered (even beyond max_in_flight, from the decoder's buffer), the partial one is
    dropped, the connection and the listener close, and serve_listeners returns."""
    dispatcher = FakeDispatcher()
    gate = dispatcher.gates[b"B2"] = trio.Event()
    server = Server(dispatcher, header_len=4, limits=Limits(max_in_flight=2))
    listener = MemoryListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        client = listener.connect()
        await client.send_all(b"".join(encode(b"%04dB2" % i) for i in range(5)) + NC[:5])
        await trio.testing.wait_all_tasks_blocked()
        assert (server.in_flight, len(dispatcher.calls)) == (1, 1)  # the rest waits in the buffer
        server.shutdown()
        await trio.testing.wait_all_tasks_blocked()
        assert listener.closed
        gate.set()
        assert await read_answers(client, 5) == [encode(b"%04dB300" % i) for i in range(5)]
        await assert_closed_by_server(client)
    assert server.active_connections == 0
    assert close_reasons(logs) == ["shutdown"]


async def test_shutdown_cancels_a_pending_receive_and_drops_a_partial_frame(logs: list[EventDict]) -> None:
    """A connection waiting for the rest of a frame closes at once on shutdown."""
    server = Server(FakeDispatcher(), header_len=4, limits=Limits())
    listener = MemoryListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        client = listener.connect()
        await client.send_all(NC + NC[:3])
        assert await read_answers(client, 1) == [NC_ANSWER]
        await trio.testing.wait_all_tasks_blocked()
        server.shutdown()
        await assert_closed_by_server(client)
    assert close_reasons(logs) == ["shutdown"]


async def test_shutdown_does_not_cancel_a_send_in_progress(autojump_clock: trio.testing.MockClock, logs: list[EventDict]) -> None:
    """An answer being written when shutdown() comes is still delivered, then the
    connection closes."""
    server = Server(FakeDispatcher(), header_len=4, limits=Limits(idle_timeout=30.0))
    listener = MemoryListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        client = listener.connect(lockstep=True)
        await client.send_all(NC + NC)
        await trio.sleep(10.0)  # the server is blocked writing two answers nobody reads
        assert server.in_flight == 2
        server.shutdown()
        await trio.sleep(10.0)
        assert await read_answers(client, 2) == [NC_ANSWER, NC_ANSWER]
        await assert_closed_by_server(client)
    assert close_reasons(logs) == ["shutdown"]


async def test_a_connection_arriving_with_shutdown_reads_nothing_and_closes(logs: list[EventDict]) -> None:
    """A connection accepted just before shutdown() and not read yet is closed without
    reading: only frames the server has already received are owed an answer."""
    dispatcher = FakeDispatcher()
    server = Server(dispatcher, header_len=4, limits=Limits())
    listener = MemoryListener()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [listener])
        client = listener.connect()
        await client.send_all(NC)
        server.shutdown()  # before the connection's task has read anything
        await assert_closed_by_server(client)
    assert dispatcher.calls == []
    assert close_reasons(logs) == ["shutdown"]


async def test_shutdown_before_serving_returns_at_once() -> None:
    """A server shut down before it starts closes its listeners and returns."""
    server = Server(FakeDispatcher(), header_len=4, limits=Limits())
    listener = MemoryListener()
    server.shutdown()
    with trio.fail_after(1):
        await server.serve_listeners([listener])
    assert listener.closed


async def test_serves_real_tcp_on_localhost(logs: list[EventDict]) -> None:
    """serve() binds 127.0.0.1 port 0, reports the address, answers over TCP and returns
    after shutdown."""
    server = Server(FakeDispatcher(), header_len=4, limits=Limits())
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            [(host, port)] = await nursery.start(server.serve, "127.0.0.1", 0)
            assert host == "127.0.0.1"
            assert port > 0
            client = await trio.open_tcp_stream(host, port)
            await client.send_all(NC + encode(b"HEADB2hi\x19tr"))
            assert await read_answers(client, 2) == [NC_ANSWER, encode(b"HEADB300hi\x19tr")]
            local_port = client.socket.getsockname()[1]
            server.shutdown()
            await assert_closed_by_server(client)
            await client.aclose()
    assert events(logs, "connection open")[0]["peer"] == f"127.0.0.1:{local_port}"
