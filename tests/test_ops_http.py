"""The HTTP ops listener (hsmd.ops): every route and status code, over a real socket.

The route tests serve the ops API with `hsmd.ops.http.http_listener` on an ephemeral port
(the same hypercorn-on-trio stack `hsmd serve` runs) and talk to it with the small HTTP/1.1
client below: one request per connection, ``Connection: close``, the answer read to EOF.
Then the counters behind /metrics, the token file, and `hsmd.app.run` with [http] on.
"""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypercorn.trio
import pytest
import structlog
import trio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from structlog.testing import capture_logs

import hsmd.app
import hsmd.ops.http
from hsmd.app import run, serve
from hsmd.config import Config, HttpConfig
from hsmd.dispatch import Dispatcher
from hsmd.host.status import LATENCY_BOUNDS, PortStatus, UnitStatus
from hsmd.logging import configure_logging
from hsmd.ops import Ops
from hsmd.ops.http import bind_http, http_listener
from hsmd.ops.metrics import registry
from hsmd.ops.token import TokenFileError, read_token, token_matches
from hsmd.runtime import CONTRACT_VERSION, Runtime
from hsmd.server import Limits
from hsmd.server import Server as TcpServer
from hsmd.workers import WorkerPool
from tests.conftest import CACHE

TOKEN = b"0pS-t0ken.for_tests"
AUTH = {"Authorization": "Bearer " + TOKEN.decode()}
MAX_BODY = 1024
TIMEOUT = 10.0
START_TIMEOUT = 120.0
HEADER = b"HEAD"


# --- an HTTP/1.1 client, one request per connection --------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json"
        return json.loads(self.body)


def parse_answer(raw: bytes) -> Answer:
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no end of headers in {raw[:200]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    assert int(headers["content-length"]) == len(body)
    return Answer(int(status), headers, body)


async def http(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    raw_body: bytes | None = None,
) -> Answer:
    """Send one request and read the answer to EOF. ``body`` gets a Content-Length;
    ``raw_body`` is sent as it is after the headers (for chunked or short bodies)."""
    fields = {"Host": "hsmd.test", "Connection": "close", **(headers or {})}
    if body is not None:
        fields.setdefault("Content-Length", str(len(body)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
    with trio.fail_after(TIMEOUT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(head.encode("latin-1") + (body or b"") + (raw_body or b""))
            raw = bytearray()
            while chunk := await stream.receive_some():
                raw += chunk
    return parse_answer(bytes(raw))


async def post_run(port: int, payload: object, headers: Mapping[str, str] = AUTH) -> Answer:
    return await http(port, "POST", "/run", json.dumps(payload).encode(), headers)


# --- serving the ops API ------------------------------------------------------------------


@asynccontextmanager
async def ops_api(
    runtime: Runtime, plugins_dir: Path | None = None, *, token: bytes | None = TOKEN, ready: bool = True, max_body: int = MAX_BODY
) -> AsyncIterator[tuple[int, Ops]]:
    """The ops API on an ephemeral port over a dispatcher serving plugins_dir (None: no plugins)."""
    plugins = runtime.load_dir(plugins_dir)[0] if plugins_dir is not None else {}
    ops = Ops(Dispatcher(runtime, plugins), runtime.host.status, len(HEADER), ready=ready)
    try:
        config = HttpConfig(enabled=True, port=0, max_body=max_body)
        async with http_listener(await bind_http(config), config, ops, token) as addresses:
            yield addresses[0][1], ops
    finally:
        for plugin in plugins.values():
            plugin.close()


async def over_tcp(dispatcher: Dispatcher | WorkerPool, message: bytes) -> bytes:
    """The answer message (no length prefix, header removed) the TCP port gives `message`."""
    server = TcpServer(dispatcher, header_len=len(HEADER), limits=Limits())
    async with trio.open_nursery() as nursery:
        [(host, port), *_] = await nursery.start(server.serve, "127.0.0.1", 0)
        with trio.fail_after(TIMEOUT):
            async with await trio.open_tcp_stream(host, port) as stream:
                await stream.send_all(len(HEADER + message).to_bytes(2, "big") + HEADER + message)
                data = b""
                while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                    chunk = await stream.receive_some()
                    assert chunk
                    data += chunk
        server.shutdown()
    assert data[2:6] == HEADER
    return data[6:]


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    [found] = [sample.value for sample in samples(text) if sample.name == name and sample.labels == labels]
    return found


# --- health and readiness -----------------------------------------------------------------


async def test_healthz_answers_200_while_the_process_serves_even_when_not_ready(runtime: Runtime) -> None:
    async with ops_api(runtime, ready=False) as (port, _):
        answer = await http(port, "GET", "/healthz")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})


async def test_readyz_answers_503_before_ready_200_when_ready_and_503_again_once_stopping(runtime: Runtime) -> None:
    async with ops_api(runtime, ready=False) as (port, ops):
        before = await http(port, "GET", "/readyz")
        ops.ready = True
        serving = await http(port, "GET", "/readyz")
        ops.ready = False
        stopping = await http(port, "GET", "/readyz")
    assert [(a.status, a.json()) for a in (before, serving, stopping)] == [
        (503, {"status": "not ready"}),
        (200, {"status": "ready"}),
        (503, {"status": "not ready"}),
    ]


async def test_hypercorn_failing_before_it_listens_is_logged_and_the_block_goes_on(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise OSError("bad file descriptor")

    monkeypatch.setattr(hypercorn.trio, "serve", broken)
    with capture_logs() as logs:
        async with ops_api(runtime) as (port, _):
            assert port > 0
    assert [line["event"] for line in logs if line["log_level"] == "error"] == ["http listener failed; the host ports keep serving"]


async def test_unknown_path_is_404_and_wrong_method_405_both_as_json(runtime: Runtime) -> None:
    async with ops_api(runtime) as (port, _):
        missing = await http(port, "GET", "/nothing")
        wrong = await http(port, "GET", "/run")
    assert (missing.status, missing.json()) == (404, {"error": "not found"})
    assert (wrong.status, wrong.json(), wrong.headers["allow"]) == (405, {"error": "method not allowed"}, "POST")


# --- POST /run: refusals ------------------------------------------------------------------


async def test_run_without_a_token_file_is_404(runtime: Runtime) -> None:
    async with ops_api(runtime, token=None) as (port, _):
        answer = await post_run(port, {"command": "NC"})
    assert (answer.status, answer.json()) == (404, {"error": "not found"})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer " + TOKEN.decode() + "x"},
        {"Authorization": "Bearer " + TOKEN.decode()[:-1]},
        {"Authorization": "Basic " + TOKEN.decode()},
        {"Authorization": TOKEN.decode()},
    ],
    ids=["missing", "wrong", "longer", "shorter", "basic scheme", "no scheme"],
)
async def test_run_without_the_bearer_token_is_401_with_www_authenticate(runtime: Runtime, headers: dict[str, str]) -> None:
    async with ops_api(runtime) as (port, _):
        answer = await post_run(port, {"command": "NC"}, headers)
    assert (answer.status, answer.json(), answer.headers["www-authenticate"]) == (401, {"error": "missing or wrong bearer token"}, "Bearer")


async def test_run_checks_the_token_before_the_body_size(runtime: Runtime) -> None:
    async with ops_api(runtime) as (port, _):
        answer = await http(port, "POST", "/run", headers={"Content-Length": str(10**9)}, raw_body=b"{")
    assert answer.status == 401


def test_bearer_scheme_is_case_insensitive() -> None:
    assert token_matches("bearer " + TOKEN.decode(), TOKEN)
    assert token_matches("BEARER " + TOKEN.decode(), TOKEN)
    assert not token_matches("Bearer", TOKEN)
    assert not token_matches(None, TOKEN)


async def test_run_while_not_ready_is_503(runtime: Runtime) -> None:
    async with ops_api(runtime, ready=False) as (port, _):
        answer = await post_run(port, {"command": "NC"})
    assert (answer.status, answer.json()) == (503, {"error": "not ready"})


async def test_run_with_a_declared_length_over_max_body_is_413_before_the_body_is_sent(runtime: Runtime) -> None:
    async with ops_api(runtime) as (port, _):
        # Only the headers and one byte of a 1 GB body: the answer comes anyway.
        answer = await http(port, "POST", "/run", headers={**AUTH, "Content-Length": str(10**9)}, raw_body=b"{")
    assert (answer.status, answer.json()) == (413, {"error": f"body over {MAX_BODY} bytes"})


async def test_run_with_a_chunked_body_growing_over_max_body_is_413(runtime: Runtime) -> None:
    chunk = b"%x\r\n%s\r\n" % (800, b" " * 800)
    async with ops_api(runtime) as (port, _):
        answer = await http(port, "POST", "/run", headers={**AUTH, "Transfer-Encoding": "chunked"}, raw_body=chunk * 2 + b"0\r\n\r\n")
    assert (answer.status, answer.json()) == (413, {"error": f"body over {MAX_BODY} bytes"})


async def test_run_accepts_a_body_of_exactly_max_body_bytes(runtime: Runtime) -> None:
    body = json.dumps({"command": "XX"}).encode().ljust(MAX_BODY)  # JSON allows trailing spaces
    async with ops_api(runtime) as (port, _):
        exact = await http(port, "POST", "/run", body, AUTH)
        over = await http(port, "POST", "/run", body + b" ", AUTH)
    assert (exact.status, over.status) == (200, 413)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[" * 100 + b"]" * 100, "body must be a JSON object"),
        (b"[" * 100_000, "body is not JSON"),  # deeper than the parser's recursion limit: not a crash
        (b"", "body is not JSON"),
        (b'["NC"]', "body must be a JSON object"),
        (b'{"command": "NC", "header": "HEAD"}', "unknown key 'header'; expected command, request or request_hex"),
        (b"{}", "command must be a string of two ASCII letters or digits"),
        (b'{"command": "N"}', "command must be a string of two ASCII letters or digits"),
        (b'{"command": "NCX"}', "command must be a string of two ASCII letters or digits"),
        (b'{"command": "N "}', "command must be a string of two ASCII letters or digits"),
        (b'{"command": 12}', "command must be a string of two ASCII letters or digits"),
        (b'{"command": "B2", "request": 5}', "request must be a string of ASCII characters (request_hex for other bytes)"),
        (b'{"command": "B2", "request": "caf\\u00e9"}', "request must be a string of ASCII characters (request_hex for other bytes)"),
        (b'{"command": "B2", "request_hex": "ABC"}', "request_hex must be a string of hex digit pairs"),
        (b'{"command": "B2", "request_hex": "AB CD"}', "request_hex must be a string of hex digit pairs"),
        (b'{"command": "B2", "request_hex": ["AB"]}', "request_hex must be a string of hex digit pairs"),
        (b'{"command": "B2", "request": "", "request_hex": ""}', "give request or request_hex, not both"),
    ],
    ids=[
        "broken",
        "not utf-8",
        "array",
        "too deep",
        "empty",
        "list",
        "unknown key",
        "no command",
        "short command",
        "long command",
        "space in command",
        "number command",
        "number request",
        "non-ascii request",
        "odd hex",
        "spaced hex",
        "list hex",
        "both",
    ],
)
async def test_run_with_a_bad_body_is_400_naming_the_problem(runtime: Runtime, body: bytes, error: str) -> None:
    async with ops_api(runtime, max_body=200_000) as (port, ops):
        answer = await http(port, "POST", "/run", body, AUTH)
    assert (answer.status, answer.json()) == (400, {"error": error})
    assert not ops.status.answers and not ops.status.refused  # nothing was dispatched


async def test_run_with_fields_longer_than_a_frame_is_413(runtime: Runtime) -> None:
    # 65535 - 4 (header) - 2 (command) = 65529 bytes of fields fit a frame; one more does not.
    async with ops_api(runtime, max_body=200_000) as (port, _):
        fits = await post_run(port, {"command": "XX", "request": "A" * 65529})
        over = await post_run(port, {"command": "XX", "request": "A" * 65530})
    assert (fits.status, fits.json()["error_code"]) == (200, "68")
    assert (over.status, over.json()) == (413, {"error": "header, command and fields over 65535 bytes: more than a frame holds"})


# --- POST /run: answers -------------------------------------------------------------------


async def test_run_of_a_command_without_a_plugin_answers_68_and_counts_it(runtime: Runtime) -> None:
    async with ops_api(runtime) as (port, ops):
        answer = await post_run(port, {"command": "XX", "request": "123"})
    assert (answer.status, answer.json()) == (200, {"response": "XY68", "response_hex": b"XY68".hex().upper(), "error_code": "68"})
    assert ops.status.refused == {"XX": 1}


@pytest.mark.wasm
async def test_run_nc_answers_the_bytes_the_tcp_port_answers(runtime: Runtime, plugin_dir: Path) -> None:
    async with ops_api(runtime, plugin_dir) as (port, ops):
        answer = await post_run(port, {"command": "NC"})
        tcp = await over_tcp(ops.dispatcher, b"NC")
    assert tcp.startswith(b"ND00")
    assert (answer.status, answer.json()) == (200, {"response": tcp.decode(), "response_hex": tcp.hex().upper(), "error_code": "00"})


@pytest.mark.wasm
async def test_run_b2_with_a_trailer_answers_the_tcp_bytes_as_hex_only(runtime: Runtime, plugin_dir: Path) -> None:
    async with ops_api(runtime, plugin_dir) as (port, ops):
        answer = await post_run(port, {"command": "B2", "request": "0005hello\x19trailer"})
        tcp = await over_tcp(ops.dispatcher, b"B20005hello\x19trailer")
    assert tcp == b"B300hello\x19trailer"
    # 0x19 is not printable: the answer is given as hex only.
    assert (answer.status, answer.json()) == (200, {"response": None, "response_hex": tcp.hex().upper(), "error_code": "00"})


@pytest.mark.wasm
async def test_run_with_request_hex_sends_binary_fields(runtime: Runtime, plugin_dir: Path) -> None:
    data = bytes([0x00, 0xFF, 0x19, 0x80, 0x0A])
    async with ops_api(runtime, plugin_dir) as (port, ops):
        answer = await post_run(port, {"command": "B2", "request_hex": (b"0005" + data).hex()})
        tcp = await over_tcp(ops.dispatcher, b"B20005" + data)
    assert tcp == b"B300" + data
    assert (answer.status, answer.json()) == (200, {"response": None, "response_hex": tcp.hex().upper(), "error_code": "00"})


@pytest.mark.wasm
async def test_run_logs_one_request_line_with_a_request_id_and_never_the_token_or_the_fields(runtime: Runtime, plugin_dir: Path) -> None:
    secret_fields = "0010ABCDEF0123456789"  # B2: a hex length, then the data
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with ops_api(runtime, plugin_dir) as (port, _):
            answer = await post_run(port, {"command": "B2", "request": secret_fields})
            refused = await post_run(port, {"command": "B2", "request": secret_fields}, {"Authorization": "Bearer " + TOKEN.decode()[::-1]})
    assert (answer.status, refused.status) == (200, 401)
    [line] = [entry for entry in logs if entry["event"] == "request"]
    assert {key: line[key] for key in ("command", "error_code", "transport", "log_level")} == {
        "command": "B2",
        "error_code": "00",
        "transport": "http",
        "log_level": "info",
    }
    assert str(line["request_id"]).startswith("http-")
    everything = repr(logs)
    for secret in (TOKEN.decode(), TOKEN.decode()[::-1], "ABCDEF0123456789"):
        assert secret not in everything


# --- /plugins and /metrics ----------------------------------------------------------------


@pytest.mark.wasm
async def test_plugins_lists_each_loaded_plugin_with_its_faults(runtime: Runtime, plugin_dir: Path) -> None:
    async with ops_api(runtime, plugin_dir) as (port, ops):
        fault = await post_run(port, {"command": "ZF", "request": "T"})  # the test plugin traps
        answer = await http(port, "GET", "/plugins")
        loaded_at = {command: plugin.loaded_at for command, plugin in ops.dispatcher.plugins.items()}
    assert fault.json()["error_code"] == "41"
    assert answer.status == 200
    listed = answer.json()
    assert [(p["command"], p["version"], p["contract"], p["faults"]) for p in listed] == [
        ("B2", "1.0.0", CONTRACT_VERSION, 0),
        ("NC", "1.0.0", CONTRACT_VERSION, 0),
        ("ZF", "0.1.0", CONTRACT_VERSION, 1),
    ]
    assert [p["description"] for p in listed[:2]] == ["Echo test.", "Perform diagnostics."]
    assert {p["command"]: p["loaded_at"] for p in listed} == {
        command: datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") for command, seconds in loaded_at.items()
    }


@pytest.mark.wasm
async def test_metrics_count_requests_by_command_and_code_with_latency_faults_and_plugins(runtime: Runtime, plugin_dir: Path) -> None:
    async with ops_api(runtime, plugin_dir) as (port, ops):
        for payload in (
            {"command": "NC"},
            {"command": "NC"},
            {"command": "B2", "request": "0006hello"},  # length 6, 5 bytes given: 80
            {"command": "ZF", "request": "T"},  # a trap: 41
            {"command": "XX"},  # no plugin: 68
        ):
            assert (await post_run(port, payload)).status == 200
        answer = await http(port, "GET", "/metrics")
        text = answer.body.decode()
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    requests = {(s.labels["command"], s.labels["code"]): s.value for s in samples(text) if s.name == "hsmd_requests_total"}
    assert requests == {("NC", "00"): 2, ("B2", "80"): 1, ("ZF", "41"): 1, ("XX", "68"): 1}
    assert value(text, "hsmd_request_duration_seconds_count", command="NC") == 2
    assert value(text, "hsmd_request_duration_seconds_bucket", command="NC", le="+Inf") == 2
    assert 0 < value(text, "hsmd_request_duration_seconds_sum", command="NC") == ops.status.latency["NC"].sum
    assert {s.labels["kind"]: s.value for s in samples(text) if s.name == "hsmd_plugin_faults_total"} == {"unreachable": 1}
    info = {
        s.labels["command"]: (s.labels["version"], s.labels["contract"], s.value) for s in samples(text) if s.name == "hsmd_plugin_info"
    }
    assert info == {"B2": ("1.0.0", CONTRACT_VERSION, 1), "NC": ("1.0.0", CONTRACT_VERSION, 1), "ZF": ("0.1.0", CONTRACT_VERSION, 1)}
    # J4 reports the same volumes, without the 68.
    assert [(c.command, c.count) for c in ops.status.command_counts()] == [("B2", 1), ("NC", 2), ("ZF", 1)]


async def test_metrics_report_ports_workers_readiness_reloads_and_pin_verifications(runtime: Runtime) -> None:
    async with ops_api(runtime) as (port, ops):
        status = ops.status
        status.ports[:] = [
            PortStatus("tcp", "127.0.0.1", 1500, connections=3, accepted=7, malformed=2, frames_received=10, frames_sent=11),
            PortStatus("tcp", "::1", 1600, bytes_received=100, bytes_sent=200),
            PortStatus("tls", "127.0.0.1", 2500, connections=1, accepted=2, handshake_failures=4),
            PortStatus("udp", "127.0.0.1", 1500, datagrams=9, malformed=5),
        ]
        status.reloads["ok"] += 2
        status.reloads["failed"] += 1
        for command in ("EC", "EC", "NC"):
            status.record(command, 0.001)
        text = (await http(port, "GET", "/metrics")).body.decode()
    tcp, tls, udp = ({"kind": kind, "host": "127.0.0.1", "port": str(p)} for kind, p in (("tcp", 1500), ("tls", 2500), ("udp", 1500)))
    assert (value(text, "hsmd_port_connections", **tcp), value(text, "hsmd_port_connections", **tls)) == (3, 1)
    assert (value(text, "hsmd_port_accepted_total", **tcp), value(text, "hsmd_port_accepted_total", **tls)) == (7, 2)
    assert value(text, "hsmd_port_handshake_failures_total", **tls) == 4
    assert (value(text, "hsmd_port_datagrams_total", **udp), value(text, "hsmd_port_malformed_total", **udp)) == (9, 5)
    assert value(text, "hsmd_port_malformed_total", **tcp) == 2
    assert (value(text, "hsmd_port_received_frames_total", **tcp), value(text, "hsmd_port_sent_frames_total", **tcp)) == (10, 11)
    other = {"kind": "tcp", "host": "::1", "port": "1600"}
    assert (value(text, "hsmd_port_received_bytes_total", **other), value(text, "hsmd_port_sent_bytes_total", **other)) == (100, 200)
    # A metric only for the kinds of port it means something for.
    assert [s.labels["kind"] for s in samples(text) if s.name == "hsmd_port_connections"] == ["tcp", "tcp", "tls"]
    assert [s.labels["kind"] for s in samples(text) if s.name == "hsmd_port_handshake_failures_total"] == ["tls"]
    assert value(text, "hsmd_workers") == 1
    assert value(text, "hsmd_ready") == 1
    assert (value(text, "hsmd_reloads_total", result="ok"), value(text, "hsmd_reloads_total", result="failed")) == (2, 1)
    assert (value(text, "hsmd_pin_verifications", window="minute"), value(text, "hsmd_pin_verifications", window="hour")) == (2, 2)
    assert value(text, "process_resident_memory_bytes") > 0


async def test_a_tcp_frame_too_short_for_a_command_counts_as_malformed_on_its_port_not_as_a_request(runtime: Runtime) -> None:
    port_status = PortStatus("tcp", "", 0)
    server = TcpServer(Dispatcher(runtime, {}), header_len=len(HEADER), limits=Limits(), port_status=port_status)
    async with trio.open_nursery() as nursery:
        [(host, port), *_] = await nursery.start(server.serve, "127.0.0.1", 0)
        with trio.fail_after(TIMEOUT):
            async with await trio.open_tcp_stream(host, port) as stream:
                await stream.send_all(b"\x00\x05HEADN" + b"\x00\x02AB")
                answers = b""
                while len(answers) < 2 + 8 + 2 + 8:
                    answers += await stream.receive_some()
        server.shutdown()
    assert answers == b"\x00\x08HEADZZ15" + b"\x00\x08AB  ZZ51"
    assert port_status.malformed == 2
    assert not runtime.host.status.answers and not runtime.host.status.refused


def test_latency_lands_in_the_first_bucket_whose_bound_is_not_below_it() -> None:
    status = UnitStatus()
    for busy in (0.0, LATENCY_BOUNDS[0], LATENCY_BOUNDS[0] * 1.01, LATENCY_BOUNDS[-1], 1000.0):
        status.record("NC", busy, "00")
    buckets = status.latency["NC"].buckets
    assert (buckets[0], buckets[1], buckets[-2], buckets[-1]) == (2, 1, 1, 1)
    assert sum(buckets) == 5


def test_a_refused_command_code_is_its_label_only_when_two_ascii_letters_or_digits() -> None:
    status = UnitStatus()
    for command in (b"XX", b"a9", b"\x00\x01", b"N ", "é".encode("latin-1") + b"A", b"XX"):
        status.refuse(command)
    assert status.refused == {"XX": 2, "a9": 1, "??": 3}
    assert status.counts() == {}  # J4 counts what a plugin answered only


def test_metrics_add_a_plugin_answering_68_to_the_refused_68s(runtime: Runtime) -> None:
    status = runtime.host.status
    status.record("NC", 0.0, "68")  # a plugin may answer 68 itself
    status.refuse(b"NC")  # and before a reload loaded it, there was none
    ops = Ops(Dispatcher(runtime, {}), status, len(HEADER))
    assert registry(ops).get_sample_value("hsmd_requests_total", {"command": "NC", "code": "68"}) == 2


# --- the token file -----------------------------------------------------------------------


def write_token(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_token_file_gives_its_one_line_without_surrounding_whitespace(tmp_path: Path) -> None:
    assert read_token(write_token(tmp_path / "token", f"  {TOKEN.decode()}\n")) == TOKEN


@pytest.mark.parametrize(
    ("text", "mode", "problem"),
    [
        ("tok", 0o640, "accessible to other users (mode -rw-r-----); chmod go-rwx it"),
        ("tok", 0o604, "accessible to other users (mode -rw----r--); chmod go-rwx it"),
        ("tok", 0o620, "accessible to other users (mode -rw--w----); chmod go-rwx it"),
        (" \n", 0o600, "empty"),
        ("two words", 0o600, "the token must be one line of visible ASCII characters"),
        ("line\nline", 0o600, "the token must be one line of visible ASCII characters"),
        ("tøken", 0o600, "the token must be one line of visible ASCII characters"),
        ("x" * 4097, 0o600, "longer than 4096 bytes"),
    ],
    ids=["group-readable", "other-readable", "group-writable", "empty", "space", "two lines", "non-ascii", "too long"],
)
def test_unusable_token_file_is_refused_with_the_reason(tmp_path: Path, text: str, mode: int, problem: str) -> None:
    path = write_token(tmp_path / "token", text, mode)
    with pytest.raises(TokenFileError) as info:
        read_token(path)
    assert str(info.value) == f"{path}: {problem}"


def test_missing_token_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError) as info:
        read_token(tmp_path / "absent")
    assert str(info.value) == f"{tmp_path / 'absent'}: cannot read: No such file or directory"


# --- hsmd serve with [http] -----------------------------------------------------------------


class JsonLogs:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    async def wait_for(self, event: str, **fields: str) -> dict[str, Any]:
        with trio.fail_after(START_TIMEOUT):
            while not (found := [line for line in self.lines() if line["event"] == event and fields.items() <= line.items()]):
                await trio.sleep(0.01)
        return found[0]


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonLogs]:
    # Module-level loggers keep the configuration of their first use: give each a fresh proxy.
    monkeypatch.setattr(hsmd.app, "log", structlog.get_logger("hsmd"))
    monkeypatch.setattr(hsmd.ops.http, "log", structlog.get_logger("hsmd.http"))
    captured = JsonLogs()
    configure_logging("json", "info", stream=captured.stream)
    yield captured


def http_config(plugins: Path, token_file: Path | None) -> Config:
    default = Config()
    return replace(
        default,
        server=replace(default.server, host="127.0.0.1", port=0, header_len=len(HEADER), workers=0),
        plugins=replace(default.plugins, dir=plugins, cache_dir=CACHE),
        http=HttpConfig(enabled=True, host="127.0.0.1", port=0, token_file=token_file),
    )


@pytest.mark.wasm
async def test_hsmd_serve_with_http_enabled_serves_readyz_metrics_and_run(plugin_dir: Path, tmp_path: Path, json_logs: JsonLogs) -> None:
    config = http_config(plugin_dir, write_token(tmp_path / "token", TOKEN.decode()))
    async with trio.open_nursery() as nursery:
        with trio.fail_after(START_TIMEOUT):
            [(tcp_host, tcp_port), *_] = await nursery.start(run, config)
        [address] = (await json_logs.wait_for("listening", kind="http"))["addresses"]
        port = int(address.rpartition(":")[2])
        ready = await http(port, "GET", "/readyz")
        nc = await post_run(port, {"command": "NC"})
        async with await trio.open_tcp_stream(tcp_host, tcp_port):
            await json_logs.wait_for("connection open")
            metrics = (await http(port, "GET", "/metrics")).body.decode()
        os.kill(os.getpid(), signal.SIGTERM)  # run() drains and returns
    assert (ready.status, nc.status, nc.json()["error_code"]) == (200, 200, "00")
    assert value(metrics, "hsmd_requests_total", command="NC", code="00") == 1
    assert value(metrics, "hsmd_port_connections", kind="tcp", host=tcp_host, port=str(tcp_port)) == 1
    assert value(metrics, "hsmd_ready") == 1


@pytest.mark.wasm
async def test_metrics_count_sighup_reloads_that_swapped_the_plugins_and_those_that_failed(
    plugin_dir: Path, tmp_path: Path, json_logs: JsonLogs
) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "B2.wasm").symlink_to((plugin_dir / "B2.wasm").resolve())
    async with trio.open_nursery() as nursery:
        with trio.fail_after(START_TIMEOUT):
            await nursery.start(run, http_config(directory, None))
        [address] = (await json_logs.wait_for("listening", kind="http"))["addresses"]
        port = int(address.rpartition(":")[2])
        os.kill(os.getpid(), signal.SIGHUP)
        await json_logs.wait_for("plugins reloaded")
        directory.rename(tmp_path / "elsewhere")
        os.kill(os.getpid(), signal.SIGHUP)
        await json_logs.wait_for("reload refused: plugin directory is missing; still serving the previous plugins")
        metrics = (await http(port, "GET", "/metrics")).body.decode()
        os.kill(os.getpid(), signal.SIGTERM)
    assert (value(metrics, "hsmd_reloads_total", result="ok"), value(metrics, "hsmd_reloads_total", result="failed")) == (1, 1)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda p: None, "http.token_file: {p}: cannot read: No such file or directory"),
        (lambda p: write_token(p, ""), "http.token_file: {p}: empty"),
        (lambda p: write_token(p, "tok", 0o644), "http.token_file: {p}: accessible to other users (mode -rw-r--r--); chmod go-rwx it"),
    ],
    ids=["missing", "empty", "world-readable"],
)
def test_unusable_token_file_stops_start_up_with_one_line(tmp_path: Path, json_logs: JsonLogs, setup: Any, reason: str) -> None:
    path = tmp_path / "token"
    setup(path)
    assert serve(http_config(tmp_path / "no-plugins", path)) == 1
    [line] = json_logs.lines()
    assert {key: line[key] for key in ("event", "level", "reason")} == {
        "event": "cannot start",
        "level": "error",
        "reason": reason.format(p=path),
    }
