"""End-to-end tests of hsmd.app: the real plugins behind a real TCP socket, driven by real signals.

Each test starts `hsmd.app.run` on an ephemeral port inside the test's trio loop and ends it
with SIGTERM. Signals are sent to this very process; `run` receives them through trio's
signal receiver, and a guard handler catches any that arrive while no receiver is open
(which would otherwise kill the test run) so the tests can assert there were none.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import ssl
import stat
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import structlog
import trio
import trustme

import hsmd.app
import hsmd.dispatch
import hsmd.runtime.runtime
from hsmd.app import run, serve
from hsmd.config import Config
from hsmd.host import TEST_LMK
from hsmd.host.lmk import TEST_LMK_PAIRS
from hsmd.logging import configure_logging
from hsmd.protocol import encode
from tests.conftest import CACHE, FIRMWARE

START_TIMEOUT = 120.0  # loading the plugins; compiling one that is not cached yet takes a while
RELOAD_TIMEOUT = 120.0
TIMEOUT = 10.0

NC_ANSWER = b"HEADND00" + TEST_LMK.check_value.encode("ascii") + FIRMWARE.encode("ascii")
GUARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def stray_signals() -> Iterator[list[int]]:
    """Signals delivered while hsmd had no receiver open; the default action would kill pytest."""
    caught: list[int] = []

    def guard(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, guard) for signum in GUARDED_SIGNALS}
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert caught == [], "a signal arrived while hsmd was not listening for it"


class Logs:
    """The JSON lines hsmd wrote, configured as `hsmd serve --log-format json` would."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["event"] == event]

    async def wait_for(self, event: str, *, count: int = 1, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        with trio.fail_after(timeout):
            while len(found := self.events(event)) < count:
                await trio.sleep(0.01)
        return found


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Logs:
    # Module-level loggers cache the configuration of their first use, which may be another
    # test's stream: give each module a fresh proxy so it binds to this test's configuration.
    monkeypatch.setattr(hsmd.app, "log", structlog.get_logger("hsmd"))
    monkeypatch.setattr(hsmd.dispatch, "log", structlog.get_logger("hsmd.dispatch"))
    monkeypatch.setattr(hsmd.runtime.runtime, "log", structlog.get_logger("hsmd.runtime"))
    captured = Logs()
    configure_logging("json", "info", stream=captured.stream)
    return captured


def make_config(plugins: Path, *, lmk_files: tuple[Path, ...] = ()) -> Config:
    default = Config()
    return replace(
        default,
        server=replace(default.server, host="127.0.0.1", port=0, header_len=4, workers=0),  # in-process; tests/test_workers.py: workers
        lmk=replace(default.lmk, files=lmk_files),
        plugins=replace(default.plugins, dir=plugins, cache_dir=CACHE),
    )


def send_signal(signum: signal.Signals) -> None:
    os.kill(os.getpid(), signum)


@dataclass
class Served:
    """A running `hsmd.app.run`: where it listens and, once it returned, its exit code."""

    host: str = ""
    port: int = 0
    done: trio.Event = field(default_factory=trio.Event)
    exit_code: int | None = None

    async def connect(self) -> trio.SocketStream:
        return await trio.open_tcp_stream(self.host, self.port)

    async def wait(self) -> int | None:
        with trio.fail_after(TIMEOUT):
            await self.done.wait()
        return self.exit_code

    async def stop(self) -> int | None:
        send_signal(signal.SIGTERM)
        return await self.wait()


@asynccontextmanager
async def serving(config: Config) -> AsyncIterator[Served]:
    """Run hsmd until the block ends, then SIGTERM it unless the test already stopped it."""
    served = Served()

    async def main(task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED) -> None:
        served.exit_code = await run(config, task_status=task_status)
        served.done.set()

    async with trio.open_nursery() as nursery:
        with trio.fail_after(START_TIMEOUT):
            bound: list[tuple[str, int]] = await nursery.start(main)
        served.host, served.port = bound[0]
        try:
            yield served
        finally:
            if not served.done.is_set():
                await served.stop()


async def send(stream: trio.abc.Stream, *messages: bytes) -> None:
    """All *messages* framed, in a single write."""
    await stream.send_all(b"".join(encode(message) for message in messages))


async def receive_exactly(stream: trio.abc.Stream, size: int) -> bytes:
    data = bytearray()
    with trio.fail_after(TIMEOUT):
        while len(data) < size:
            chunk = await stream.receive_some(size - len(data))
            assert chunk, f"connection closed after {bytes(data)!r}"
            data += chunk
    return bytes(data)


async def receive(stream: trio.abc.Stream) -> bytes:
    """One answer message, without its length prefix."""
    length = int.from_bytes(await receive_exactly(stream, 2), "big")
    return await receive_exactly(stream, length)


async def request(stream: trio.abc.Stream, message: bytes) -> bytes:
    await send(stream, message)
    return await receive(stream)


async def assert_closed(stream: trio.SocketStream) -> None:
    with trio.fail_after(TIMEOUT):
        assert await stream.receive_some(1) == b""


def link(source: Path, directory: Path) -> None:
    (directory / source.name).symlink_to(source.resolve())


# --- tests ---------------------------------------------------------------------------------


async def test_nc_over_tcp_answers_check_value_and_firmware_in_a_33_byte_message(plugin_dir: Path) -> None:
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        await send(stream, b"HEADNC")
        wire = await receive_exactly(stream, 2 + 33)
    assert wire == b"\x00\x21" + NC_ANSWER
    assert len(TEST_LMK.check_value) == 16


async def test_pipelined_requests_in_one_write_are_answered_in_order(plugin_dir: Path) -> None:
    requests = [b"HEADNC", b"HEADB20005hello", b"HEADXX", b"HEADB20006hello", b"HEADB20004hello"]
    answers = [NC_ANSWER, b"HEADB300hello", b"HEADXY68", b"HEADB380", b"HEADB315"]
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        await send(stream, *requests)
        wire = await receive_exactly(stream, sum(2 + len(answer) for answer in answers))
    assert wire == b"".join(encode(answer) for answer in answers)


async def test_signal_sent_as_soon_as_run_reports_started_is_handled(plugin_dir: Path, stray_signals: list[int]) -> None:
    async with serving(make_config(plugin_dir)) as served:
        # No checkpoint between started() and the signal: the receiver must already be open.
        send_signal(signal.SIGTERM)
        assert await served.wait() == 0
    assert stray_signals == []


async def test_sigterm_answers_every_frame_already_received_then_closes_and_run_returns_0(plugin_dir: Path, logs: Logs) -> None:
    data = [b"n%03d" % i for i in range(50)]
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        await send(stream, *(b"HEADB20004" + item for item in data))
        send_signal(signal.SIGTERM)
        wire = await receive_exactly(stream, 50 * len(encode(b"HEADB300n000")))
        await assert_closed(stream)
        assert await served.wait() == 0
    assert wire == b"".join(encode(b"HEADB300" + item) for item in data)
    assert [line["reason"] for line in logs.events("connection closed")] == ["shutdown"]


async def test_sighup_loads_a_new_plugin_while_the_same_connection_keeps_being_served(plugin_dir: Path, tmp_path: Path) -> None:
    link(plugin_dir / "B2.wasm", tmp_path)
    async with serving(make_config(tmp_path)) as served, await served.connect() as stream:
        assert await request(stream, b"HEADNC") == b"HEADND68"
        link(plugin_dir / "NC.wasm", tmp_path)
        send_signal(signal.SIGHUP)
        answers: list[bytes] = []
        with trio.fail_after(RELOAD_TIMEOUT):
            while not answers or answers[-1] == b"HEADND68":
                answers.append(await request(stream, b"HEADNC"))
                await trio.sleep(0.02)
        assert set(answers[:-1]) <= {b"HEADND68"}
        assert answers[-1] == NC_ANSWER
        assert await request(stream, b"HEADB20002ok") == b"HEADB300ok"


async def test_sighup_keeps_the_live_instance_of_an_unchanged_plugin(plugin_dir: Path, logs: Logs) -> None:
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        assert await request(stream, b"HEADZFC") == b"HEADZG001"
        loaded_at_start = len(logs.events("plugin loaded"))
        send_signal(signal.SIGHUP)
        [reloaded] = await logs.wait_for("plugins reloaded", timeout=RELOAD_TIMEOUT)
        # The instance's call counter continues: the same instance served both calls.
        assert await request(stream, b"HEADZFC") == b"HEADZG002"
    assert (reloaded["loaded"], reloaded["refused"]) == (["B2", "NC", "ZF"], 0)
    assert len(logs.events("plugin loaded")) == loaded_at_start == 3


async def test_systemd_is_told_ready_reloading_ready_stopping_in_order(
    plugin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.sock"
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        await manager.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))

        async def datagram() -> bytes:
            with trio.fail_after(RELOAD_TIMEOUT):
                return await manager.recv(4096)

        async with serving(make_config(plugin_dir)) as served:
            assert await datagram() == b"READY=1\nSTATUS=serving 3 plugins"
            before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            send_signal(signal.SIGHUP)
            reloading = await datagram()
            after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            assert await datagram() == b"READY=1\nSTATUS=serving 3 plugins"
            assert await served.stop() == 0
            assert await datagram() == b"STOPPING=1"
        with trio.move_on_after(0.2):
            pytest.fail(f"unexpected datagram after STOPPING=1: {await manager.recv(4096)!r}")
    prefix = b"RELOADING=1\nMONOTONIC_USEC="
    assert reloading.startswith(prefix)
    assert before <= int(reloading[len(prefix) :]) <= after


async def test_plugin_fault_answers_41_and_the_same_and_other_connections_keep_working(plugin_dir: Path) -> None:
    async with serving(make_config(plugin_dir)) as served, await served.connect() as other, await served.connect() as stream:
        assert await request(other, b"HEADZFEbefore") == b"HEADZG00before"
        assert await request(stream, b"HEADZFT") == b"HEADZG41"
        assert await request(stream, b"HEADZFEok") == b"HEADZG00ok"
        assert await request(other, b"HEADZFEafter") == b"HEADZG00after"
        assert await request(other, b"HEADNC") == NC_ANSWER


async def test_pan_a_plugin_logs_never_reaches_the_log_output(plugin_dir: Path, logs: Logs) -> None:
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        assert await request(stream, b"HEADZFW4111111111111111") == b"HEADZG00"
    assert "4111111111111111" not in logs.text
    [plugin_line] = logs.events("card seen")
    [request_line] = [line for line in logs.events("request") if line["command"] == "ZF"]
    assert plugin_line["plugin_fields"] == {"pan": "[REDACTED]"}
    assert plugin_line["level"] == "info"
    assert plugin_line["request_id"] == request_line["request_id"]


async def test_every_frame_gets_one_request_log_line(plugin_dir: Path, logs: Logs) -> None:
    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream:
        local_host, local_port = stream.socket.getsockname()[:2]
        await send(stream, b"HEADNC", b"HEADB20002ok", b"HEADXX", b"HEADN")
        for answer in (NC_ANSWER, b"HEADB300ok", b"HEADXY68", b"HEADZZ15"):
            assert await receive(stream) == answer
    lines = logs.events("request")
    conn_id = lines[0]["conn_id"]
    assert [{key: line[key] for key in ("request_id", "peer", "command", "error_code", "level")} for line in lines] == [
        {"request_id": f"{conn_id}-{seq}", "peer": f"{local_host}:{local_port}", "command": command, "error_code": code, "level": "info"}
        for seq, (command, code) in enumerate([("NC", "00"), ("B2", "00"), ("XX", "68"), (None, "15")], start=1)
    ]
    assert all(isinstance(line["duration_us"], int) and line["duration_us"] >= 0 for line in lines)


def test_world_readable_lmk_file_stops_start_up_with_exit_code_1(plugin_dir: Path, tmp_path: Path, logs: Logs) -> None:
    lmk_file = tmp_path / "lmk.txt"
    lmk_file.write_text("".join(f"{2 * i:02d}-{2 * i + 1:02d} {pair}\n" for i, pair in enumerate(TEST_LMK_PAIRS)))
    lmk_file.chmod(0o644)
    assert stat.S_IMODE(lmk_file.stat().st_mode) == 0o644
    assert serve(make_config(plugin_dir, lmk_files=(lmk_file,))) == 1
    [line] = logs.lines()
    assert {key: line[key] for key in ("event", "level", "reason")} == {
        "event": "cannot start",
        "level": "error",
        "reason": f"lmk.files: {lmk_file}: accessible to other users (mode -rw-r--r--); chmod go-rwx it",
    }


async def test_reload_with_the_plugin_directory_gone_keeps_serving_the_current_plugins(
    plugin_dir: Path, tmp_path: Path, logs: Logs
) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    link(plugin_dir / "B2.wasm", directory)
    async with serving(make_config(directory)) as served, await served.connect() as stream:
        directory.rename(tmp_path / "elsewhere")
        send_signal(signal.SIGHUP)
        (line,) = await logs.wait_for("reload refused: plugin directory is missing; still serving the previous plugins")
        assert line["dir"] == str(directory)
        assert await request(stream, b"HEADB20002ok") == b"HEADB300ok"


async def test_second_stop_signal_stops_without_waiting_for_a_client_that_does_not_read(plugin_dir: Path, logs: Logs) -> None:
    data = b"x" * 60000

    async def flood(stream: trio.SocketStream) -> None:
        # Far more answer bytes than the socket buffers hold, and the client never reads: the
        # drain after the first SIGTERM cannot finish on its own. The server's backpressure
        # stalls this send, and the forced stop then breaks it.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await send(stream, *([b"HEADB2EA60" + data] * 200))

    async with serving(make_config(plugin_dir)) as served, await served.connect() as stream, trio.open_nursery() as nursery:
        nursery.start_soon(flood, stream)
        await logs.wait_for("request")
        # The server reads only once its answers are written: wait until it is stuck writing
        # answers nobody reads (the request count stops growing), so the drain cannot finish.
        while True:
            seen = len(logs.events("request"))
            await trio.sleep(0.2)
            if len(logs.events("request")) == seen:
                break
        send_signal(signal.SIGTERM)
        await logs.wait_for("stopping")
        send_signal(signal.SIGTERM)
        assert await served.wait() == 0
        (line,) = logs.events("second stop signal: closing without waiting for in-flight requests")
        assert line["signal"] == "SIGTERM"


# --- the TLS and UDP host ports --------------------------------------------------------------


def with_tls_and_udp(config: Config, tmp_path: Path) -> tuple[Config, ssl.SSLContext]:
    """*config* with [tls] (a trustme certificate, port 0) and [udp] (port 0) enabled, and a
    client context that trusts the certificate."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    certificate, private_key = tmp_path / "server.pem", tmp_path / "server.key"
    leaf.cert_chain_pems[0].write_to_path(str(certificate))
    leaf.private_key_pem.write_to_path(str(private_key))
    private_key.chmod(0o600)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    tls = replace(config.tls, enabled=True, port=0, certificate=certificate, private_key=private_key)
    return replace(config, tls=tls, udp=replace(config.udp, enabled=True, port=0)), client


def listening(logs: Logs) -> dict[str, tuple[str, int]]:
    """The first address of every port the "listening" lines name, by kind."""
    found = {}
    for line in logs.events("listening"):
        if "kind" not in line:
            continue  # hsmd.server's own line
        host, _, port = line["addresses"][0].rpartition(":")
        found[line["kind"]] = (host, int(port))
    return found


@pytest.mark.wasm
async def test_tls_and_udp_ports_serve_what_tcp_serves_keep_serving_across_a_reload_and_drain(
    plugin_dir: Path, tmp_path: Path, logs: Logs
) -> None:
    config, client_context = with_tls_and_udp(make_config(plugin_dir), tmp_path)
    async with serving(config) as served:
        ports = listening(logs)
        assert list(ports) == ["tcp", "tls", "udp"]
        assert ports["tcp"] == (served.host, served.port)
        async with await served.connect() as tcp:
            assert await request(tcp, b"HEADNC") == NC_ANSWER
        tls_stream = trio.SSLStream(await trio.open_tcp_stream(*ports["tls"]), client_context, server_hostname="localhost")
        async with tls_stream:
            await send(tls_stream, b"HEADNC", b"HEADB20003tls")
            assert await receive(tls_stream) == NC_ANSWER
            assert await receive(tls_stream) == b"HEADB300tls"
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            await udp.bind(("127.0.0.1", 0))
            for message, answer in [(b"HEADNC", NC_ANSWER), (b"HEADB20003udp", b"HEADB300udp")]:
                await udp.sendto(encode(message), ports["udp"])
                with trio.fail_after(TIMEOUT):
                    data, sender = await udp.recvfrom(65536)
                assert (data, sender) == (encode(answer), ports["udp"])
            # A reload swaps the plugins, not the ports: both keep serving.
            send_signal(signal.SIGHUP)
            await logs.wait_for("plugins reloaded", timeout=RELOAD_TIMEOUT)
            await udp.sendto(encode(b"HEADNC"), ports["udp"])
            with trio.fail_after(TIMEOUT):
                assert (await udp.recvfrom(65536))[0] == encode(NC_ANSWER)
        async with trio.SSLStream(await trio.open_tcp_stream(*ports["tls"]), client_context, server_hostname="localhost") as tls_stream:
            assert await request(tls_stream, b"HEADNC") == NC_ANSWER
        assert await served.stop() == 0
    assert [line["listener"] for line in logs.events("tls established")] == ["tls", "tls"]
    assert sorted(line["listener"] for line in logs.events("request")) == ["tcp", "tls", "tls", "tls", "udp", "udp", "udp"]
    assert sorted(line["listener"] for line in logs.events("stopped")) == ["tcp", "tls", "udp"]


def test_a_tls_key_that_does_not_match_stops_start_up_with_one_line(tmp_path: Path, logs: Logs) -> None:
    config, _ = with_tls_and_udp(make_config(tmp_path / "no-plugins"), tmp_path)
    other = trustme.CA().issue_cert("other")
    assert config.tls.private_key is not None
    other.private_key_pem.write_to_path(str(config.tls.private_key))
    assert serve(config) == 1
    [line] = logs.events("cannot start")
    assert line["reason"] == f"tls.private_key: {config.tls.private_key} does not match tls.certificate {config.tls.certificate}"


@pytest.mark.parametrize("kind", ["server", "tls", "udp"])
def test_a_busy_port_stops_start_up_with_one_line_naming_it(tmp_path: Path, logs: Logs, kind: str) -> None:
    config, _ = with_tls_and_udp(make_config(tmp_path / "no-plugins"), tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        section = getattr(config, kind)
        config = replace(config, **{kind: replace(section, port=port)})
        assert serve(config) == 1
    [line] = logs.events("cannot start")
    assert line["reason"] == f"{kind}: cannot listen on 127.0.0.1:{port}: Address already in use"


async def test_test_lmks_of_each_kind_are_served_announced_and_warned_about(plugin_dir: Path, logs: Logs) -> None:
    # [lmk] test_lmks: 00 variant, 01 3DES key-block, 02 AES key-block test LMK; NC %02 answers the AES
    # test LMK's check value (rkbalgi/libiso: 9D04A0). Every test LMK is named in the start-up warning.
    config = make_config(plugin_dir)
    config = replace(config, lmk=replace(config.lmk, test_lmks=("variant", "keyblock-3des", "keyblock-aes")))
    async with serving(config) as served, await served.connect() as stream:
        await send(stream, b"HEADNC%02")
        wire = await receive_exactly(stream, 2 + 33)
    assert wire[2:] == b"HEADND00" + b"9D04A00000000000" + FIRMWARE.encode("ascii")
    assert [(e["lmk_id"], e["kind"]) for e in logs.events("LMK loaded")] == [
        ("00", "variant"),
        ("01", "keyblock-3des"),
        ("02", "keyblock-aes"),
    ]
    (warning,) = logs.events("TEST LMK LOADED: this unit's keys are public; never use it with live keys or cards")
    assert warning["lmks"] == ["00 (variant)", "01 (keyblock-3des)", "02 (keyblock-aes)"]
