"""Faulty C plugins: each misbehaviour is refused at load or costs one 41 and one instance, as for Python.

ZC (tests/plugins/c/zc.c) is written against the core ABI alone (wasm/ABI.md), not the C SDK,
so it can break the contract as no SDK-built plugin would; the first request byte picks the
fault. Its load-time variants are the same source built with other defines or another WIT.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hsmd.dispatch import Dispatcher
from hsmd.host import Host, RequestScope
from hsmd.protocol import Frame
from hsmd.runtime import CONTRACT_VERSION, Plugin, PluginFault, Runtime
from hsmd.runtime.plugin import Instance
from hsmd.runtime.runtime import PluginRefused
from plugingen import build
from tests.conftest import BUILD, ROOT, make_runtime

pytestmark = pytest.mark.wasm

SOURCE = ROOT / "tests" / "plugins" / "c" / "zc.c"
OUT = BUILD / "test-plugins-c"


def _compile(name: str, *, defines: dict[str, str] | None = None, contract: str = CONTRACT_VERSION) -> Path:
    """ZC built into OUT/<name>/ZC.wasm: zig cc (freestanding), then wasm-tools embeds the WIT and makes the component."""
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    wit = build.WIT_DIR
    major, minor = (int(part) for part in contract.split(".")[:2])
    frames = (major, minor) >= (1, 8)  # contract 1.8.0 added execute-frame
    if contract != CONTRACT_VERSION:
        wit = out / "wit"
        wit.mkdir(exist_ok=True)
        text = (build.WIT_DIR / "plugin.wit").read_text()
        text = text.replace(f"package hsmd:plugin@{CONTRACT_VERSION};", f"package hsmd:plugin@{contract};")
        if not frames:  # that contract's world had no execute-frame
            text = re.sub(r"\n(    ///[^\n]*\n)*    export execute-frame: [^\n]*\n", "\n", text)
        (wit / "plugin.wit").write_text(text)
    variant = {"ZC_CONTRACT": f'"{contract}"', "ZC_FRAMES": str(int(frames)), **(defines or {})}
    flags = [f"-D{key}={value}" for key, value in variant.items()]
    tools = Path(sys.executable).parent / "wasm-tools"
    core, embedded, component = out / "zc.core.wasm", out / "zc.embed.wasm", out / "ZC.wasm"
    zig = [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-freestanding", "-O2", "-nostdlib", "-Wl,--no-entry"]
    for command in (
        [*zig, *flags, "-o", str(core), str(SOURCE)],
        [str(tools), "component", "embed", str(wit), "--world", "command", str(core), "-o", str(embedded)],
        [str(tools), "component", "new", str(embedded), "-o", str(component)],
    ):
        subprocess.run(command, check=True, capture_output=True)
    return component


@pytest.fixture(scope="session")
def zc() -> Path:
    return _compile("ZC")


@pytest.fixture
def plugin(runtime: Runtime, zc: Path) -> Iterator[Plugin]:
    loaded = runtime.load(zc)
    yield loaded
    loaded.close()


def run(runtime: Runtime, plugin: Plugin, request: bytes) -> bytes:
    return runtime.execute(plugin, request, RequestScope("test"))


def fault(runtime: Runtime, plugin: Plugin, request: bytes) -> PluginFault:
    with pytest.raises(PluginFault) as info:
        run(runtime, plugin, request)
    return info.value


def answer(runtime: Runtime, plugin: Plugin, body: bytes) -> bytes:
    return Dispatcher(runtime, {"ZC": plugin}).handle_sync(Frame(b"HEAD", b"ZC", body, None))


# --- each fault costs one 41 and one instance ---


@pytest.mark.parametrize(
    ("mode", "kind", "message"),
    [
        (b"U", "unreachable", "wasm `unreachable` instruction executed (in zc.core.wasm!behave)"),
        (b"O", "out-of-bounds", "out of bounds memory access (in zc.core.wasm!behave)"),
        (b"L", "fuel", "all fuel consumed by WebAssembly (in zc.core.wasm!behave)"),
        (b"F", "guest", "broken invariant"),
        (b"1", "malformed", "error code '4' is not two printable characters"),
        (b"S", "malformed", "response shorter than an error code"),
        (b"X", "malformed", "answer of 70000 bytes exceeds 65535"),
        (b"B", "trap", "invalid utf-8 sequence of 1 bytes from index 0"),
        (b"W", "malformed", "answer holds a character above U+00FF"),
    ],
)
def test_a_fault_answers_41_and_costs_the_instance(runtime: Runtime, plugin: Plugin, mode: bytes, kind: str, message: str) -> None:
    assert run(runtime, plugin, b"C") == b"001"
    assert answer(runtime, plugin, mode) == b"HEADZD41"
    assert fault(runtime, plugin, mode).kind == kind
    assert fault(runtime, plugin, mode).message == message
    assert run(runtime, plugin, b"C") == b"001"  # a fresh instance: its call count starts again
    assert plugin.faults == 3


@pytest.mark.parametrize(("mode", "code"), [(b"H", b"15"), (b"G", b"41")])
def test_an_error_answer_the_plugin_chose_is_not_a_fault(runtime: Runtime, plugin: Plugin, mode: bytes, code: bytes) -> None:
    run(runtime, plugin, b"C")
    assert answer(runtime, plugin, mode) == b"HEADZD" + code
    assert run(runtime, plugin, b"C") == b"003"  # the same instance
    assert plugin.faults == 0


def test_before_contract_1_7_an_error_answer_41_was_the_plugin_failing(runtime: Runtime) -> None:
    # Its SDK had no `fail`: 41 was how it reported its own failure, so the instance is retired.
    legacy = runtime.load(_compile("legacy-1.6", contract="1.6.0"))
    assert legacy.contract == "1.6.0"
    run(runtime, legacy, b"C")
    caught = fault(runtime, legacy, b"G")
    assert (caught.kind, caught.message) == ("guest", "internal failure")
    assert run(runtime, legacy, b"C") == b"001"
    legacy.close()


def test_an_endless_loop_with_ample_fuel_hits_the_deadline(host: Host, zc: Path) -> None:
    with make_runtime(host, fuel=10**15, deadline_ms=100) as rt:
        plugin = rt.load(zc)
        started = time.monotonic()
        caught = fault(rt, plugin, b"L")
        elapsed = time.monotonic() - started
        assert run(rt, plugin, b"Eok") == b"00ok"
    assert (caught.kind, caught.message) == ("deadline", "interrupt (in zc.core.wasm!behave)")
    assert 0.09 <= elapsed < 1.0


def test_growing_memory_until_it_fails_then_trapping_is_a_memory_fault(runtime: Runtime, plugin: Plugin) -> None:
    caught = fault(runtime, plugin, b"M")
    assert caught.kind == "memory"
    assert caught.message.startswith("wasm `unreachable` instruction executed (in zc.core.wasm!behave); linear memory 6")
    assert caught.message.endswith(" of 64 MiB")
    assert run(runtime, plugin, b"Eok") == b"00ok"


def test_a_leak_is_recycled_before_the_cap_and_never_answers_41(host: Host, zc: Path) -> None:
    with make_runtime(host, memory_bytes=16 * 1024 * 1024) as rt:
        plugin = rt.load(zc)
        assert {run(rt, plugin, b"K") for _ in range(100)} == {b"00"}  # 1 MiB kept per call
        assert plugin.faults == 0
        assert plugin.recycled["memory"] >= 6


def test_a_failing_host_function_traps_the_guest_and_answers_41(
    runtime: Runtime, plugin: Plugin, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(scope: RequestScope, n: int) -> str:
        raise RuntimeError("entropy source gone")

    assert len(run(runtime, plugin, b"R")) == 2 + 16
    monkeypatch.setattr(host, "random_hex", broken)
    caught = fault(runtime, plugin, b"R")
    assert caught.kind == "host"
    assert isinstance(caught.__cause__, RuntimeError)


# --- refused at load ---


@pytest.mark.parametrize(
    ("name", "defines", "contract", "reason"),
    [
        ("command", {"ZC_COMMAND": '"ZX"'}, CONTRACT_VERSION, "metadata says command 'ZX' but the file is named for 'ZC'"),
        ("major", {}, "2.0.0", f"built against contract 2.0.0, this host implements {CONTRACT_VERSION} (major 1)"),
        ("minor", {}, "1.99.0", f"built against contract 1.99.0, newer than this host's {CONTRACT_VERSION}"),
        ("init-error", {"ZC_INIT": "1"}, CONTRACT_VERSION, "failed to start: 41: init refuses"),
        ("init-host", {"ZC_INIT": "2"}, CONTRACT_VERSION, "failed to start: trap: host function random-hex failed"),
        ("init-fixed", {"ZC_INIT": "3"}, CONTRACT_VERSION, "failed to start: trap: host function firmware-number failed"),
        ("long-metadata", {"ZC_LONG_META": "1"}, CONTRACT_VERSION, "failed to start: string of 5000 bytes exceeds 4096"),
    ],
)
def test_a_plugin_that_cannot_serve_is_refused_at_load(
    runtime: Runtime, name: str, defines: dict[str, str], contract: str, reason: str
) -> None:
    with pytest.raises(PluginRefused) as refused:
        runtime.load(_compile(name, defines=defines, contract=contract))
    assert str(refused.value) == reason


def test_an_init_that_loops_is_refused_after_a_second_try(host: Host) -> None:
    looping = _compile("init-loop", defines={"ZC_INIT": "4"})
    with make_runtime(host, fuel=10**15, deadline_ms=100) as rt, capture_logs() as logs:
        started = time.monotonic()
        with pytest.raises(PluginRefused) as refused:
            rt.load(looping)
        elapsed = time.monotonic() - started
    assert str(refused.value) == "failed to start: deadline: interrupt"
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["plugin start met its deadline, trying once more"]
    assert elapsed >= 0.2  # both tries ran to the deadline


@pytest.mark.parametrize("entry", ["instantiation", "metadata", "init"])
def test_a_plugin_stalled_past_its_deadline_once_still_loads(host: Host, zc: Path, monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    # The deadline passes while one entry of the first try runs, as when a VM is stopped for over
    # a second (seen on CI machines): the second try starts a fresh instance and loads the plugin.
    entries = iter(["instantiation", "metadata", "init", "cleanup"])
    arm = Instance._arm

    def stalled(self: Instance) -> None:
        arm(self)
        if next(entries, None) == entry:
            for _ in range(rt.clock.ticks + 1):
                rt.engine.increment_epoch()

    with make_runtime(host) as rt, capture_logs() as logs:
        monkeypatch.setattr(Instance, "_arm", stalled)
        plugin = rt.load(zc)
    assert plugin.command == "ZC"
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["plugin start met its deadline, trying once more"]


def test_every_byte_value_crosses_both_calls(runtime: Runtime, zc: Path) -> None:
    # execute-frame (text whose characters are the bytes) where the plugin exports it, execute (list<u8>)
    # for one built before contract 1.8.0: the same bytes either way, both directions.
    data = bytes(range(256)) * 3
    frames, before = runtime.load(zc), runtime.load(_compile("before-frames", contract="1.7.0"))
    for plugin in (frames, before):
        assert run(runtime, plugin, b"E" + data) == b"00" + data
    # W answers the bytes C4 80: two bytes through execute, through execute-frame U+0100, which no byte is
    assert run(runtime, before, b"W") == b"00\xc4\x80"
    assert fault(runtime, frames, b"W").message == "answer holds a character above U+00FF"
    frames.close()
    before.close()


def test_a_plugin_built_against_an_older_minor_version_loads_and_runs(runtime: Runtime) -> None:
    plugin = runtime.load(_compile("older", contract="1.0.0"))
    assert plugin.contract == "1.0.0"
    assert len(run(runtime, plugin, b"R")) == 2 + 16
