"""The worker pool (hsmd.workers, hsmd.worker) and its channel codec (hsmd.channel).

The codec runs three ways (whole, byte by byte, with the next message's bytes behind it); the
pool runs real worker processes over NC, B2, J4 and the faulty test plugin ZF ("L" loops until
its deadline, "C" counts the calls its instance served). Assertions are on answers and their
order, never on timings: those are in `make bench` (section "workers").
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import structlog
import trio

import hsmd.app
import hsmd.channel
import hsmd.ops.http
import hsmd.systemd
import hsmd.worker
import hsmd.workers
from hsmd.app import run, serve
from hsmd.channel import (
    MAIN_TO_WORKER,
    MAX_MESSAGE,
    PACKET_MAX,
    PROTOCOL,
    WORKER_TO_MAIN,
    Answer,
    ChannelDecoder,
    ChannelError,
    LoadedPlugin,
    Message,
    ProtocolMismatch,
    Ready,
    Reload,
    Reloaded,
    Request,
    Start,
    encode,
    receive_packet,
    request_call,
)
from hsmd.config import Config, ConfigError, HttpConfig, load_config
from hsmd.cpus import cpu_count
from hsmd.host.status import SNAPSHOT_CONNECTIONS, OpenConnection, PortStatus, StatusSnapshot, UnitStatus
from hsmd.logging import REQUEST_ID, configure_logging
from hsmd.protocol import Frame, parse_message
from hsmd.protocol import encode as encode_frame
from hsmd.workers import STATUS_COMMANDS, WorkerPool, open_worker_pool
from tests.conftest import CACHE, ROOT
from tests.test_app import Logs
from tests.test_ops_http import TOKEN, http, post_run, value, write_token

HEADER = b"HEAD"
TIMEOUT = 30.0  # starting workers loads their plugins: seconds on a busy 2-core machine


# --- the channel codec ---------------------------------------------------------------------

PLUGIN = LoadedPlugin("NC", "1.0.0", "1.5.0", "diagnostics", 1_700_000_000.5)
FROM_MAIN: list[Message] = [
    Start(1, Config()),
    Request(7, "3-17", Frame(b"HEAD", b"B2", b"0003a\x19b", None)),
    Request(8, "", Frame(b"", b"NC", b"", b"")),  # an empty trailer: the request ended in 0x19
    Request(9, "1-1", Frame(b"HEAD", b"NC", b"", None), linger=True),
    Request(2**32 - 1, "http-4", Frame(b"H" * 32, b"J4", b"", b"trailer"), pickle.dumps(StatusSnapshot(UnitStatus()))),
    Reload(),
]
FROM_WORKER: list[Message] = [
    Ready(4242, (PLUGIN,), 1),
    Answer(7, b"HEADB300a\x19b", "00", 0.000125),
    Answer(9, b"HEADZG41", "41", 1.0, fault="deadline"),
    Answer(10, b"HEADXY68", "68", 0.0, refused=True),
    Reloaded(True, (PLUGIN,), 0),
    Reloaded(False, (), 0, "plugin directory is missing"),
]


def decode_all(decoder: ChannelDecoder, chunks: list[bytes]) -> list[Message]:
    out = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while (message := decoder.next_message()) is not None:
            out.append(message)
    return out


@pytest.mark.parametrize("how", ["whole", "byte by byte", "all at once"])
@pytest.mark.parametrize(("accept", "messages"), [(MAIN_TO_WORKER, FROM_MAIN), (WORKER_TO_MAIN, FROM_WORKER)])
def test_every_message_decodes_to_what_was_encoded_however_the_bytes_arrive(
    accept: frozenset[bytes], messages: list[Message], how: str
) -> None:
    wire = [encode(message) for message in messages]
    if how == "byte by byte":
        chunks = [bytes([byte]) for byte in b"".join(wire)]
    elif how == "all at once":
        chunks = [b"".join(wire)]
    else:
        chunks = wire
    assert decode_all(ChannelDecoder(accept), chunks) == messages


def test_a_message_leaves_the_bytes_of_the_next_one_buffered() -> None:
    decoder = ChannelDecoder(WORKER_TO_MAIN)
    first, second = encode(FROM_WORKER[1]), encode(FROM_WORKER[2])
    decoder.receive_data(first + second[:5])
    assert decoder.next_message() == FROM_WORKER[1]
    assert decoder.next_message() is None
    assert decoder.buffered == 5


@pytest.mark.parametrize("message", FROM_MAIN, ids=lambda m: type(m).__name__)
def test_the_main_process_refuses_every_message_meant_for_a_worker_so_it_never_unpickles(message: Message) -> None:
    decoder = ChannelDecoder(WORKER_TO_MAIN)
    decoder.receive_data(encode(message))
    with pytest.raises(ChannelError, match="unexpected message kind"):
        decoder.next_message()


@pytest.mark.parametrize("message", FROM_WORKER, ids=lambda m: type(m).__name__)
def test_a_worker_refuses_every_message_meant_for_the_main_process(message: Message) -> None:
    decoder = ChannelDecoder(MAIN_TO_WORKER)
    decoder.receive_data(encode(message))
    with pytest.raises(ChannelError):
        decoder.next_message()


def test_the_main_process_reads_the_call_of_a_request_it_takes_back() -> None:
    assert [request_call(encode(m)) for m in FROM_MAIN if isinstance(m, Request)] == [7, 8, 9, 2**32 - 1]
    with pytest.raises(ChannelError, match="not a request"):
        request_call(encode(Reload()))


def test_a_packet_longer_than_the_receive_buffer_is_an_error_not_a_short_message() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        ours.send(encode(FROM_MAIN[1]))
        ours.send(encode(FROM_MAIN[1]))
        assert receive_packet(theirs, bytearray(PACKET_MAX)) == encode(FROM_MAIN[1])
        with pytest.raises(ChannelError, match="over the 8-byte buffer"):
            receive_packet(theirs, bytearray(8))


@pytest.mark.parametrize("length", [0, MAX_MESSAGE + 1])
def test_a_length_of_zero_or_over_the_limit_is_an_error_and_stays_one(length: int) -> None:
    decoder = ChannelDecoder(WORKER_TO_MAIN)
    decoder.receive_data(length.to_bytes(4, "big"))
    for _ in range(2):
        with pytest.raises(ChannelError, match="outside"):
            decoder.next_message()


@pytest.mark.parametrize(
    "body",
    [
        b"A\x00\x00",  # an answer shorter than its fixed fields
        b"A" + struct.pack("!IBB2sd", 1, 0, 5, b"00", 0.0) + b"ab",  # a fault kind longer than what follows
        b"Y" + b"not json",
        b"Y" + json.dumps({"pid": "1", "plugins": [], "refused": 0}).encode(),
        b"Y" + json.dumps({"pid": 1, "plugins": [["NC"]], "refused": 0}).encode(),
        b"D" + json.dumps([1, 2]).encode(),
    ],
)
def test_a_malformed_body_from_a_worker_is_a_channel_error(body: bytes) -> None:
    decoder = ChannelDecoder(WORKER_TO_MAIN)
    decoder.receive_data(len(body).to_bytes(4, "big") + body)
    with pytest.raises(ChannelError):
        decoder.next_message()


def test_a_start_message_that_does_not_unpickle_to_an_index_and_a_config_is_an_error() -> None:
    decoder = ChannelDecoder(MAIN_TO_WORKER)
    body = b"S" + PROTOCOL + pickle.dumps((0, {"server": "x"}))
    decoder.receive_data(len(body).to_bytes(4, "big") + body)
    with pytest.raises(ChannelError, match=r"^start: not"):
        decoder.next_message()


def test_a_start_from_other_channel_code_is_refused_before_it_is_unpickled() -> None:
    decoder = ChannelDecoder(MAIN_TO_WORKER)
    body = b"S" + bytes(8) + pickle.dumps((0, Config()))
    decoder.receive_data(len(body).to_bytes(4, "big") + body)
    with pytest.raises(ProtocolMismatch, match=r"^start: the server's channel protocol is not this worker's$"):
        decoder.next_message()


async def test_a_worker_upgraded_under_the_server_exits_before_ready_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # The server's code is "older" than the files a new worker starts from: its Start carries another stamp.
    monkeypatch.setattr(hsmd.channel, "PROTOCOL", bytes(8))
    with pytest.raises(hsmd.app.StartupError, match=r"^worker \d: exit code 2 before loading its plugins"):
        async with open_worker_pool(worker_config(tmp_path, workers=1), UnitStatus()):
            pass
    lines = [line for line in capfd.readouterr().err.splitlines() if "worker code differs from the server's" in line]
    assert len(lines) == 1
    assert "restart hsmd to run the installed version" in lines[0] and "channel protocol is not this worker's" in lines[0]


# --- configuration ------------------------------------------------------------------------


def test_workers_defaults_to_one_per_cpu_and_takes_auto_or_a_number_from_0() -> None:
    assert Config().server.workers == cpu_count() <= len(os.sched_getaffinity(0))
    assert load_config(None, {"HSMD_SERVER_WORKERS": "auto"}, {}).server.workers == cpu_count()
    assert load_config(None, {}, {"server.workers": 0}).server.workers == 0
    with pytest.raises(ConfigError, match=r'^server\.workers: must be "auto" \(one per CPU\) or an integer from 0 to 256, got "-1"'):
        load_config(None, {"HSMD_SERVER_WORKERS": "-1"}, {})


# --- the status snapshot -------------------------------------------------------------------


def test_a_status_snapshot_answers_the_status_functions_as_the_unit_status_it_was_made_from(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock stands still: J2's load bands count whole seconds, and a second that ends between
    # the snapshot and the comparison would be counted by the live status only.
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    status = UnitStatus("HSMD00000042", 64)
    status.ports.append(PortStatus("tcp", "127.0.0.1", 1500, connections=1, bytes_received=10))
    for command, code in [("NC", "00"), ("NC", "00"), ("BC", "01"), ("B2", "41")]:
        status.record(command, 0.001, code)
    snapshot = pickle.loads(pickle.dumps(StatusSnapshot(status)))
    assert isinstance(snapshot, UnitStatus)
    assert (snapshot.serial_number, snapshot.max_connections, snapshot.started) == ("HSMD00000042", 64, status.started)
    assert snapshot.command_counts() == status.command_counts()
    assert snapshot.verifications() == status.verifications() == (1, 1)
    assert snapshot.loading() == status.loading()
    assert snapshot.ports == status.ports


def test_a_snapshot_lists_no_more_connections_than_ni_can_report_so_it_always_fits_the_channel() -> None:
    status = UnitStatus()
    for kind, port in (("tcp", 1500), ("tls", 2500)):
        status.ports.append(PortStatus(kind, "127.0.0.1", port))  # type: ignore[arg-type]
        for i in range(2_000):
            status.ports[-1].open[f"{port}-{i}"] = OpenConnection("192.168.100.200", 50_000 + i, 0.0)
    snapshot = StatusSnapshot(status)
    assert [len(p.open) for p in snapshot.ports] == [2_000, SNAPSHOT_CONNECTIONS - 2_000]
    assert [len(p.open) for p in status.ports] == [2_000, 2_000]  # the live status is left whole
    assert len(pickle.dumps(snapshot)) < MAX_MESSAGE // 2


def test_every_command_whose_logic_reads_the_units_counters_gets_a_snapshot() -> None:
    status_calls = re.compile(r"hsm\.(unit_status|command_counts|unit_loading|host_connections|host_traffic)\(")
    readers = set()
    for path in (ROOT / "logic").glob("*.py"):
        text = path.read_text()
        if status_calls.search(text):
            [command] = re.findall(r'^COMMAND = "(..)"$', text, re.MULTILINE)
            readers.add(command.encode("ascii"))
    assert readers and readers <= STATUS_COMMANDS


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_plugins(plugin_dir: Path, built_plugins: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NC, B2, ZF (the faulty test plugin) and J4 (a status command)."""
    directory = tmp_path_factory.mktemp("worker-plugins")
    for wasm in [*(plugin_dir / name for name in ("NC.wasm", "B2.wasm", "ZF.wasm")), built_plugins / "J4.wasm"]:
        (directory / wasm.name).symlink_to(wasm.resolve())
    return directory


def worker_config(plugins: Path, workers: int = 2, *, deadline_ms: int = 1000, fuel: int = 50_000_000) -> Config:
    default = Config()
    return replace(
        default,
        server=replace(default.server, host="127.0.0.1", port=0, header_len=len(HEADER), workers=workers),
        plugins=replace(default.plugins, dir=plugins, cache_dir=CACHE, deadline_ms=deadline_ms, fuel=fuel),
        logging=replace(default.logging, level="warning"),
    )


def frame(message: bytes) -> Frame:
    event = parse_message(HEADER + message, len(HEADER))
    assert isinstance(event, Frame)
    return event


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Logs:
    # Module-level loggers keep the configuration of their first use: give each a fresh proxy.
    monkeypatch.setattr(hsmd.app, "log", structlog.get_logger("hsmd"))
    monkeypatch.setattr(hsmd.workers, "log", structlog.get_logger("hsmd.workers"))
    monkeypatch.setattr(hsmd.ops.http, "log", structlog.get_logger("hsmd.http"))
    captured = Logs()
    configure_logging("json", "info", stream=captured.stream)
    return captured


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[WorkerPool]:
    """The worker pools hsmd.app.run opens, as it opens them."""
    opened: list[WorkerPool] = []
    original = open_worker_pool

    @asynccontextmanager
    async def recorded(config: Config, status: UnitStatus) -> AsyncIterator[WorkerPool]:
        async with original(config, status) as pool:
            opened.append(pool)
            yield pool

    monkeypatch.setattr(hsmd.app, "open_worker_pool", recorded)
    return opened


async def at_once(pool: WorkerPool, *frames: Frame) -> list[bytes]:
    """The answers to `frames` sent together: each is sent before any answer is read, so with as
    many free workers as frames each goes to its own worker. Answers in the order of the frames."""
    answers: dict[int, bytes] = {}

    async def one(i: int, item: Frame) -> None:
        answers[i] = await pool.handle(item)

    async with trio.open_nursery() as nursery:
        for i, item in enumerate(frames):
            nursery.start_soon(one, i, item)
    return [answers[i] for i in range(len(frames))]


def busy(pool: WorkerPool) -> int:
    """How many of its workers run a request now."""
    return sum(held is not None for held in pool.running().values())


async def until(condition: Any) -> None:
    """Wait (polling) until `condition()` is true."""
    with trio.fail_after(TIMEOUT):
        while not condition():
            await trio.sleep(0.01)


class Connection:
    """One TCP connection to hsmd: frames out, answers (without header) in order."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    @classmethod
    async def open(cls, address: tuple[str, int]) -> Connection:
        return cls(await trio.open_tcp_stream(*address))

    async def send(self, *messages: bytes) -> None:
        await self.stream.send_all(b"".join(encode_frame(HEADER + message) for message in messages))

    async def answer(self) -> bytes:
        with trio.fail_after(TIMEOUT):
            while len(self.buffer) < 2 or len(self.buffer) < 2 + int.from_bytes(self.buffer[:2], "big"):
                data = await self.stream.receive_some()
                assert data, "the server closed the connection"
                self.buffer += data
        end = 2 + int.from_bytes(self.buffer[:2], "big")
        message = bytes(self.buffer[2:end])
        del self.buffer[:end]
        assert message.startswith(HEADER)
        return message[len(HEADER) :]

    async def call(self, message: bytes) -> bytes:
        await self.send(message)
        return await self.answer()


@asynccontextmanager
async def serving(config: Config) -> AsyncIterator[tuple[str, int]]:
    """hsmd.app.run with `config` until the block ends (SIGTERM); yields its TCP address."""
    async with trio.open_nursery() as nursery:
        with trio.fail_after(TIMEOUT):
            [address, *_] = await nursery.start(run, config)
        yield address
        os.kill(os.getpid(), signal.SIGTERM)


@pytest.fixture(autouse=True)
def no_stray_signals() -> Iterator[None]:
    """A SIGTERM/SIGHUP that arrives while hsmd has no receiver open must not kill pytest."""
    previous = {signum: signal.signal(signum, lambda *_: None) for signum in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def volumes(j5: bytes) -> dict[str, int]:
    """J4's answer (J500 + serial, three date-times, seconds, then command code + count (12 N) each)."""
    assert j5[:4] == b"J500"
    tail = j5[4 + 12 + 36 + 10 :].decode("ascii")
    return {tail[i : i + 2]: int(tail[i + 2 : i + 14]) for i in range(0, len(tail), 14)}


# --- the pool -----------------------------------------------------------------------------


@pytest.mark.wasm
async def test_requests_go_to_every_worker_the_last_to_answer_first_and_j4_counts_them_all(worker_plugins: Path) -> None:
    status = UnitStatus()
    async with open_worker_pool(worker_config(worker_plugins), status) as pool:
        # ZF C answers how many calls its instance served. Two at once: one on each worker. Then one
        # at a time: each on the worker that answered last (its process is the one still awake).
        together = await at_once(pool, frame(b"ZFC"), frame(b"ZFC"))
        one_by_one = [await pool.handle(frame(b"ZFC")) for _ in range(2)]
        for i in range(5):
            assert await pool.handle(frame(b"B2" + b"0001" + str(i).encode())) == HEADER + b"B300" + str(i).encode()
        j4 = await at_once(pool, frame(b"J4"), frame(b"J4"))  # one on each worker: both count the whole unit
        j4_after = await pool.handle(frame(b"J4"))
    assert together == [HEADER + b"ZG001"] * 2
    assert one_by_one == [HEADER + b"ZG002", HEADER + b"ZG003"]
    assert [volumes(answer[len(HEADER) :]) for answer in j4] == [{"B2": 5, "ZF": 4}] * 2
    assert volumes(j4_after[len(HEADER) :]) == {"B2": 5, "J4": 2, "ZF": 4}
    assert status.counts() == {"B2": 5, "J4": 3, "ZF": 4}


@pytest.mark.wasm
async def test_the_main_process_counts_answers_refusals_and_faults_from_the_workers(worker_plugins: Path) -> None:
    status = UnitStatus()
    async with open_worker_pool(worker_config(worker_plugins, 1), status) as pool:
        assert await pool.handle(frame(b"ZFT")) == HEADER + b"ZG41"  # a trap
        assert await pool.handle(frame(b"ZFX")) == HEADER + b"ZG15"  # the plugin's own error
        assert await pool.handle(frame(b"XX")) == HEADER + b"XY68"  # no plugin
        assert await pool.handle(frame(b"NC" + b"\x19tr")) == HEADER + b"ND00" + await nc_fields(pool) + b"\x19tr"
    assert status.answers == {("ZF", "41"): 1, ("ZF", "15"): 1, ("NC", "00"): 2}
    assert status.refused == {"XX": 1}
    assert pool.faults == {"unreachable": 1}
    assert pool.plugins["ZF"].faults == 1


async def nc_fields(pool: WorkerPool) -> bytes:
    return (await pool.handle(frame(b"NC")))[len(HEADER) + 4 :]


@pytest.mark.wasm
async def test_a_request_running_to_its_deadline_holds_only_its_own_worker(worker_plugins: Path) -> None:
    # Fuel to spare: ZF L runs until its deadline (3 s), while NC keeps being answered by the other worker.
    config = worker_config(worker_plugins, deadline_ms=3000, fuel=10**13)
    order: list[str] = []
    async with open_worker_pool(config, UnitStatus()) as pool:

        async def slow() -> None:
            assert await pool.handle(frame(b"ZFL")) == HEADER + b"ZG41"
            order.append("ZF L")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(slow)
            await until(lambda: busy(pool) == 1)
            for _ in range(20):
                assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")
                order.append("NC")
    assert order == ["NC"] * 20 + ["ZF L"]


def record_polls(monkeypatch: pytest.MonkeyPatch, poll: float) -> list[bool]:
    """Poll for a lone request's answer for up to `poll` seconds, as on a machine with 2 CPUs;
    what each poll that ran found: True (the answer was there), False (it gave up)."""
    monkeypatch.setattr(hsmd.workers, "cpu_count", lambda **_: 2)
    monkeypatch.setattr(hsmd.workers, "ALONE_POLL", poll)
    found: list[bool] = []
    original = WorkerPool.poll_lone_answer

    def recording(pool: WorkerPool, limit: float) -> bool | None:
        result = original(pool, limit)
        if result is not None:
            found.append(result)
        return result

    monkeypatch.setattr(WorkerPool, "poll_lone_answer", recording)
    return found


@pytest.mark.wasm
async def test_the_answer_to_a_request_the_pool_holds_alone_is_polled_for_before_the_event_loop_sleeps(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A poll long enough for any machine (the deadline bounds it): it ends once the answer is there.
    found = record_polls(monkeypatch, TIMEOUT)
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(worker_config(worker_plugins), UnitStatus()) as pool:
            for _ in range(3):
                assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")
                assert (await pool.handle(frame(b"B20005hello"))) == HEADER + b"B300hello"
    assert found == [True] * 6


def record_lingers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Request.linger of each request the pool sends, in order."""
    lingers: list[bool] = []

    def recording(message: Message) -> bytes:
        if isinstance(message, Request):
            lingers.append(message.linger)
        return encode(message)

    monkeypatch.setattr(hsmd.workers, "encode", recording)
    return lingers


@pytest.mark.wasm
async def test_with_one_cpu_nothing_is_polled_for(worker_plugins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = record_polls(monkeypatch, TIMEOUT)
    lingers = record_lingers(monkeypatch)
    monkeypatch.setattr(hsmd.workers, "cpu_count", lambda **_: 1)
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(worker_config(worker_plugins), UnitStatus()) as pool:
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")
    assert found == []
    assert lingers == [False]  # nor does a worker poll for the next request


@pytest.mark.wasm
async def test_only_a_request_the_pool_holds_alone_with_one_client_asks_its_worker_to_linger(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hsmd.workers, "cpu_count", lambda **_: 2)
    lingers = record_lingers(monkeypatch)
    status = UnitStatus()
    port = PortStatus("tcp", "127.0.0.1", 1500, connections=1)
    status.ports.append(port)
    # Fuel to spare: ZF L runs until its deadline (1 s).
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(worker_config(worker_plugins, fuel=10**13), status) as pool, trio.open_nursery() as nursery:
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")  # alone, one client: linger
            port.connections = 2
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")  # another client may send next
            port.connections = 1

            async def slow() -> None:
                assert await pool.handle(frame(b"ZFL")) == HEADER + b"ZG41"

            nursery.start_soon(slow)  # alone too: linger
            await until(lambda: busy(pool) == 1)
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")  # ZF L in flight
            await until(lambda: busy(pool) == 0)
            udp = PortStatus("udp", "127.0.0.1", 1500)
            status.ports.append(udp)
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")  # a UDP port with no traffic
            udp.last_datagram = time.monotonic()
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")  # any number of UDP clients sending
            assert pool.poll_lone_answer(TIMEOUT) is None  # nor does the pool poll
    assert lingers == [True, False, True, False, True, False]


@pytest.mark.wasm
async def test_a_worker_still_polling_for_the_next_request_gets_it_before_the_last_to_answer(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hsmd.workers, "cpu_count", lambda **_: 2)
    monkeypatch.setattr(hsmd.workers, "ALONE_POLL", TIMEOUT)  # as the pool counts it: lingering all the test
    sent_to: list[tuple[int, bool]] = []
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(worker_config(worker_plugins), UnitStatus()) as pool:
            send = pool._send

            def spy(worker: Any, call: Any) -> bool:
                sent_to.append((worker.index, call.linger))
                return send(worker, call)

            monkeypatch.setattr(pool, "_send", spy)
            # A batch of two: the first frame is alone when sent, and its worker lingers; the second is not.
            assert await at_once(pool, frame(b"B20002ok"), frame(b"B20002ok")) == [HEADER + b"B300ok"] * 2
            [(lingering, first), (other, second)] = sent_to
            assert (first, second) == (True, False)
            workers = {worker.index: worker for worker in pool._slots if worker is not None}
            pool._free = deque([workers[other], workers[lingering]])  # as if the other had answered last
            for _ in range(2):
                assert await pool.handle(frame(b"B20002ok")) == HEADER + b"B300ok"
    assert sent_to[2:] == [(lingering, True), (lingering, True)]


def test_a_worker_asked_to_linger_polls_for_the_next_request_before_it_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    main, worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    flags: list[int] = []
    receive = receive_packet

    def recording(sock: socket.socket, buffer: bytearray, how: int = 0) -> bytes:
        flags.append(how)
        return receive(sock, buffer, how)

    monkeypatch.setattr(hsmd.worker, "receive_packet", recording)
    channel = hsmd.worker._Channel(worker)
    with main, worker:
        main.send(encode(FROM_MAIN[1]))
        assert channel.receive() == FROM_MAIN[1]
        assert flags == [0]  # not asked to linger: straight to the blocking receive
        flags.clear()
        main.send(encode(FROM_MAIN[2]))
        assert channel.receive(linger=True) == FROM_MAIN[2]
        assert flags == [socket.MSG_DONTWAIT]  # there already: the poll takes it
        flags.clear()

        def send_once_asleep() -> None:
            deadline = time.monotonic() + TIMEOUT
            while 0 not in flags and time.monotonic() < deadline:
                time.sleep(0.001)
            main.send(encode(FROM_MAIN[1]))

        late = threading.Thread(target=send_once_asleep)
        late.start()
        assert channel.receive(linger=True) == FROM_MAIN[1]
        late.join()
        # Nothing within the poll (ALONE_POLL, tried at least once): it gave up and slept in the blocking receive.
        assert set(flags[:-1]) == {socket.MSG_DONTWAIT} and flags[-1] == 0


@pytest.mark.wasm
async def test_the_poll_is_only_for_a_lone_request_not_yet_slow_and_gives_up_in_time(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hsmd.workers, "cpu_count", lambda **_: 1)  # no poll but those asked for here
    monkeypatch.setattr(hsmd.workers, "ALONE_POLL", TIMEOUT)
    # Fuel to spare: ZF L runs until its deadline (1 s).
    config = worker_config(worker_plugins, fuel=10**13)
    status = UnitStatus()
    port = PortStatus("tcp", "127.0.0.1", 1500, connections=1)
    status.ports.append(port)
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(config, status) as pool, trio.open_nursery() as nursery:

            async def slow() -> None:
                assert await pool.handle(frame(b"ZFL")) == HEADER + b"ZG41"

            assert pool.poll_lone_answer(TIMEOUT) is None  # nothing in flight
            nursery.start_soon(slow)
            await until(lambda: busy(pool) == 1)
            assert pool.poll_lone_answer(0.01) is False  # alone, and not answered within 10 ms
            port.connections = 2
            assert pool.poll_lone_answer(TIMEOUT) is None  # another client could be waiting for its turn
            port.connections = 1
            await trio.sleep(0.002)
            monkeypatch.setattr(hsmd.workers, "ALONE_POLL", 0.001)
            assert pool.poll_lone_answer(TIMEOUT) is None  # it has run longer than a poll: slow, not polled for
            monkeypatch.setattr(hsmd.workers, "ALONE_POLL", TIMEOUT)
            nursery.start_soon(slow)
            await until(lambda: busy(pool) == 2)
            assert pool.poll_lone_answer(TIMEOUT) is None  # two in flight: no poll


@pytest.mark.wasm
async def test_frames_of_one_batch_are_all_in_flight_before_any_poll(worker_plugins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The poll runs only once every task has run: both NCs are sent to a worker before it.
    record_polls(monkeypatch, TIMEOUT)
    held: list[int] = []
    polling = WorkerPool.poll_lone_answer

    def recording(pool: WorkerPool, limit: float) -> bool | None:
        held.append(sum(len(w.pending) for w in pool._slots if w is not None))
        return polling(pool, limit)

    monkeypatch.setattr(WorkerPool, "poll_lone_answer", recording)
    answers: list[bytes] = []
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(worker_config(worker_plugins), UnitStatus()) as pool:
            held.clear()

            async def nc() -> None:
                answers.append(await pool.handle(frame(b"NC")))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(nc)
                nursery.start_soon(nc)
    assert len(answers) == 2 and all(a.startswith(HEADER + b"ND00") for a in answers)
    assert held[0] == 2


async def zf_l_running(pool: WorkerPool, monkeypatch: pytest.MonkeyPatch, nursery: trio.Nursery, order: list[str]) -> list[Any]:
    """Start ZF L (until its 5 s deadline) on one worker; the calls sent to its channel from then on.
    With STUCK long, `_pick` takes that worker for one more busy worker like any other."""
    monkeypatch.setattr(hsmd.workers, "STUCK", 60.0)

    async def slow_call() -> None:
        assert await pool.handle(frame(b"ZFL")) == HEADER + b"ZG41"
        order.append("ZF L")

    nursery.start_soon(slow_call)
    await until(lambda: busy(pool) == 1)
    [slow] = [worker for worker in pool._slots if worker is not None and worker.pending]
    behind: list[Any] = []
    send = pool._send

    def spy(worker: Any, call: Any) -> bool:
        if worker is slow:
            behind.append(call)
        return send(worker, call)

    monkeypatch.setattr(pool, "_send", spy)
    return behind


@pytest.mark.wasm
async def test_a_request_queued_behind_a_slow_one_is_taken_back_by_the_worker_that_runs_out_of_work(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = worker_config(worker_plugins, deadline_ms=5000, fuel=10**13)
    order: list[str] = []
    async with open_worker_pool(config, UnitStatus()) as pool:

        async def nc() -> None:
            assert (await pool.handle(frame(b"NC"))).startswith(HEADER + b"ND00")
            order.append("NC")

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                behind = await zf_l_running(pool, monkeypatch, nursery, order)
                for _ in range(6):
                    nursery.start_soon(nc)
                with trio.fail_after(2.5):  # ZF L runs until 5 s
                    await until(lambda: order.count("NC") == 6)
    assert behind, "no NC was sent to ZF L's worker"
    assert order == ["NC"] * 6 + ["ZF L"]


@pytest.mark.wasm
async def test_under_load_requests_queued_behind_a_stuck_worker_go_to_the_next_that_answers(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twenty tasks keep requests waiting, so the other worker never runs out of work: only the
    # rule for a stuck worker (its request has run STUCK) gets the two queued behind ZF L out.
    config = worker_config(worker_plugins, deadline_ms=5000, fuel=10**13)
    order: list[str] = []
    stop = trio.Event()
    async with open_worker_pool(config, UnitStatus()) as pool:

        async def load() -> None:
            while not stop.is_set():
                assert await pool.handle(frame(b"B20002ok")) == HEADER + b"B300ok"

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                behind = await zf_l_running(pool, monkeypatch, nursery, order)
                for _ in range(20):
                    nursery.start_soon(load)
                await until(lambda: len(behind) == 2 and len(pool._waiting) > 10)
                monkeypatch.setattr(hsmd.workers, "STUCK", 0.002)
                with trio.fail_after(2.5):
                    await until(lambda: all(call.done.is_set() for call in behind))
                stop.set()
    assert order == ["ZF L"]


@pytest.mark.wasm
async def test_a_stopped_worker_loses_its_queue_to_the_other_and_serves_again_once_it_runs(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SIGSTOP: what is sent to it stays unread, so it looks stuck and everything sent to it is
    # taken back. It must still be handed requests afterwards (it is free, not forgotten).
    async with open_worker_pool(worker_config(worker_plugins), UnitStatus()) as pool:
        stopped = pool._slots[1]
        assert stopped is not None
        sent_to: list[int] = []
        send = pool._send

        def spy(worker: Any, call: Any) -> bool:
            sent_to.append(worker.index)
            return send(worker, call)

        os.kill(stopped.process.pid, signal.SIGSTOP)
        try:
            with trio.fail_after(TIMEOUT):
                answers: list[bytes] = []
                async with trio.open_nursery() as nursery:

                    async def b2(i: int) -> None:
                        answers.append(await pool.handle(frame(b"B20002%02d" % i)))

                    for i in range(60):
                        nursery.start_soon(b2, i)
                    await until(lambda: len(answers) >= 59)
                    os.kill(stopped.process.pid, signal.SIGCONT)
            assert sorted(answers) == sorted(HEADER + b"B300%02d" % i for i in range(60))
            monkeypatch.setattr(pool, "_send", spy)
            for _ in range(3):
                assert await at_once(pool, frame(b"B20002ok"), frame(b"B20002ok")) == [HEADER + b"B300ok"] * 2
        finally:
            os.kill(stopped.process.pid, signal.SIGCONT)
    assert sent_to.count(1) == 3  # two requests at once: one on each worker, the one stopped before included


@pytest.mark.wasm
async def test_requests_a_dead_worker_had_not_received_go_to_another_and_only_its_own_costs_a_41(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hsmd.workers, "STUCK", 60.0)  # so the two B2 are queued behind ZF L
    config = worker_config(worker_plugins, 1, deadline_ms=10_000, fuel=10**13)
    status = UnitStatus()
    answers: dict[str, bytes] = {}
    async with open_worker_pool(config, status) as pool:

        async def call(message: bytes, name: str) -> None:
            answers[name] = await pool.handle(frame(message))

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(call, b"ZFL", "slow")
                await until(lambda: busy(pool) == 1)
                [pid] = pool.running()
                await looping(pid)
                nursery.start_soon(call, b"B20003one", "one")  # both wait in its channel (DEPTH 3)
                nursery.start_soon(call, b"B20003two", "two")
                await until(lambda: pool._slots[0] is not None and len(pool._slots[0].pending) == 3)
                os.kill(pid, signal.SIGKILL)
    assert answers == {"slow": HEADER + b"ZG41", "one": HEADER + b"B300one", "two": HEADER + b"B300two"}
    assert pool.faults == {"worker": 1}
    assert pool.restarts == 1
    assert status.answers == {("ZF", "41"): 1, ("B2", "00"): 2}


@pytest.mark.wasm
async def test_a_worker_killed_while_it_runs_a_request_costs_that_request_one_41_and_is_replaced(worker_plugins: Path, logs: Logs) -> None:
    config = worker_config(worker_plugins, deadline_ms=10_000, fuel=10**13)
    status = UnitStatus()
    answers: list[bytes] = []
    async with open_worker_pool(config, status) as pool:

        async def slow() -> None:
            REQUEST_ID.set("slow-1")
            answers.append(await pool.handle(frame(b"ZFL")))

        async def load(until_done: trio.Event) -> None:
            while not until_done.is_set():
                answers.append(await pool.handle(frame(b"B20002ok")))

        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(load, done)
            nursery.start_soon(slow)
            await until(lambda: "slow-1" in pool.running().values())
            [pid] = [pid for pid, held in pool.running().items() if held == "slow-1"]
            await looping(pid)
            os.kill(pid, signal.SIGKILL)
            await until(lambda: pool.restarts == 1 and pool.alive == 2)
            answers.append(await pool.handle(frame(b"ZFE" + b"after")))  # the new worker serves too
            done.set()
        [died] = logs.events("worker died")
    assert answers.count(HEADER + b"ZG41") == 1
    assert set(answers) == {HEADER + b"ZG41", HEADER + b"B300ok", HEADER + b"ZG00after"}
    assert (died["pid"], died["how"], died["request_id"]) == (pid, "killed by SIGKILL", "slow-1")
    assert pool.faults == {"worker": 1}
    assert status.answers["ZF", "41"] == 1


@pytest.mark.wasm
async def test_a_worker_killed_while_free_costs_no_request(worker_plugins: Path) -> None:
    status = UnitStatus()
    async with open_worker_pool(worker_config(worker_plugins), status) as pool:
        pids = list(pool.running())
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        # A request handed a dying worker its supervisor has not noticed yet finds its socket closed
        # (or closed with the request unread) and goes to another worker: none is lost.
        await until(lambda: all(exited(pid) for pid in pids))
        answers = [await pool.handle(frame(b"B20002ok")) for _ in range(10)]
        await until(lambda: pool.restarts == 2 and pool.alive == 2)
    assert answers == [HEADER + b"B300ok"] * 10
    assert pool.faults == {}


@pytest.mark.wasm
async def test_closing_the_pool_with_cancelled_requests_queued_behind_a_busy_worker_settles_them_all(worker_plugins: Path) -> None:
    # One worker, busy with ZF L (fuel to spare: it runs to its 3 s deadline); six NCs behind it.
    # Their callers are cancelled, then the pool is closed while ZF L still runs: the worker is
    # killed, nothing is left queued, nothing hangs.
    config = worker_config(worker_plugins, workers=1, deadline_ms=3000, fuel=10**13)
    cancelled = 0
    with trio.fail_after(TIMEOUT):
        async with open_worker_pool(config, UnitStatus()) as pool, trio.open_nursery() as nursery:

            async def nc(scope: trio.CancelScope) -> None:
                nonlocal cancelled
                with scope:
                    await pool.handle(frame(b"NC"))
                cancelled += scope.cancelled_caught

            nursery.start_soon(pool.handle, frame(b"ZFL"))
            await until(lambda: busy(pool) == 1)
            scopes = [trio.CancelScope() for _ in range(6)]
            for scope in scopes:
                nursery.start_soon(nc, scope)
            await until(lambda: len(pool._waiting) + sum(len(w.pending) for w in pool._slots if w is not None) == 7)
            for scope in scopes:
                scope.cancel()
            await until(lambda: cancelled == 6)
            assert not pool._waiting  # a cancelled caller takes its request out of the queue
            nursery.cancel_scope.cancel()  # ZF L's caller too; its worker is killed when the pool closes
        assert not pool._waiting
        assert all(worker is None or worker.dead for worker in pool._slots)


@pytest.mark.wasm
async def test_a_reload_reaches_every_worker_while_the_others_serve(worker_plugins: Path, tmp_path: Path) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "B2.wasm").symlink_to((worker_plugins / "B2.wasm").resolve())
    async with open_worker_pool(worker_config(directory), UnitStatus()) as pool:
        before = [await pool.handle(frame(b"ZFC")) for _ in range(2)]
        (directory / "ZF.wasm").symlink_to((worker_plugins / "ZF.wasm").resolve())
        loaded, refused = await pool.reload()
        after = [await at_once(pool, frame(b"ZFC"), frame(b"ZFC")) for _ in range(2)]
    assert before == [HEADER + b"ZG68"] * 2
    assert (loaded, refused) == (["B2", "ZF"], 0)
    assert after == [[HEADER + b"ZG001"] * 2, [HEADER + b"ZG002"] * 2]  # both workers serve ZF now


def with_custom_section(component: bytes) -> bytes:
    """The same component with a custom section appended: another digest, so not in the compile cache."""
    name, payload = b"hsmd-test", os.urandom(16)
    content = bytes([len(name)]) + name + payload
    return component + b"\x00" + bytes([len(content)]) + content


@pytest.mark.wasm
async def test_a_reload_cut_short_kills_the_worker_reloading_and_the_pool_serves_on(worker_plugins: Path, tmp_path: Path) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "B2.wasm").symlink_to((worker_plugins / "B2.wasm").resolve())
    async with open_worker_pool(worker_config(directory), UnitStatus()) as pool:
        pids = list(pool.running())
        # A plugin the cache has never seen: compiling it takes seconds, the reload is cancelled meanwhile.
        (directory / "ZF.wasm").write_bytes(with_custom_section((worker_plugins / "ZF.wasm").read_bytes()))
        with trio.move_on_after(1.0):
            await pool.reload()
            raise AssertionError("the reload finished before it was cut short")
        await until(lambda: pool.restarts == 1)
        killed = [pid for pid in pids if exited(pid)]
        answer = await pool.handle(frame(b"B20002ok"))  # by the worker that was not reloading yet
    assert len(killed) == 1
    assert answer == HEADER + b"B300ok"


@pytest.mark.wasm
async def test_a_worker_that_cannot_start_stops_start_up_with_one_line(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(hsmd.app.StartupError, match=r"^worker \d: exit code 1 before loading its plugins"):
        async with open_worker_pool(worker_config(worker_plugins), UnitStatus()):
            pass


def test_serve_with_a_worker_that_cannot_start_exits_1(worker_plugins: Path, monkeypatch: pytest.MonkeyPatch, logs: Logs) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert serve(worker_config(worker_plugins)) == 1
    [line] = logs.events("cannot start")
    assert line["reason"].startswith("worker ")


# --- hsmd serve with workers -----------------------------------------------------------------


@pytest.mark.wasm
async def test_pipelined_frames_run_on_several_workers_and_are_answered_in_order(worker_plugins: Path) -> None:
    config = worker_config(worker_plugins, deadline_ms=3000, fuel=10**13)
    async with serving(config) as address:
        conn, other = await Connection.open(address), await Connection.open(address)
        # ZF L holds one worker until its deadline; the frames behind it run on the other meanwhile
        # (J4 counts the two ZF E while ZF L is not counted yet), their answers wait for its answer.
        requests = [b"ZFL", b"ZFEone", b"ZFEtwo", *(b"B20002%02d" % i for i in range(5))]
        await conn.send(*requests)
        with trio.fail_after(TIMEOUT):
            while (seen := volumes(await other.call(b"J4"))).get("ZF", 0) < 2:
                await trio.sleep(0.01)
        answers = [await conn.answer() for _ in requests]
        again = await conn.call(b"NC")  # the connection is still served
    assert seen["ZF"] == 2
    assert answers == [b"ZG41", b"ZG00one", b"ZG00two", *(b"B300%02d" % i for i in range(5))]
    assert again.startswith(b"ND00")


@pytest.mark.wasm
async def test_nc_on_one_connection_is_answered_while_another_runs_a_deadline_bound_request(
    worker_plugins: Path, pools: list[WorkerPool]
) -> None:
    config = worker_config(worker_plugins, deadline_ms=3000, fuel=10**13)
    order: list[str] = []
    async with serving(config) as address:
        slow, fast = await Connection.open(address), await Connection.open(address)
        await slow.send(b"ZFL")

        async def wait_slow() -> None:
            assert await slow.answer() == b"ZG41"
            order.append("ZF L")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_slow)
            await until(lambda: busy(pools[0]) == 1)
            for _ in range(20):
                assert (await fast.call(b"NC")).startswith(b"ND00")
                order.append("NC")
    assert order == ["NC"] * 20 + ["ZF L"]


@pytest.mark.wasm
async def test_a_killed_worker_costs_its_connection_one_41_not_the_connection(
    worker_plugins: Path, logs: Logs, pools: list[WorkerPool]
) -> None:
    config = worker_config(worker_plugins, deadline_ms=10_000, fuel=10**13)
    async with serving(config) as address:
        conn = await Connection.open(address)
        await conn.send(b"ZFL")
        await until(lambda: busy(pools[0]) == 1)
        [running] = [pid for pid, held in pools[0].running().items() if held is not None]
        await looping(running)
        children = list(pools[0].running())  # the one running ZF L, and the other one, free
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        lost = await conn.answer()
        await logs.wait_for("worker started", count=4, timeout=TIMEOUT)
        after = [await conn.call(b"B20002ok") for _ in range(4)]
    assert lost == b"ZG41"
    assert after == [b"B300ok"] * 4
    died = logs.events("worker died")
    assert sorted(line["pid"] for line in died) == sorted(children)
    assert sum(line["request_id"] is not None for line in died) == 1


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def looping(pid: int) -> None:
    """Wait until worker `pid` runs ZF L: it burns CPU (a worker waiting for a request burns none).
    Killed before it has read the request, it would not hold it: the request would go to another."""
    start = cpu_ticks(pid)
    await until(lambda: cpu_ticks(pid) >= start + 5)


def exited(pid: int) -> bool:
    """`pid` is gone or a zombie: its sockets are closed."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.wasm
async def test_sighup_reloads_every_worker_and_sigterm_stops_them(
    worker_plugins: Path, tmp_path: Path, logs: Logs, pools: list[WorkerPool]
) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "B2.wasm").symlink_to((worker_plugins / "B2.wasm").resolve())
    async with trio.open_nursery() as nursery:
        with trio.fail_after(TIMEOUT):
            [address, *_] = await nursery.start(run, worker_config(directory))
        conn = await Connection.open(address)
        before = await conn.call(b"ZFC")
        children = list(pools[0].running())
        (directory / "ZF.wasm").symlink_to((worker_plugins / "ZF.wasm").resolve())
        os.kill(os.getpid(), signal.SIGHUP)
        [reloaded] = await logs.wait_for("plugins reloaded", timeout=TIMEOUT)
        after = []
        for _ in range(2):  # two pipelined frames: one on each worker
            await conn.send(b"ZFC", b"ZFC")
            after += [await conn.answer(), await conn.answer()]
        os.kill(os.getpid(), signal.SIGTERM)
    assert before == b"ZG68"
    assert reloaded["loaded"] == ["B2", "ZF"]
    assert after == [b"ZG00" + n for n in (b"1", b"1", b"2", b"2")]  # both workers serve ZF now
    for pid in children:  # every worker exited with the unit
        assert not Path(f"/proc/{pid}").exists() or b"hsmd.worker" not in Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.wasm
async def test_sigterm_during_a_reload_stops_without_waiting_for_it(
    worker_plugins: Path, tmp_path: Path, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "B2.wasm").symlink_to((worker_plugins / "B2.wasm").resolve())
    reloading = trio.Event()

    async def endless_reload(self: WorkerPool) -> tuple[list[str], int]:
        reloading.set()
        await trio.sleep_forever()  # a reload compiling a large plugin, as far as the stop is concerned
        raise AssertionError

    monkeypatch.setattr(WorkerPool, "reload", endless_reload)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(TIMEOUT):
            await nursery.start(run, worker_config(directory))
        os.kill(os.getpid(), signal.SIGHUP)
        await reloading.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(TIMEOUT):
            await logs.wait_for("hsmd exited", timeout=TIMEOUT)
    assert logs.events("reload cut short: stopping")


@pytest.mark.wasm
async def test_udp_and_post_run_use_the_worker_pool_and_metrics_count_the_workers(worker_plugins: Path, tmp_path: Path, logs: Logs) -> None:
    base = worker_config(worker_plugins)
    config = replace(
        base,
        udp=replace(base.udp, enabled=True, host="127.0.0.1", port=free_udp_port()),
        http=HttpConfig(enabled=True, host="127.0.0.1", port=0, token_file=write_token(tmp_path / "token", TOKEN.decode())),
    )
    async with serving(config) as address:
        port = int((await wait_for_listening(logs, "http")).rpartition(":")[2])
        run_answer = await post_run(port, {"command": "B2", "request": "0002ok"})
        udp = trio.socket.socket(type=trio.socket.SOCK_DGRAM)
        await udp.sendto(encode_frame(HEADER + b"B20003udp"), ("127.0.0.1", config.udp.port))
        with trio.fail_after(TIMEOUT):
            datagram = await udp.recv(70_000)
        udp.close()
        tcp = await (await Connection.open(address)).call(b"J4")
        metrics = (await http(port, "GET", "/metrics")).body.decode()
        plugins = (await http(port, "GET", "/plugins")).json()
    assert run_answer.json()["response"] == "B300ok"
    assert datagram == encode_frame(HEADER + b"B300udp")
    assert volumes(tcp) == {"B2": 2}  # /run and UDP, counted by this process whichever worker ran them
    assert value(metrics, "hsmd_workers") == 2
    assert value(metrics, "hsmd_worker_restarts_total") == 0
    assert value(metrics, "hsmd_requests_total", command="B2", code="00") == 2
    assert [plugin["command"] for plugin in plugins] == ["B2", "J4", "NC", "ZF"]


async def wait_for_listening(logs: Logs, kind: str) -> str:
    with trio.fail_after(TIMEOUT):
        while not (found := [line for line in logs.events("listening") if line.get("kind") == kind]):
            await trio.sleep(0.01)
    [address] = found[0]["addresses"]
    return str(address)


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.wasm
async def test_ready_is_sent_once_every_worker_has_loaded_its_plugins(
    worker_plugins: Path, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    seen: list[tuple[str, int]] = []

    def notify(state: str) -> bool:
        seen.append((state.split("\n")[0], len(logs.events("worker started"))))
        return True

    monkeypatch.setattr(hsmd.systemd, "notify", notify)
    async with serving(worker_config(worker_plugins, 2)):
        pass
    assert seen[0] == ("READY=1", 2)
