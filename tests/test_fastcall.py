"""The native call step (hsmd/runtime/fastcall.c) answers exactly as the ctypes path, and is loaded only when it can be trusted.

Every other wasm test runs with it (the runtime takes it from the compile
cache the session build wrote); here each answer, error and fault of the
shipped commands, the misbehaving Python plugin ZF and the misbehaving C
plugin ZC is compared between a runtime that uses it and one that does not.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.runtime import GuestError, Limits, PluginFault, Runtime, fastcall, memory
from plugingen import build
from tests.conftest import CACHE
from tests.migration import NEW_LMK
from tests.test_c_faulty import _compile

pytestmark = pytest.mark.wasm

Outcome = tuple[str, ...]


@pytest.fixture(scope="session")
def built_library(built_plugins: Path) -> Path:
    """The library the session build put in the compile cache (built_plugins builds it)."""
    library = fastcall.load(CACHE)
    assert library is not None
    return library.path


@pytest.fixture
def runtimes(host: Host, built_library: Path) -> Iterator[tuple[Runtime, Runtime]]:
    with Runtime(host, Limits(), CACHE) as fast, Runtime(host, Limits(), CACHE, fast_calls=False) as slow:
        assert fast.fast is not None and slow.fast is None
        yield fast, slow


def outcome(runtime: Runtime, path: Path, requests: list[bytes]) -> list[Outcome]:
    """What each request gets from a fresh load of `path`, in order (faults cost the instance, as they would)."""
    plugin = runtime.load(path)
    seen: list[Outcome] = []
    try:
        for request in requests:
            try:
                seen.append(("answer", runtime.execute(plugin, request, RequestScope("test")).hex()))
            except GuestError as exc:
                seen.append(("error", exc.code, exc.reason))
            except PluginFault as exc:
                seen.append(("fault", exc.kind, exc.message))
        seen.append(("faults", str(plugin.faults)))
    finally:
        plugin.close()
    return seen


LARGEST_B2 = b"FFF9" + bytes(range(256)) * 255 + bytes(range(249))  # 65,529 bytes of data: a full frame


@pytest.mark.parametrize(
    ("command", "requests"),
    [
        ("B2", [b"0005hello", b"0000", LARGEST_B2, b"0005hell", b"00X5hello"]),
        ("NC", [b"", b"extra"]),
        ("BU", [b"011U1EF828AA8F6B80EB83E19FBC373F3A85", b"011U1EF828AA8F6B80EB83E19FBC373F3A8", b"09"]),
    ],
)
def test_shipped_commands_answer_the_same_either_way(
    runtimes: tuple[Runtime, Runtime], built_plugins: Path, command: str, requests: list[bytes]
) -> None:
    fast, slow = runtimes
    got = outcome(fast, built_plugins / f"{command}.wasm", requests)
    assert got == outcome(slow, built_plugins / f"{command}.wasm", requests)
    assert got[0][0] == "answer"  # the first of each is a success, read by the native step itself


def test_every_fault_of_a_python_plugin_is_the_same_either_way(runtimes: tuple[Runtime, Runtime], plugin_dir: Path) -> None:
    requests = [b"Ehello", b"T", b"C", b"G", b"Fits own words", b"A41", b"A15", b"L", b"Eagain", b"Q"]
    fast, slow = runtimes
    got = outcome(fast, plugin_dir / "ZF.wasm", requests)
    assert got == outcome(slow, plugin_dir / "ZF.wasm", requests)
    assert [o[1] for o in got if o[0] == "fault"] == ["unreachable", "guest", "guest", "fuel"]
    assert ("error", "41", "the code this plugin chose") in got


def test_every_fault_of_a_c_plugin_is_the_same_either_way(runtimes: tuple[Runtime, Runtime]) -> None:
    zc = _compile("ZC")
    requests = [b"C", b"U", b"O", b"F", b"1", b"S", b"X", b"B", b"W", b"H", b"G", b"C"]
    fast, slow = runtimes
    got = outcome(fast, zc, requests)
    assert got == outcome(slow, zc, requests)
    kinds = [o[1] for o in got if o[0] == "fault"]
    assert kinds == ["unreachable", "out-of-bounds", "guest", "malformed", "malformed", "malformed", "trap", "malformed"]


def test_a_plugin_built_before_execute_frame_answers_the_same_either_way(runtimes: tuple[Runtime, Runtime]) -> None:
    before = _compile("before-frames", contract="1.7.0")  # list<u8> through execute
    requests = [b"E" + bytes(range(256)), b"C", b"U", b"S", b"X", b"W", b"H", b"C"]
    fast, slow = runtimes
    got = outcome(fast, before, requests)
    assert got == outcome(slow, before, requests)
    assert got[0] == ("answer", (b"00" + bytes(range(256))).hex())
    assert [o[1] for o in got if o[0] == "fault"] == ["unreachable", "malformed", "malformed"]


# --- fixed answers: given by the native step without entering Python ---


def test_fixed_answers_are_given_natively_and_anything_else_is_asked_of_the_host(
    built_plugins: Path, built_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two LMKs, the default 01: NC without %nn, with each loaded one, with one not loaded (13) and a malformed one.
    host = Host(LmkSet({0: TEST_LMK, 1: NEW_LMK}, default=1), "1234-5678")
    requests = [b"", b"%00", b"%01", b"%02", b"%0X"]
    asked: list[str] = []

    def counting(name: str) -> Any:
        method = getattr(host, name)

        def counted(*args: Any) -> Any:
            asked.append(name)
            return method(*args)

        return counted

    for name in ("lmk_check_value", "firmware_number"):
        monkeypatch.setattr(host, name, counting(name))
    with Runtime(host, Limits(), CACHE) as fast, Runtime(host, Limits(), CACHE, fast_calls=False) as slow:
        got = outcome(fast, built_plugins / "NC.wasm", requests)
        natively_asked, asked[:] = list(asked), []
        assert got == outcome(slow, built_plugins / "NC.wasm", requests)
    new_lmk = NEW_LMK.check_value
    assert got[:3] == [("answer", f"00{answer}1234-5678".encode().hex()) for answer in (new_lmk, TEST_LMK.check_value, new_lmk)]
    assert got[3][:2] == ("error", "13")
    assert got[4][:2] == ("error", "13")  # the SDK refuses it before asking the host
    assert natively_asked == ["lmk_check_value"]  # only LMK 02, which the table does not hold
    assert asked == ["lmk_check_value", "firmware_number"] * 3 + ["lmk_check_value"]


def test_a_fixed_answer_of_a_shape_the_native_step_cannot_give_is_refused_at_start(built_library: Path) -> None:
    class Misdeclared(Host):
        def fixed_answers(self) -> dict[str, dict[int | None, str]]:
            return {**super().fixed_answers(), "random-hex": {8: "00" * 8}}  # takes a u32, not an option<u32>

    with pytest.raises(TypeError, match="host function random-hex: a fixed answer needs"):
        Runtime(Misdeclared(LmkSet({0: TEST_LMK}), "1234-5678"), Limits(), CACHE)


def test_a_subclass_that_answers_a_fixed_function_its_own_way_is_asked(built_plugins: Path, built_library: Path) -> None:
    class Relabelled(Host):
        def firmware_number(self, scope: RequestScope) -> str:
            return "9999-0000"

    host = Relabelled(LmkSet({0: TEST_LMK}), "1234-5678")
    with Runtime(host, Limits(), CACHE) as fast:
        assert outcome(fast, built_plugins / "NC.wasm", [b""])[0] == ("answer", f"00{TEST_LMK.check_value}9999-0000".encode().hex())


def test_a_request_whose_scope_is_closed_is_refused(runtime: Runtime, built_plugins: Path) -> None:
    scope = RequestScope("ended")
    scope.close()
    with pytest.raises(ValueError, match="request ended: its scope is closed"):
        runtime.execute(runtime.load(built_plugins / "NC.wasm"), b"", scope)


# --- loading: only a library that passes the compile cache's checks ---


@pytest.fixture
def cache_copy(tmp_path: Path, built_library: Path) -> Path:
    """A private compile cache holding a copy of the built library."""
    directory = tmp_path / "cache" / fastcall.SUBDIR
    directory.mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path, 0o755)
    shutil.copyfile(built_library, directory / built_library.name)
    os.chmod(directory / built_library.name, 0o600)
    return tmp_path / "cache"


def refused(cache_dir: Path) -> list[MutableMapping[str, Any]]:
    with structlog.testing.capture_logs() as logs:
        assert fastcall.load(cache_dir) is None
    return logs


def test_the_copy_loads(cache_copy: Path) -> None:
    library = fastcall.load(cache_copy)
    assert library is not None and library.path.parent == cache_copy / fastcall.SUBDIR


def test_a_missing_library_is_said_once_and_calls_take_the_ctypes_path(tmp_path: Path) -> None:
    logs = refused(tmp_path / "nothing")
    assert [(e["event"], e["reason"]) for e in logs] == [("fast call library not used", "not built (make build builds it)")]


def test_a_library_whose_content_does_not_match_its_name_is_refused(cache_copy: Path) -> None:
    (library,) = (cache_copy / fastcall.SUBDIR).iterdir()
    data = bytearray(library.read_bytes())
    data[-1] ^= 1
    library.write_bytes(bytes(data))
    logs = refused(cache_copy)
    assert logs[0]["event"] == "fast call library refused"
    assert logs[0]["reason"] == "content does not match the digest in its name"


def test_a_library_others_can_write_is_refused(cache_copy: Path) -> None:
    (library,) = (cache_copy / fastcall.SUBDIR).iterdir()
    library.chmod(0o620)
    logs = refused(cache_copy)
    assert logs[0]["event"] == "fast call library refused"
    assert "writable by group or others" in str(logs[0]["reason"])


def test_a_symbolic_link_in_the_librarys_place_is_not_followed(cache_copy: Path, tmp_path: Path) -> None:
    (library,) = (cache_copy / fastcall.SUBDIR).iterdir()
    elsewhere = tmp_path / "elsewhere.so"
    library.rename(elsewhere)
    library.symlink_to(elsewhere)
    logs = refused(cache_copy)
    assert [(e["event"], e["reason"]) for e in logs] == [
        ("fast call library refused", f"{library.name} is a symbolic link"),
        ("fast call library not used", "not built for this source (make build builds it)"),
    ]


def test_a_directory_others_can_write_is_not_loaded_from(cache_copy: Path) -> None:
    (cache_copy / fastcall.SUBDIR).chmod(0o777)
    logs = refused(cache_copy)
    assert logs[0]["event"] == "fast call library not used"
    assert "writable by group" in str(logs[0]["reason"])


def test_build_keeps_a_verified_library_and_replaces_one_that_fails_the_checks(cache_copy: Path) -> None:
    directory = cache_copy / fastcall.SUBDIR
    (kept,) = directory.iterdir()
    stale = directory / f"{fastcall.PREFIX}{'0' * 16}-{'0' * 64}{fastcall.SUFFIX}"
    stale.write_bytes(b"from an older fastcall.c")
    assert fastcall.build(cache_copy) == kept  # nothing compiled: the verified one stands
    assert list(directory.iterdir()) == [kept]  # the other source's build is gone
    kept.write_bytes(b"tampered")
    kept.chmod(0o600)
    rebuilt = fastcall.build(cache_copy, build._zig_env())  # compiled again (zig's own cache makes it quick)
    assert list(directory.iterdir()) == [rebuilt]
    assert rebuilt.read_bytes() != b"tampered"
    assert fastcall.load(cache_copy) is not None


def test_the_native_step_asks_the_memory_question_itself(
    runtimes: tuple[Runtime, Runtime], plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an answer it reads, the native step probes the mark: a leak is recycled without memory.py asking."""
    fast, slow = runtimes
    asked: list[object] = []
    real_probe = memory.Probe.__call__

    def counted(probe: memory.Probe) -> bool:
        asked.append(probe)
        return real_probe(probe)

    monkeypatch.setattr(memory.Probe, "__call__", counted)
    plugins = [runtime.load(plugin_dir / "ZF.wasm") for runtime in (fast, slow)]
    calls_to_the_mark = []
    for runtime, plugin in zip((fast, slow), plugins, strict=True):
        calls = 0
        while not plugin.recycles and calls < 10:  # 12.8 MiB to start, 8 MiB more a call: past 60 MiB at the 6th
            assert runtime.execute(plugin, b"M8", RequestScope("test")) == b"00"
            calls += 1
        assert plugin.recycled["memory"] == 1
        calls_to_the_mark.append(calls)
        plugin.close()
    assert calls_to_the_mark == [6, 6]
    assert len(asked) == 6  # only the runtime without the native step asked, once after each call
