"""hsmd.client: the sans-IO codec alone, then the blocking and trio clients against hsmd.server
(a fake dispatcher, over memory streams in virtual time, real TCP and TLS with trustme
certificates), the UDP client against a tiny responder, and the real plugins (wasm).

The blocking client runs in a worker thread (``trio.to_thread``) while the server runs in
the test's trio loop.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
import trio
import trio.testing
import trustme
from structlog.testing import capture_logs

import hsmd.client
from hsmd.client import (
    Answer,
    AnswerMismatch,
    ClientClosed,
    ClientProtocol,
    ConnectFailed,
    ConnectionLost,
    MalformedAnswer,
    Timeout,
    TrioClient,
    UdpClient,
    connect,
    connect_udp,
    open_trio,
)
from hsmd.client.codec import Sent, answer_from_datagram, request_message
from hsmd.error_codes import MEANINGS, meaning
from hsmd.host import TEST_LMK
from hsmd.protocol import NEED_DATA, FrameTooLarge, encode
from hsmd.server import Limits, Server
from tests.conftest import FIRMWARE
from tests.fake_server import FakeDispatcher, closed_port, serving, udp_responder
from tests.tcp import HEADER, config_for, serving_plugins

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _quiet_server() -> Iterator[None]:
    """The servers' log lines are not what these tests are about."""
    with capture_logs():
        yield


NC_FIELDS = TEST_LMK.check_value.encode("ascii") + FIRMWARE.encode("ascii")


class OneConnection(trio.abc.Listener[trio.abc.Stream]):
    """A listener that accepts one in-memory connection, then waits for ever."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream: trio.abc.Stream | None = stream

    async def accept(self) -> trio.abc.Stream:
        if self._stream is None:
            await trio.sleep_forever()
        stream, self._stream = self._stream, None
        assert stream is not None
        return stream

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


@asynccontextmanager
async def memory_client(timeout: float | None = 10.0) -> AsyncIterator[TrioClient]:
    """A TrioClient (header HEAD) on a memory stream to a Server with a FakeDispatcher."""
    dispatcher = FakeDispatcher()
    server = Server(dispatcher, header_len=4, limits=Limits())
    client_side, server_side = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve_listeners, [OneConnection(server_side)])
        async with TrioClient(client_side, header="HEAD", timeout=timeout) as client:
            yield client
        dispatcher.release.set()
        server.shutdown()


async def in_thread(call: Callable[[], T]) -> T:
    return await trio.to_thread.run_sync(call)


# --- API and codec --------------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    assert sorted(hsmd.client.__all__) == [
        "Answer",
        "AnswerMismatch",
        "Client",
        "ClientClosed",
        "ClientError",
        "ClientProtocol",
        "ConnectFailed",
        "ConnectionLost",
        "DEFAULT_HEADER",
        "DEFAULT_PORT",
        "DEFAULT_TLS_PORT",
        "MalformedAnswer",
        "Request",
        "Timeout",
        "TrioClient",
        "UdpClient",
        "connect",
        "connect_udp",
        "open_trio",
    ]


@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        ("NC", b"\x00\x06HEADNC"),
        (b"B20005hello", b"\x00\x0fHEADB20005hello"),
        (("B2", "0005hello"), b"\x00\x0fHEADB20005hello"),
        ((b"B2", b"\x00\x01"), b"\x00\x08HEADB2\x00\x01"),
    ],
)
def test_a_request_is_the_header_the_command_and_its_fields_framed(request_: hsmd.client.Request, wire: bytes) -> None:
    """Text or bytes, joined or as a (command, fields) pair: the same frame."""
    assert request_message(b"HEAD", request_)[0] == wire


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ("N", "starts with a 2-character command code"),
        (("NCX", ""), "a command code is 2 characters"),
        ("NC€", "must be ASCII"),
        (("B2", "0005héllo"), "must be ASCII"),
    ],
)
def test_a_request_without_a_command_code_or_with_non_ascii_text_is_refused(request_: hsmd.client.Request, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request_message(b"HEAD", request_)


def test_a_request_over_65535_bytes_is_refused() -> None:
    with pytest.raises(FrameTooLarge):
        request_message(b"HEAD", ("B2", b"x" * 65530))


@pytest.mark.parametrize("header", ["x" * 33, "ÄÖ"])
def test_a_header_over_32_characters_or_not_ascii_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="header"):
        ClientProtocol(header)


def test_sending_is_all_or_nothing() -> None:
    """A bad request among good ones raises before any of them counts as sent."""
    protocol = ClientProtocol("HEAD")
    with pytest.raises(ValueError):
        protocol.send(["NC", "N"])
    assert protocol.pending == 0


def answers_three_ways(wire: bytes, requests: list[hsmd.client.Request]) -> list[Answer]:
    """Read ``wire`` whole and byte by byte; both must give the same answers."""
    results = []
    for chunks in ([wire], [wire[i : i + 1] for i in range(len(wire))]):
        protocol = ClientProtocol("HEAD")
        protocol.send(requests)
        answers = []
        for chunk in chunks:
            protocol.receive_data(chunk)
            while (answer := protocol.next_answer()) is not NEED_DATA:
                answers.append(answer)
        assert protocol.pending == 0
        results.append(answers)
    assert results[0] == results[1]
    return results[0]


def test_an_answer_is_split_into_response_code_error_code_and_fields() -> None:
    [answer] = answers_three_ways(encode(b"HEADND00" + NC_FIELDS), ["NC"])
    assert answer == Answer(b"HEAD", "ND", "00", NC_FIELDS, None, b"HEADND00" + NC_FIELDS)
    assert answer.ok
    assert answer.meaning == "no error"


def test_pipelined_answers_come_out_in_request_order() -> None:
    wire = encode(b"HEADND00") + encode(b"HEADB300hello") + encode(b"HEADXY68")
    answers = answers_three_ways(wire, ["NC", "B20005hello", "XX"])
    assert [(a.response_code, a.error_code, a.fields) for a in answers] == [("ND", "00", b""), ("B3", "00", b"hello"), ("XY", "68", b"")]
    assert not answers[2].ok
    assert answers[2].meaning == "command has been disabled"


def test_the_trailer_is_split_off_when_the_request_carried_one() -> None:
    [answer] = answers_three_ways(encode(b"HEADB300hi\x19tag"), ["B20002hi\x19tag"])
    assert (answer.fields, answer.trailer) == (b"hi", b"tag")


def test_fields_that_end_like_a_trailer_stay_whole_when_the_request_carried_none() -> None:
    """Binary fields may end in 0x19 + printable bytes (N0's random data): not a trailer."""
    [answer] = answers_three_ways(encode(b"HEADN100\x01\x19ab"), ["N0"])
    assert (answer.fields, answer.trailer) == (b"\x01\x19ab", None)


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        (b"XXXXND00", AnswerMismatch, "answer header b'XXXX'"),
        (b"HEADNC00", AnswerMismatch, "answer response code b'NC' is not the request's b'ND'"),
        (b"HEADND0", MalformedAnswer, "too short"),
        (b"HE", AnswerMismatch, "answer header b'HE'"),
    ],
)
def test_an_answer_not_to_the_request_is_an_error(message: bytes, error: type[Exception], text: str) -> None:
    """Another header or response code: out of step; too short for the codes: malformed."""
    protocol = ClientProtocol("HEAD")
    protocol.send(["NC"])
    protocol.receive_data(encode(message))
    with pytest.raises(error, match=text.replace("(", r"\(")):
        protocol.next_answer()


def test_an_answer_no_request_waits_for_is_an_error() -> None:
    protocol = ClientProtocol("HEAD")
    protocol.receive_data(encode(b"HEADND00"))
    with pytest.raises(MalformedAnswer, match=r"^an answer of \d+ bytes no request is waiting for$"):
        protocol.next_answer()


def test_a_datagram_answer_must_be_exactly_one_frame() -> None:
    _, sent = request_message(b"HEAD", "NC")
    assert answer_from_datagram(encode(b"HEADND00"), sent).response_code == "ND"
    for datagram in (b"\x00\x09HEADND00", encode(b"HEADND00") + b"x", b"\x00"):
        with pytest.raises(MalformedAnswer, match="not exactly one frame"):
            answer_from_datagram(datagram, sent)


def test_sent_records_what_the_answer_is_checked_against() -> None:
    assert request_message(b"HEAD", "B20002hi\x19tag")[1] == Sent(b"HEAD", b"B3", b"tag")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("00", "no error"),
        ("68", "command has been disabled"),
        ("a4", "key block authentication failure"),
        ("B0", "invalid encryption mode"),
        ("be", "invalid key block header ID"),
        ("D2", "invalid curve reference"),  # FY answers it
    ],
)
def test_error_code_meanings(code: str, expected: str) -> None:
    assert meaning(code) == expected


@pytest.mark.parametrize("code", ["99", "ZZ", "C0", "A0", "", "0"])
def test_an_unknown_error_code_says_so(code: str) -> None:
    assert meaning(code) == "unknown error code"


def test_every_listed_code_is_two_characters_and_meaningful() -> None:
    assert all(len(code) == 2 and text for code, text in MEANINGS.items())


# --- trio client, memory streams, virtual time ----------------------------------------------


async def test_trio_pipeline_answers_in_request_order() -> None:
    """A hundred requests in one write; a hundred answers, each to its own request."""
    async with memory_client() as client:
        answers = await client.pipeline([("B2", b"%04d" % i) for i in range(100)])
    assert [a.fields for a in answers] == [b"%04d" % i for i in range(100)]


async def test_tasks_sharing_a_trio_client_take_turns() -> None:
    async with memory_client() as client:
        seen: dict[int, list[bytes]] = {0: [], 1: []}

        async def calls(task: int) -> None:
            for i in range(20):
                seen[task].append((await client.call("B2", b"%d-%02d" % (task, i))).fields)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(calls, 0)
            nursery.start_soon(calls, 1)
    assert seen == {task: [b"%d-%02d" % (task, i) for i in range(20)] for task in (0, 1)}


async def test_trio_timeout_fails_the_call_after_exactly_the_timeout_and_closes_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with memory_client(timeout=5.0) as client:
        start = trio.current_time()
        with pytest.raises(Timeout, match=r"no answer within the timeout of 5\.0 s"):
            await client.call("WT")
        assert trio.current_time() - start == pytest.approx(5.0)
        with pytest.raises(ClientClosed, match="closed by an earlier error"):
            await client.call("NC")


async def test_a_cancelled_trio_call_closes_the_client(autojump_clock: trio.testing.MockClock) -> None:
    """Its answer may still come: it could not be told from the next call's."""
    async with memory_client() as client:
        with trio.move_on_after(1):
            await client.pipeline(["NC", "WT"])
        with pytest.raises(ClientClosed):
            await client.call("NC")


async def test_a_trio_client_whose_server_goes_away_raises_connection_lost() -> None:
    client_side, server_side = trio.testing.memory_stream_pair()
    await server_side.aclose()
    async with TrioClient(client_side, header="HEAD") as client:
        with pytest.raises(ConnectionLost):
            await client.pipeline(["NC", "NC"])


async def test_a_trio_client_closes_idempotently_and_then_refuses_calls() -> None:
    async with memory_client() as client:
        await client.aclose()
        await client.aclose()
        with pytest.raises(ClientClosed, match=r"closed by aclose\(\)"):
            await client.call("NC")


async def test_a_bad_request_raises_value_error_and_leaves_the_trio_client_usable() -> None:
    async with memory_client() as client:
        with pytest.raises(ValueError):
            await client.pipeline(["NC", "N"])
        assert (await client.call("NC")).response_code == "ND"


# --- blocking and trio clients over real TCP ------------------------------------------------


async def test_blocking_call_and_pipeline() -> None:
    def work() -> tuple[Answer, list[Answer]]:
        with connect("127.0.0.1", port, header="HEAD") as client:
            return client.call("B2", "0005hello"), client.pipeline(["NC", ("B2", b"\x00\x01"), "ER"])

    async with serving() as port:
        one, many = await in_thread(work)
    assert one == Answer(b"HEAD", "B3", "00", b"0005hello", None, b"HEADB3000005hello")
    assert [(a.response_code, a.error_code, a.fields) for a in many] == [("ND", "00", b""), ("B3", "00", b"\x00\x01"), ("ES", "15", b"")]
    assert many[2].meaning == "invalid input data"


async def test_a_blocking_pipeline_longer_than_a_window_answers_every_request_in_order() -> None:
    """Sent in several writes, the answers of one read before the next is sent."""
    requests: list[hsmd.client.Request] = [("B2", b"%05d" % i + b"x" * 200) for i in range(1000)]  # about 210 KB

    def work() -> list[Answer]:
        with connect("127.0.0.1", port, header="HEAD") as client:
            return client.pipeline(requests)

    async with serving() as port:
        answers = await in_thread(work)
    assert [a.fields for a in answers] == [r[1] for r in requests if isinstance(r, tuple)]


async def test_trio_call_and_pipeline_over_tcp() -> None:
    async with serving() as port, await open_trio("127.0.0.1", port, header="HEAD") as client:
        one = await client.call("B2", "0005hello")
        many = await client.pipeline(["NC", "ER"])
    assert one.fields == b"0005hello"
    assert [(a.response_code, a.error_code) for a in many] == [("ND", "00"), ("ES", "15")]


@pytest.mark.parametrize(("command", "part"), [("HX", "header"), ("RC", "response code")])
async def test_an_answer_with_another_header_or_response_code_is_a_mismatch_and_closes_the_client(command: str, part: str) -> None:
    def work() -> None:
        with connect("127.0.0.1", port, header="HEAD") as client:
            with pytest.raises(AnswerMismatch) as info:
                client.call(command)
            assert info.value.part == part
            with pytest.raises(ClientClosed):
                client.call("NC")

    async with serving() as port:
        await in_thread(work)
        async with await open_trio("127.0.0.1", port, header="HEAD") as client:
            with pytest.raises(AnswerMismatch, match=part):
                await client.call(command)


async def test_a_header_shorter_than_the_servers_is_caught_as_a_mismatch() -> None:
    """Server header_len 6, client header 0000: the server reads "0000NC" as the header and answers ZZ15."""
    async with serving(header_len=6) as port, await open_trio("127.0.0.1", port, header="0000") as client:
        with pytest.raises(AnswerMismatch, match=r"response code b'NC' is not the request's b'ND'.*header_len"):
            await client.call("NC")


async def test_an_answer_without_an_error_code_is_malformed() -> None:
    async with serving() as port, await open_trio("127.0.0.1", port, header="HEAD") as client:
        with pytest.raises(MalformedAnswer, match="too short"):
            await client.call("SH")


async def test_a_blocking_call_that_gets_no_answer_in_time_raises_timeout_and_closes_the_client() -> None:
    def work() -> None:
        with connect("127.0.0.1", port, header="HEAD", timeout=0.2) as client:
            with pytest.raises(Timeout):
                client.call("WT")
            with pytest.raises(ClientClosed, match="Timeout"):
                client.call("NC")

    async with serving() as port:
        await in_thread(work)


async def test_connection_refused_is_connect_failed() -> None:
    port = closed_port(socket.SOCK_STREAM)
    with pytest.raises(ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}: Connection refused"):
        await in_thread(partial(connect, "127.0.0.1", port))
    with pytest.raises(ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}"):
        await open_trio("127.0.0.1", port)


async def test_the_blocking_client_closes_idempotently_and_then_refuses_calls() -> None:
    def work() -> None:
        client = connect("127.0.0.1", port, header="HEAD")
        client.close()
        client.close()
        with pytest.raises(ClientClosed, match=r"closed by close\(\)"):
            client.call("NC")

    async with serving() as port:
        await in_thread(work)


def test_a_zero_timeout_is_refused_before_connecting() -> None:
    """0 would make the socket non-blocking rather than "wait 0 seconds"."""
    with pytest.raises(ValueError, match="timeout"):
        connect("127.0.0.1", 1, timeout=0)


# --- TLS ------------------------------------------------------------------------------------


@dataclass
class Tls:
    ca: trustme.CA
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture
def tls() -> Tls:
    """A server certificate for 127.0.0.1 and a client that trusts its CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(ca, server, client)


async def test_blocking_and_trio_clients_over_tls(tls: Tls) -> None:
    def work() -> list[Answer]:
        with connect("127.0.0.1", port, header="HEAD", tls=tls.client) as client:
            return client.pipeline(["NC", "B20005hello"])

    async with serving(tls=tls.server) as port:
        blocking = await in_thread(work)
        async with await open_trio("127.0.0.1", port, header="HEAD", tls=tls.client) as client:
            trio_answers = await client.pipeline(["NC", "B20005hello"])
    assert [a.raw for a in blocking] == [a.raw for a in trio_answers] == [b"HEADND00", b"HEADB3000005hello"]


async def test_mutual_tls_with_a_client_certificate(tls: Tls) -> None:
    tls.server.verify_mode = ssl.CERT_REQUIRED
    tls.ca.configure_trust(tls.server)
    tls.ca.issue_cert("client.example").configure_cert(tls.client)
    async with serving(tls=tls.server) as port, await open_trio("127.0.0.1", port, header="HEAD", tls=tls.client) as client:
        assert (await client.call("NC")).ok


async def test_a_server_certificate_from_an_untrusted_ca_fails_the_connection(tls: Tls) -> None:
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)
    async with serving(tls=tls.server) as port:
        with pytest.raises(ConnectFailed, match=r"TLS handshake with 127\.0\.0\.1:\d+ failed: .*CERTIFICATE_VERIFY_FAILED"):
            await in_thread(partial(connect, "127.0.0.1", port, tls=stranger))
        with pytest.raises(ConnectFailed, match=r"TLS handshake with 127\.0\.0\.1:\d+ failed: .*CERTIFICATE_VERIFY_FAILED"):
            await open_trio("127.0.0.1", port, tls=stranger)


async def test_a_certificate_for_another_name_fails_unless_server_hostname_names_it(tls: Tls) -> None:
    other = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.ca.issue_cert("hsm.example").configure_cert(other)
    async with serving(tls=other) as port:
        with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await open_trio("127.0.0.1", port, tls=tls.client)
        async with await open_trio("127.0.0.1", port, header="HEAD", tls=tls.client, server_hostname="hsm.example") as client:
            assert (await client.call("NC")).ok


# --- UDP ------------------------------------------------------------------------------------


async def test_udp_call_is_one_datagram_each_way() -> None:
    def work() -> Answer:
        with connect_udp("127.0.0.1", responder.port, header="HEAD") as client:
            return client.call("B2", "0005hello")

    async with udp_responder() as (responder, _):
        answer = await in_thread(work)
    assert answer.raw == b"HEADB3000005hello"


async def test_a_lost_udp_answer_is_a_timeout_and_a_late_one_is_discarded_before_the_next_call() -> None:
    client_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async with udp_responder() as (responder, server_sock):
        client_sock.connect(("127.0.0.1", responder.port))
        client_sock.settimeout(0.2)
        with UdpClient(client_sock, header="HEAD") as client:
            with pytest.raises(Timeout):
                await in_thread(partial(client.call, "DR"))
            [(late, peer)] = responder.late
            await server_sock.sendto(late, peer)  # the answer to DR arrives after its call gave up
            readable, _, _ = await in_thread(partial(select.select, [client_sock], [], [], 10))
            assert readable == [client_sock]
            answer = await in_thread(partial(client.call, "B2", "0002hi"))
    assert answer.raw == b"HEADB3000002hi"


async def test_a_udp_answer_that_is_not_exactly_one_frame_is_malformed() -> None:
    async with udp_responder() as (responder, _):
        with connect_udp("127.0.0.1", responder.port, header="HEAD") as client, pytest.raises(MalformedAnswer):
            await in_thread(partial(client.call, "BD"))


def test_a_udp_port_nobody_listens_on_is_connect_failed() -> None:
    port = closed_port(socket.SOCK_DGRAM)
    with (
        connect_udp("127.0.0.1", port, timeout=5) as client,
        pytest.raises(ConnectFailed, match=f"nothing listens on UDP 127.0.0.1:{port}"),
    ):
        client.call("NC")


def test_a_request_too_large_for_one_udp_datagram_is_refused_as_a_bad_request() -> None:
    """A frame may hold 65535 bytes, an IPv4 datagram 65507: the kernel's EMSGSIZE is the caller's ValueError."""
    port = closed_port(socket.SOCK_DGRAM)
    with connect_udp("127.0.0.1", port, timeout=5) as client, pytest.raises(ValueError, match="one UDP datagram"):
        client.call("B2", b"x" * 65_500)


# --- the real plugins -----------------------------------------------------------------------


@pytest.mark.wasm
async def test_nc_and_b2_against_hsmd_with_the_blocking_and_trio_clients(plugin_dir: Path) -> None:
    expected = [("ND", "00", NC_FIELDS), ("B3", "00", b"hello"), ("XY", "68", b""), ("B3", "80", b"")]
    requests: list[hsmd.client.Request] = ["NC", ("B2", "0005hello"), "XX", "B20006hello"]

    def work() -> list[Answer]:
        with connect(host, port, header=HEADER) as client:
            return [client.call("NC"), *client.pipeline(requests[1:])]

    async with serving_plugins(plugin_dir) as (host, port):
        blocking = await in_thread(work)
        async with await open_trio(host, port, header=HEADER) as client:
            trio_answers = await client.pipeline(requests)
    for answers in (blocking, trio_answers):
        assert [(a.response_code, a.error_code, a.fields) for a in answers] == expected
    assert blocking[2].meaning == "command has been disabled"


@pytest.mark.wasm
async def test_udp_client_against_hsmds_udp_port(plugin_dir: Path) -> None:
    default = config_for(plugin_dir)
    udp_port = closed_port(socket.SOCK_DGRAM)  # [udp] port takes no 0: a port free a moment ago
    config = replace(default, udp=replace(default.udp, enabled=True, host="127.0.0.1", port=udp_port))

    def work() -> list[Answer]:
        with connect_udp("127.0.0.1", udp_port, header=HEADER) as client:
            return [client.call("NC"), client.call("B2", "0005hello"), client.call("XX")]

    async with serving_plugins(plugin_dir, config):
        answers = await in_thread(work)
    assert [(a.response_code, a.error_code, a.fields) for a in answers] == [
        ("ND", "00", NC_FIELDS),
        ("B3", "00", b"hello"),
        ("XY", "68", b""),
    ]
