"""Dispatch: command code -> plugin, and every failure -> its payShield code."""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from hsmd.dispatch import Dispatcher
from hsmd.host import Host
from hsmd.protocol import Frame
from hsmd.runtime import Runtime
from tests.conftest import make_runtime

pytestmark = pytest.mark.wasm


@pytest.fixture
def dispatcher(runtime: Runtime, plugin_dir: Path) -> Iterator[Dispatcher]:
    plugins, _ = runtime.load_dir(plugin_dir)
    yield Dispatcher(runtime, plugins)
    for plugin in plugins.values():
        plugin.close()


def frame(command: bytes, body: bytes = b"", trailer: bytes | None = None) -> Frame:
    return Frame(b"HEAD", command, body, trailer)


def test_success_answers_header_response_code_and_fields(dispatcher: Dispatcher) -> None:
    assert dispatcher.handle_sync(frame(b"B2", b"0002hi")) == b"HEADB300hi"


def test_trailer_is_echoed_after_the_fields(dispatcher: Dispatcher) -> None:
    assert dispatcher.handle_sync(frame(b"B2", b"0002hi", b"T1")) == b"HEADB300hi\x19T1"


def test_binary_data_ending_like_a_trailer_is_read_again_as_data(dispatcher: Dispatcher) -> None:
    # "0005ab\x19cd" splits into fields "0005ab" and trailer "cd" (hsmd.protocol): B2 answers 80
    # to that reading, so the dispatcher reads the frame again with the trailer as fields.
    status = dispatcher.runtime.host.status
    status.answers.clear()
    assert dispatcher.handle_sync(frame(b"B2", b"0005ab", b"cd")) == b"HEADB300ab\x19cd"
    # A real trailer on a request that fails either way keeps the first answer, and the trailer.
    assert dispatcher.handle_sync(frame(b"B2", b"0003hi", b"T1")) == b"HEADB380\x19T1"
    # Each request is counted once, with the code it was answered.
    assert (status.answers["B2", "00"], status.answers["B2", "80"]) == (1, 1)


def test_a_fault_in_the_second_reading_keeps_the_first_answer(dispatcher: Dispatcher) -> None:
    # ZF's mode A answers the code that follows it: 16; read again with the trailer as fields its
    # "code" is 16 0x19 xx, a malformed answer (a fault): the request keeps its first answer and trailer.
    with capture_logs() as logs:
        assert dispatcher.handle_sync(frame(b"ZF", b"A16", b"xx")) == b"HEADZG16\x19xx"
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["second reading faulted"]


def test_error_answer_carries_only_the_code(dispatcher: Dispatcher) -> None:
    assert dispatcher.handle_sync(frame(b"B2", b"0003hi")) == b"HEADB380"


def test_unknown_command_answers_68_and_logs_why(dispatcher: Dispatcher) -> None:
    with capture_logs() as logs:
        assert dispatcher.handle_sync(frame(b"QQ")) == b"HEADQR68"
    assert logs == [
        {"event": "command refused", "reason": "no plugin loaded for this command code", "command": "QQ", "log_level": "warning"}
    ]


def test_fault_answers_41_and_is_counted_by_kind(dispatcher: Dispatcher) -> None:
    with capture_logs() as logs:
        assert dispatcher.handle_sync(frame(b"ZF", b"T")) == b"HEADZG41"
        assert dispatcher.handle_sync(frame(b"ZF", b"L")) == b"HEADZG41"
    assert dispatcher.faults == {"unreachable": 1, "fuel": 1}
    assert [(e["event"], e["kind"]) for e in logs if e["event"] == "plugin fault"] == [
        ("plugin fault", "unreachable"),
        ("plugin fault", "fuel"),
    ]


def fault_lines(dispatcher: Dispatcher, body: bytes) -> list[MutableMapping[str, Any]]:
    with capture_logs() as logs:
        assert dispatcher.handle_sync(frame(b"ZF", body)) == b"HEADZG41"
    return [e for e in logs if e["event"] == "plugin fault"]


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        (b"T", "unreachable", r"wasm `unreachable` instruction executed \(in .+!.+\)"),
        (b"L", "fuel", r"all fuel consumed by WebAssembly \(in libpython3\.\d+\.so!.+\)"),
        (b"G", "guest", r"command raised ValueError at faulty\.py:\d+"),
        (b"Fgave up", "guest", r"gave up"),
    ],
)
def test_a_fault_log_line_says_what_happened(dispatcher: Dispatcher, body: bytes, kind: str, reason: str) -> None:
    [line] = fault_lines(dispatcher, body)
    assert (line["command"], line["kind"], line["log_level"]) == ("ZF", kind, "error")
    assert re.fullmatch(reason, line["reason"])
    assert line["exc_info"] is False  # no Python traceback, and no wasm backtrace, for the plugin's own failure


def test_a_fault_at_the_memory_cap_says_memory_and_how_full(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, memory_bytes=32 * 1024 * 1024) as rt:
        plugins, _ = rt.load_dir(plugin_dir)
        [line] = fault_lines(Dispatcher(rt, plugins), b"M64")
    assert line["kind"] == "memory"
    assert re.fullmatch(r"command raised MemoryError; linear memory 1\d\.\d of 32 MiB", line["reason"])


def test_a_fault_past_the_deadline_says_deadline(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, fuel=10**15, deadline_ms=100) as rt:
        plugins, _ = rt.load_dir(plugin_dir)
        [line] = fault_lines(Dispatcher(rt, plugins), b"L")
    assert (line["kind"], line["reason"].split(" (")[0]) == ("deadline", "interrupt")


def test_a_host_function_failure_logs_the_host_traceback(dispatcher: Dispatcher, host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(scope: object, n: int) -> str:
        raise RuntimeError("entropy source gone")

    monkeypatch.setattr(host, "random_hex", broken)
    [line] = fault_lines(dispatcher, b"R")
    assert (line["kind"], line["reason"]) == ("host", "host function raised RuntimeError: entropy source gone")
    assert line["exc_info"] is True


def test_other_commands_are_unaffected_by_a_fault(dispatcher: Dispatcher) -> None:
    dispatcher.handle_sync(frame(b"ZF", b"T"))
    assert dispatcher.handle_sync(frame(b"B2", b"0002ok")) == b"HEADB300ok"


def test_swap_serves_the_new_set_and_returns_the_old(dispatcher: Dispatcher) -> None:
    old = dispatcher.swap({cmd: p for cmd, p in dispatcher.plugins.items() if cmd != "B2"})
    assert sorted(old) == ["B2", "NC", "ZF"]
    assert dispatcher.handle_sync(frame(b"B2", b"0002hi")) == b"HEADB368"
