"""The plugin runtime: loading and refusing, the fast call path, limits, faults, recycling."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest

from hsmd.host import Host, RequestScope
from hsmd.runtime import CONTRACT_VERSION, GuestError, Plugin, PluginFault, PluginRefused, Runtime, abi, contract
from hsmd.runtime.plugin import MIB
from tests.conftest import ROOT, link_plugin, make_runtime

pytestmark = pytest.mark.wasm


def run(rt: Runtime, plugin: Plugin, body: bytes) -> bytes:
    return rt.execute(plugin, body, RequestScope("t"))


@pytest.fixture
def plugins(runtime: Runtime, plugin_dir: Path) -> dict[str, Plugin]:
    loaded, refused = runtime.load_dir(plugin_dir)
    assert refused == []
    return loaded


# --- the pinned call path ---


def test_wasmtime_version_is_the_one_the_abi_was_written_for() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"wasmtime=={abi.ABI_WASMTIME_VERSION}" in deps
    assert abi.WASMTIME_VERSION == abi.ABI_WASMTIME_VERSION


def test_component_value_layout_matches_the_abi() -> None:
    abi.check_layout()
    assert (abi.VAL_SIZE, abi.PAYLOAD) == (32, 8)


def test_contract_version_is_the_wit_package_version() -> None:
    wit = (ROOT / "wasm" / "wit" / "plugin.wit").read_text()
    assert f"package hsmd:plugin@{CONTRACT_VERSION};" in wit


# --- loading ---


def test_every_plugin_reports_its_metadata(plugins: dict[str, Plugin]) -> None:
    assert sorted(plugins) == ["B2", "NC", "ZF"]
    assert plugins["NC"].meta.description == "Perform diagnostics."
    assert plugins["NC"].contract == CONTRACT_VERSION


def test_garbage_file_is_refused_and_the_others_still_load(runtime: Runtime, plugin_dir: Path, tmp_path: Path) -> None:
    link_plugin(plugin_dir / "B2.wasm", tmp_path, "B2.wasm")
    (tmp_path / "QQ.wasm").write_bytes(b"\0asm not really")
    loaded, refused = runtime.load_dir(tmp_path)
    assert list(loaded) == ["B2"]
    assert [r.path.name for r in refused] == ["QQ.wasm"]
    assert refused[0].reason.startswith("does not compile: ")


def test_metadata_naming_another_command_is_refused(runtime: Runtime, plugin_dir: Path, tmp_path: Path) -> None:
    path = link_plugin(plugin_dir / "NC.wasm", tmp_path, "XY.wasm")
    with pytest.raises(PluginRefused, match=r"^metadata says command 'NC' but the file is named for 'XY'$"):
        runtime.load(path)


def test_other_contract_major_is_refused(runtime: Runtime, v2_plugin: Path) -> None:
    implements = CONTRACT_VERSION.replace(".", r"\.")
    with pytest.raises(PluginRefused, match=rf"^built against contract 2\.0\.0, this host implements {implements} \(major 1\)$"):
        runtime.load(v2_plugin)


@pytest.mark.parametrize(
    ("doctored", "message"),
    [
        ("param-type", "imports random-hex as func(string)->result<string,record{code:string,reason:string}>, the contract declares "),
        ("param-count", "imports key-check-value as func(u32,u32)->"),
        ("result-type", "imports firmware-number as func()->u64, the contract declares func()->string"),
        ("record-field", "imports key-describe as func(u32)->result<record{key-type:string,length:u32},"),
        ("export-type", "exports execute-frame as func(list<u8>)->result<string,record{code:string,reason:string}>, the contract "),
    ],
)
def test_an_import_whose_type_differs_from_the_contract_is_refused_at_load(
    runtime: Runtime, doctored_plugins: dict[str, Path], doctored: str, message: str
) -> None:
    # Same package version, one host function's type changed: the host would otherwise lift
    # the guest's values with the guest's types (the linker's functions are untyped).
    with pytest.raises(PluginRefused) as refused:
        runtime.load(doctored_plugins[doctored])
    assert str(refused.value).startswith(message)


def test_the_shipped_plugins_match_the_contract_exactly(runtime: Runtime, built_plugins: Path) -> None:
    loaded, refused = runtime.load_dir(built_plugins)
    assert refused == []
    assert len(loaded) == len(list(built_plugins.glob("*.wasm")))


@pytest.mark.parametrize(
    ("imports", "message"),
    [
        (["wasi:io/streams@0.2.0"], "imports 'wasi:io/streams@0.2.0', which this host does not provide"),
        (["hsmd:plugin/host@1.0.0", "hsmd:plugin/types@1.1.0"], "imports several contract versions"),
    ],
)
def test_contract_check_names_what_is_wrong(imports: list[str], message: str) -> None:
    with pytest.raises(contract.ContractError, match=message):
        contract.check(imports, contract.REQUIRED_EXPORTS)


def test_contract_check_accepts_an_older_minor_version() -> None:
    # Minor versions only add host functions: a 1.0.0 plugin imports a subset of 1.2.0.
    assert contract.check(["hsmd:plugin/host@1.0.0"], contract.REQUIRED_EXPORTS) == "1.0.0"


def test_contract_check_refuses_a_newer_minor_version() -> None:
    major, minor, _ = CONTRACT_VERSION.split(".")
    newer = f"{major}.{int(minor) + 1}.0"
    implements, newer_pattern = CONTRACT_VERSION.replace(".", r"\."), newer.replace(".", r"\.")
    with pytest.raises(contract.ContractError, match=rf"^built against contract {newer_pattern}, newer than this host's {implements}$"):
        contract.check([f"hsmd:plugin/host@{newer}"], contract.REQUIRED_EXPORTS)


def test_contract_check_requires_every_export() -> None:
    with pytest.raises(contract.ContractError, match=r"^does not export cleanup, init$"):
        contract.check([], ["metadata", "execute"])


def test_second_runtime_loads_from_the_compile_cache_quickly(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host) as rt:
        rt.load(plugin_dir / "NC.wasm")  # compiles if this cache has never seen it
    with make_runtime(host) as rt:
        started = time.monotonic()
        rt.load(plugin_dir / "NC.wasm")
        assert time.monotonic() - started < 1.0  # a compile takes ~10 s; deserializing, milliseconds


def test_reload_keeps_unchanged_plugins(runtime: Runtime, plugin_dir: Path, plugins: dict[str, Plugin]) -> None:
    again, _ = runtime.load_dir(plugin_dir, reuse=plugins)
    assert all(again[cmd] is plugins[cmd] for cmd in plugins)


# --- calls ---


def test_bytes_of_every_value_cross_the_boundary_unchanged(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    data = bytes(range(256)) * 4
    assert run(runtime, plugins["B2"], b"%04X" % len(data) + data) == b"00" + data


def test_a_frame_sized_payload_crosses_the_boundary(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    data = b"\xa5" * 0xFFF0
    assert run(runtime, plugins["B2"], b"FFF0" + data) == b"00" + data


def test_error_answer_carries_code_and_reason(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    with pytest.raises(GuestError) as info:
        run(runtime, plugins["B2"], b"0006hello")
    assert (info.value.code, info.value.reason) == ("80", "5 bytes of data, 6 declared")


def test_request_scope_is_closed_after_the_call(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    scope = RequestScope("t")
    runtime.host.key_generate(scope, "001", "U")
    runtime.execute(plugins["NC"], b"", scope)
    assert scope.closed
    assert scope.handles == {}


# --- faults: each answered, counted, and the instance replaced ---

BACKTRACE = """error while executing at wasm backtrace:
    0: 0xb245a8 - <unknown>!<wasm function 0>
    1: 0xb38fdb - libc.so!filesystem_preopens_get_directories
    2: 0xb30e43 - libc.so!stat

Caused by:
    wasm trap: {}"""


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        ("wasm `unreachable` instruction executed", "unreachable"),
        ("out of bounds memory access", "out-of-bounds"),
        ("call stack exhausted", "stack-overflow"),
        ("all fuel consumed by WebAssembly", "fuel"),
        ("interrupt", "deadline"),
        ("integer divide by zero", "arithmetic"),
        ("indirect call type mismatch", "bad-call"),
        ("something wasmtime adds one day", "trap"),
    ],
)
def test_a_trap_is_classified_by_what_wasmtime_says_caused_it(cause: str, kind: str) -> None:
    trap = abi.TrapError(BACKTRACE.format(cause))
    assert (trap.kind, trap.reason, trap.where) == (kind, cause, "libc.so!filesystem_preopens_get_directories")


def test_of_several_causes_the_trap_is_the_reason() -> None:
    trap = abi.TrapError("error while executing:\n\nCaused by:\n    0: failed in realloc\n    1: wasm trap: call stack exhausted")
    assert (trap.kind, trap.reason) == ("stack-overflow", "call stack exhausted")


def test_a_trap_without_a_backtrace_is_its_own_first_line() -> None:
    trap = abi.TrapError("host function random-hex failed\nmore")
    assert (trap.kind, trap.reason, trap.where) == ("trap", "host function random-hex failed", None)


def test_trap_is_a_fault_and_the_next_call_gets_a_fresh_instance(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    zf = plugins["ZF"]
    with pytest.raises(PluginFault) as info:
        run(runtime, zf, b"T")
    assert info.value.kind == "unreachable"
    assert info.value.message.startswith("wasm `unreachable` instruction executed (in ")  # not the backtrace header
    assert run(runtime, zf, b"Eagain") == b"00again"
    assert zf.faults == 1


def test_endless_loop_runs_out_of_fuel(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"L")
    assert info.value.kind == "fuel"
    assert info.value.message.startswith("all fuel consumed by WebAssembly")
    assert run(runtime, plugins["ZF"], b"Eok") == b"00ok"


def test_endless_loop_with_ample_fuel_hits_the_wall_clock_deadline(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, fuel=10**15, deadline_ms=100) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")
        started = time.monotonic()
        with pytest.raises(PluginFault) as info:
            run(rt, zf, b"L")
        elapsed = time.monotonic() - started
    assert info.value.kind == "deadline"
    assert info.value.message.startswith("interrupt")
    assert 0.09 <= elapsed < 1.0


def test_the_epoch_clock_rests_when_idle_and_a_call_after_it_still_meets_its_deadline(host: Host, plugin_dir: Path) -> None:
    # An idle server must not wake 100 times a second (epoch.py); resting must not cost a deadline.
    with make_runtime(host, fuel=10**15, deadline_ms=50) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")
        assert run(rt, zf, b"Eok") == b"00ok"
        deadline = time.monotonic() + 5
        while not rt.clock.asleep and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rt.clock.asleep  # ticks + 1 quiet ticks: about 80 ms here
        started = time.monotonic()
        with pytest.raises(PluginFault) as info:
            run(rt, zf, b"L")
        elapsed = time.monotonic() - started
        assert info.value.kind == "deadline"
        assert 0.04 <= elapsed < 0.5
        assert not rt.clock.asleep
        while not rt.clock.asleep and time.monotonic() < deadline:
            time.sleep(0.01)
        closing = time.monotonic()
    assert time.monotonic() - closing < 0.5  # close() wakes a resting clock


def test_the_epoch_clock_never_rests_while_an_entry_is_in_flight() -> None:
    # An entry delayed between enter() and its guest call (a descheduled thread) keeps the ticker
    # running however long it takes: the deadline it arms late is still reached on time.
    import wasmtime

    from hsmd.runtime.epoch import TICK_SECONDS, EpochClock

    clock = EpochClock(wasmtime.Engine(wasmtime.Config()), deadline_ms=20)  # ticks = 3
    try:
        clock.enter()
        time.sleep((clock.ticks + 5) * TICK_SECONDS)
        assert not clock.asleep
        clock.leave()
        deadline = time.monotonic() + 5
        while not clock.asleep and time.monotonic() < deadline:
            time.sleep(TICK_SECONDS)
        assert clock.asleep and clock.active == 0
        clock.enter()  # wakes it
        time.sleep(3 * TICK_SECONDS)
        assert not clock.asleep
        clock.leave()
    finally:
        clock.close()


def test_allocation_past_the_memory_cap_is_a_fault(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, memory_bytes=32 * 1024 * 1024) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")
        with pytest.raises(PluginFault) as info:
            run(rt, zf, b"M64")
        assert info.value.kind == "memory"
        assert re.fullmatch(r"command raised MemoryError; linear memory 1\d\.\d of 32 MiB", info.value.message)
        assert run(rt, zf, b"Eok") == b"00ok"


def test_a_trap_with_memory_at_the_cap_is_a_memory_fault(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, memory_bytes=24 * MIB) as rt:
        loaded = rt.load(plugin_dir / "ZF.wasm")
        # The same component with no high-water mark: the cap is reached, as before recycling watched memory.
        zf = Plugin(
            path=loaded.path, digest=loaded.digest, contract=loaded.contract, meta=loaded.meta, factory=loaded._factory, recycle_after=10**6
        )
        with pytest.raises(PluginFault) as info:
            run(rt, zf, b"H")  # a trap, not the MemoryError the SDK reports: only the memory's size tells
    assert info.value.kind == "memory"
    assert re.search(r"; linear memory 2\d\.\d of 24 MiB$", info.value.message)


def test_exception_in_logic_is_a_fault(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"G")
    assert info.value.kind == "guest"
    assert re.fullmatch(r"command raised ValueError at faulty\.py:\d+", info.value.message)  # never the exception's text


def test_a_plugin_reporting_its_own_failure_is_a_guest_fault_with_its_reason(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    run(runtime, plugins["ZF"], b"C")
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"Fstate is inconsistent")
    assert (info.value.kind, info.value.message) == ("guest", "state is inconsistent")
    assert run(runtime, plugins["ZF"], b"C") == b"001"  # the instance was retired


def test_a_plugin_cannot_pass_its_failure_off_as_the_hosts(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"Fhost function raised RuntimeError: boom")
    assert info.value.kind == "guest"


@pytest.mark.parametrize("code", ["41", "15", "68"])
def test_an_error_code_the_plugin_chose_is_an_answer_not_a_fault(runtime: Runtime, plugins: dict[str, Plugin], code: str) -> None:
    zf = plugins["ZF"]
    run(runtime, zf, b"C")
    with pytest.raises(GuestError) as info:
        run(runtime, zf, b"A" + code.encode())
    assert info.value.code == code
    assert run(runtime, zf, b"C") == b"003"  # the same instance
    assert zf.faults == 0


def test_exception_in_a_host_function_traps_the_guest_and_is_re_raised_on_the_host_side(
    runtime: Runtime, plugins: dict[str, Plugin], host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(scope: RequestScope, n: int) -> str:
        raise RuntimeError("entropy source gone")

    monkeypatch.setattr(host, "random_hex", broken)
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"R")
    assert info.value.kind == "host"
    assert isinstance(info.value.__cause__, RuntimeError)
    monkeypatch.undo()
    assert len(run(runtime, plugins["ZF"], b"R")) == 2 + 16


def test_base_exception_in_a_host_function_is_contained_too(
    runtime: Runtime, plugins: dict[str, Plugin], host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(scope: RequestScope, n: int) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(host, "random_hex", interrupted)
    with pytest.raises(PluginFault) as info:
        run(runtime, plugins["ZF"], b"R")
    assert isinstance(info.value.__cause__, KeyboardInterrupt)


def test_instances_are_recycled_after_the_configured_number_of_calls(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, recycle_after=3) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")
        # Module globals persist within an instance: the count restarts only on a new one.
        assert [run(rt, zf, b"C") for _ in range(4)] == [b"001", b"002", b"003", b"001"]
        assert zf.recycles == 1


def test_close_is_idempotent(runtime: Runtime, plugins: dict[str, Plugin]) -> None:
    plugins["NC"].close()
    plugins["NC"].close()
    runtime.close()
    runtime.close()
