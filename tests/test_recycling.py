"""Instances: made on first use, recycled before their memory can reach the cap, init outside any request."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmd.dispatch import Dispatcher
from hsmd.host import Host, RequestScope
from hsmd.protocol import MAX_FRAME_LEN, Frame
from hsmd.runtime import Plugin, PluginFault, Runtime, memory
from hsmd.runtime.plugin import MEMORY_HEADROOM, MIB, Instance
from tests import guest_memory
from tests.conftest import make_runtime

pytestmark = pytest.mark.wasm

# The largest B2 a client can send: a 65,535-byte frame with no header (the least of 0-32 bytes).
MAX_DATA = MAX_FRAME_LEN - len(b"B2") - len(b"FFFF")
MAX_ECHO = Frame(b"", b"B2", b"%04X" % MAX_DATA + bytes(range(256)) * (MAX_DATA // 256) + bytes(MAX_DATA % 256), None)


def run(rt: Runtime, plugin: Plugin, body: bytes) -> bytes:
    return rt.execute(plugin, body, RequestScope("t"))


@pytest.fixture
def dispatcher(runtime: Runtime, plugin_dir: Path) -> Iterator[Dispatcher]:
    plugins, _ = runtime.load_dir(plugin_dir)
    yield Dispatcher(runtime, plugins)
    for plugin in plugins.values():
        plugin.close()


# --- reading the memory size from outside the guest ---


def test_the_probe_reads_the_size_proc_maps_shows(runtime: Runtime, plugin_dir: Path) -> None:
    b2 = runtime.load(plugin_dir / "B2.wasm")
    run(runtime, b2, b"0002hi")
    instance = b2.instance()
    assert instance.memory_base is not None
    shown = {start: end - start for start, end in guest_memory.regions()}
    assert instance.memory_size() == shown[instance.memory_base]
    assert 12 * MIB <= shown[instance.memory_base] < 16 * MIB  # a fresh Python component: 196 pages and what init used
    assert instance.memory_above(shown[instance.memory_base] - 1)
    assert not instance.memory_above(shown[instance.memory_base])


def test_one_maximum_size_echo_grows_memory_by_at_most_128_kib(runtime: Runtime, plugin_dir: Path) -> None:
    # The measurement behind MEMORY_HEADROOM (plugin.py's docstring): memory never shrinks,
    # so what a call adds is the most that request needed.
    b2 = runtime.load(plugin_dir / "B2.wasm")
    run(runtime, b2, b"0002hi")
    instance = b2.instance()
    sizes = [instance.memory_size() or 0]
    for _ in range(200):
        assert run(runtime, b2, MAX_ECHO.body)[:2] == b"00"
        sizes.append(instance.memory_size() or 0)
    growth = max(after - before for before, after in itertools.pairwise(sizes))
    assert growth <= 128 * 1024
    assert 32 * growth <= MEMORY_HEADROOM
    # Since contract 1.8.0 the request and answer cross as strings, which leave nothing behind:
    # 200 echoes end at the size the first left (as list<u8>, each kept ~64 KiB).
    assert sizes[-1] == sizes[1]


# --- recycling ---


def test_an_instance_whose_memory_passed_the_mark_is_retired_after_its_call(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, memory_bytes=32 * MIB) as rt:  # mark: 28 MiB
        zf = rt.load(plugin_dir / "ZF.wasm")
        answers = [run(rt, zf, b"M4") for _ in range(6)]  # each call keeps 4 MiB more: 16.8, 20.8, 24.8, 28.8 MiB
        assert answers == [b"00"] * 6
        assert zf.recycled == {"memory": 1}
        assert zf.faults == 0
        assert run(rt, zf, b"C") == b"003"  # the count restarted on the fresh instance after the fourth call


def test_recycles_are_counted_by_reason(host: Host, plugin_dir: Path) -> None:
    with make_runtime(host, recycle_after=2, memory_bytes=32 * MIB) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")
        for body in [b"Ea", b"Eb", b"M18", b"Ec"]:  # two calls; then 18 MiB passes the 28 MiB mark at once
            run(rt, zf, body)
        assert zf.recycled == {"calls": 1, "memory": 1}
        assert zf.recycles == 2


def test_an_unmeasurable_memory_falls_back_to_a_call_budget(host: Host, plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "bases", lambda: None)  # as on a platform without /proc/self/maps
    with make_runtime(host) as rt:  # 64 MiB: (64 - 16) / 4 = 12 calls from a fresh instance
        zf = rt.load(plugin_dir / "ZF.wasm")
        assert [run(rt, zf, b"C") for _ in range(13)][-2:] == [b"0012", b"001"]
        assert zf.recycled == {"memory": 1}


def test_ten_thousand_maximum_size_echoes_never_answer_41(dispatcher: Dispatcher) -> None:
    """Measured: ~5 s on a 2-core machine. Since contract 1.8.0 the echo crosses as strings and leaves
    nothing behind, so only the 1,000-call recycle happens (as list<u8>: ~45 s, 11-12 memory recycles;
    recycling on memory is tested with ZC's leak, test_c_faulty.py)."""
    expected = b"B300" + MAX_ECHO.body[4:]
    assert len(MAX_ECHO.body) + 2 == MAX_FRAME_LEN
    answers: Counter[bytes] = Counter()
    started = time.monotonic()
    for _ in range(10_000):
        answer = dispatcher.handle_sync(MAX_ECHO)
        answers[b"echo" if answer == expected else answer[:4]] += 1
    elapsed = time.monotonic() - started
    b2 = dispatcher.plugins["B2"]
    print(f"10,000 maximum-size echoes in {elapsed:.1f}s; recycles {dict(b2.recycled)}")
    assert answers == {b"echo": 10_000}
    assert dispatcher.faults == {}
    assert (b2.recycled["memory"], b2.recycled["calls"]) == (0, 10)


# --- instances on first use; init outside any request ---


def test_a_loaded_plugin_holds_no_instance_until_its_first_request(runtime: Runtime, plugin_dir: Path) -> None:
    plugins, _ = runtime.load_dir(plugin_dir)
    assert [p.live for p in plugins.values()] == [False, False, False]
    assert run(runtime, plugins["NC"], b"")[:2] == b"00"
    assert {cmd: p.live for cmd, p in plugins.items()} == {"B2": False, "NC": True, "ZF": False}


def test_init_runs_outside_any_request_scope_at_load_first_use_and_recycle(
    host: Host, plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scopes_seen_by_init: list[object] = []
    original = Instance.init

    def spy(self: Instance) -> None:
        scopes_seen_by_init.append(rt._state.scope)
        original(self)

    monkeypatch.setattr(Instance, "init", spy)
    with make_runtime(host, recycle_after=2) as rt:
        zf = rt.load(plugin_dir / "ZF.wasm")  # init once at load, on an instance it then drops
        for _ in range(3):  # the first request makes an instance; after 2 calls it is recycled
            run(rt, zf, b"Eok")
        with pytest.raises(PluginFault):
            run(rt, zf, b"T")  # a fault retires the instance
        run(rt, zf, b"Eok")  # and the next request makes another
    assert scopes_seen_by_init == [None, None, None, None]
