"""Dispatch: command code -> plugin, and every failure -> its payShield code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hsmd.dispatch import Dispatcher
from hsmd.protocol import Frame
from hsmd.runtime import Runtime

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
    assert dispatcher.faults == {"trap": 1, "fuel": 1}
    assert [(e["event"], e["kind"]) for e in logs if e["event"] == "plugin fault"] == [("plugin fault", "trap"), ("plugin fault", "fuel")]


def test_other_commands_are_unaffected_by_a_fault(dispatcher: Dispatcher) -> None:
    dispatcher.handle_sync(frame(b"ZF", b"T"))
    assert dispatcher.handle_sync(frame(b"B2", b"0002ok")) == b"HEADB300ok"


def test_swap_serves_the_new_set_and_returns_the_old(dispatcher: Dispatcher) -> None:
    old = dispatcher.swap({cmd: p for cmd, p in dispatcher.plugins.items() if cmd != "B2"})
    assert sorted(old) == ["B2", "NC", "ZF"]
    assert dispatcher.handle_sync(frame(b"B2", b"0002hi")) == b"HEADB368"
