"""The compile cache: native code is loaded only from entries the serving user can trust, and stale ones are pruned.

Most tests swap wasmtime's Component for a stand-in whose "native code" is
plain bytes, so they run in milliseconds and can tell exactly which file was
deserialized; one test at the end goes through the real thing.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from structlog.testing import capture_logs
from wasmtime.component import Component

from hsmd.host import Host, RequestScope
from hsmd.runtime import cache
from hsmd.runtime.cache import CompileCache
from hsmd.runtime.runtime import ENGINE_FINGERPRINT, precompile
from tests.conftest import make_runtime

WASM = b"\0asm component one"
OTHER = b"\0asm component two"


class FakeComponent:
    """Compiling prefixes "native:"; deserializing reads the file back and records what was read."""

    compiled: ClassVar[list[bytes]] = []
    deserialized: ClassVar[list[bytes]] = []
    opened: ClassVar[list[str]] = []

    def __init__(self, engine: Any, wasm: bytes) -> None:
        FakeComponent.compiled.append(wasm)
        self.native = b"native:" + wasm

    def serialize(self) -> bytes:
        return self.native

    @classmethod
    def deserialize_file(cls, engine: Any, path: str) -> FakeComponent:
        data = Path(path).read_bytes()
        cls.deserialized.append(data)
        cls.opened.append(path)
        component = cls.__new__(cls)
        component.native = data
        return component


@pytest.fixture(autouse=True)
def fake_component(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    FakeComponent.compiled, FakeComponent.deserialized, FakeComponent.opened = [], [], []
    monkeypatch.setattr(cache, "Component", FakeComponent)
    yield


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def make(directory: Path, fingerprint: str = "test") -> CompileCache:
    return CompileCache(directory, object(), fingerprint)  # type: ignore[arg-type]


def load(compile_cache: CompileCache, wasm: bytes = WASM) -> tuple[bytes, bool]:
    component, cached = compile_cache.load(wasm, cache.digest(wasm))
    return component.native, cached  # type: ignore[attr-defined]


def entry(compile_cache: CompileCache, wasm: bytes = WASM) -> Path:
    [path] = compile_cache.entries_for(cache.digest(wasm))
    return path


def refusals(logs: list[MutableMapping[str, Any]]) -> list[str]:
    return [e["reason"] for e in logs if e["event"] == "compile cache entry refused"]


# --- writing and loading ---


def test_an_entry_is_written_once_and_loaded_from_then_on(directory: Path) -> None:
    assert load(make(directory)) == (b"native:" + WASM, False)
    assert load(make(directory)) == (b"native:" + WASM, True)
    assert FakeComponent.compiled == [WASM]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc")
def test_an_entry_is_deserialized_through_the_descriptor_that_was_checked(directory: Path) -> None:
    load(make(directory))
    load(make(directory))
    [opened] = FakeComponent.opened
    assert opened.startswith("/proc/self/fd/")  # the same open file: nothing can be swapped in after the checks


def test_the_entry_name_carries_component_environment_and_content_digests(directory: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    component, environment, content = entry(compile_cache).name.removesuffix(".cwasm").split("-")
    assert component == cache.digest(WASM)[:32]
    assert content == hashlib.sha256(b"native:" + WASM).hexdigest()
    assert environment != make(directory, "other engine settings").environment


def test_a_new_cache_directory_is_private(directory: Path) -> None:
    load(make(directory))
    assert directory.stat().st_mode & 0o777 == 0o700
    assert entry(make(directory)).stat().st_mode & 0o777 == 0o600


# --- refusing what cannot be trusted ---


def test_a_tampered_entry_is_refused_logged_once_rebuilt_and_never_deserialized(directory: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    path = entry(compile_cache)
    path.write_bytes(b"native:evil")
    path.chmod(0o600)
    with capture_logs() as logs:
        assert load(make(directory)) == (b"native:" + WASM, False)
    assert refusals(logs) == ["content does not match the digest in its name"]
    assert b"native:evil" not in FakeComponent.deserialized
    assert entry(compile_cache).read_bytes() == b"native:" + WASM  # rebuilt, under its own digest
    assert load(make(directory)) == (b"native:" + WASM, True)


def test_a_refused_entry_that_cannot_be_removed_is_logged_once(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    entry(compile_cache).write_bytes(b"native:damaged")
    monkeypatch.setattr(cache.CompileCache, "_store", lambda self, key, data: None)  # say, a disk that is full
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    again = make(directory)
    with capture_logs() as logs:
        load(again)
        load(again)
    assert len(refusals(logs)) == 1


def test_an_entry_writable_by_group_or_others_is_refused(directory: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    path = entry(compile_cache)
    path.chmod(0o620)
    with capture_logs() as logs:
        assert load(make(directory))[1] is False
    assert refusals(logs) == [f"{path.name} is writable by group or others (mode 0620)"]
    assert FakeComponent.deserialized == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_an_entry_owned_by_another_user_is_refused(directory: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    os.chown(entry(compile_cache), 4321, -1)
    with capture_logs() as logs:
        assert load(make(directory))[1] is False
    assert "owned by uid 4321" in refusals(logs)[0]
    assert FakeComponent.deserialized == []


def test_a_symbolic_link_in_place_of_an_entry_is_refused(directory: Path, tmp_path: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    path = entry(compile_cache)
    elsewhere = tmp_path / "elsewhere.cwasm"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    with capture_logs() as logs:
        assert load(make(directory))[1] is False
    assert refusals(logs) == [f"{path.name} is a symbolic link"]
    assert FakeComponent.deserialized == []


def test_a_fifo_in_place_of_an_entry_is_refused_without_waiting_on_it(directory: Path) -> None:
    compile_cache = make(directory)
    load(compile_cache)
    path = entry(compile_cache)
    path.unlink()
    os.mkfifo(path, 0o600)
    with capture_logs() as logs:
        assert load(make(directory))[1] is False
    assert refusals(logs) == [f"{path.name} is not a regular file"]


@pytest.mark.parametrize(("mode", "problem"), [(0o775, "writable by group"), (0o757, "writable by others"), (0o1777, "writable by group")])
def test_a_cache_directory_writable_by_others_is_not_used_at_all(directory: Path, mode: int, problem: str) -> None:
    load(make(directory))
    directory.chmod(mode)
    compile_cache = make(directory)
    with capture_logs() as logs:
        assert load(compile_cache)[1] is False
        assert load(compile_cache)[1] is False
    [line] = [e for e in logs if e["event"] == "compile cache not used"]  # once, however many loads
    assert problem in line["reason"]
    assert FakeComponent.deserialized == []
    assert len(list(directory.glob("*.cwasm"))) == 1  # nothing written there either


def test_a_directory_above_writable_by_others_is_refused_unless_sticky(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    load(make(shared / "cache"))
    shared.chmod(0o777)
    with capture_logs() as logs:
        assert load(make(shared / "cache"))[1] is False
    assert "writable by" in logs[0]["reason"]
    shared.chmod(0o1777)  # like /tmp: others cannot rename or remove what is ours
    assert load(make(shared / "cache"))[1] is True


# --- verification stamps ---


def test_a_verified_entry_is_not_hashed_again_until_it_changes(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load(make(directory))  # written and stamped
    hashed: list[int] = []
    real_hash = cache.hash_fd

    def counting(fd: int, size: int) -> str:
        hashed.append(size)
        return real_hash(fd, size)

    monkeypatch.setattr(cache, "hash_fd", counting)
    assert load(make(directory))[1] is True
    assert hashed == []
    path = entry(make(directory))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))  # same times; its ctime moves on
    assert load(make(directory))[1] is True
    assert len(hashed) == 1
    assert load(make(directory))[1] is True
    assert len(hashed) == 1  # stamped again


def test_a_forged_stamp_does_not_vouch_for_other_content(directory: Path) -> None:
    load(make(directory))
    path = entry(make(directory))
    stamp = path.with_suffix(".verified").read_text()
    path.write_bytes(b"native:evil")
    path.chmod(0o600)
    path.with_suffix(".verified").write_text(stamp)  # the old status: size and ctime differ now
    assert load(make(directory)) == (b"native:" + WASM, False)
    assert b"native:evil" not in FakeComponent.deserialized


# --- component digests (sources/) ---


def counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The component files read from now on (a memo hit reads none)."""
    reads: list[str] = []
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.suffix == ".wasm":
            reads.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return reads


def test_an_unchanged_component_is_not_read_again(directory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    component = tmp_path / "Q0.wasm"
    component.write_bytes(WASM)
    assert make(directory).source_digest(component) == cache.digest(WASM)
    reads = counting_reads(monkeypatch)
    compile_cache = make(directory)
    assert compile_cache.source_digest(component) == cache.digest(WASM)
    assert compile_cache.load_file(component, cache.digest(WASM))[1] is False  # compiled: read once for that
    assert reads == ["Q0.wasm"]
    assert compile_cache.load_file(component, compile_cache.source_digest(component))[1] is True
    assert reads == ["Q0.wasm"]


def test_a_rewritten_component_is_hashed_again_even_with_its_times_put_back(directory: Path, tmp_path: Path) -> None:
    component = tmp_path / "Q0.wasm"
    component.write_bytes(WASM)
    make(directory).source_digest(component)
    before = component.stat()
    component.write_bytes(OTHER.ljust(len(WASM), b"!"))  # the same size
    os.utime(component, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same times; its ctime moved on
    assert make(directory).source_digest(component) == cache.digest(OTHER.ljust(len(WASM), b"!"))


@pytest.mark.parametrize("forgery", ["writable", "symlink"])
def test_a_memo_this_user_could_not_have_written_is_ignored(directory: Path, tmp_path: Path, forgery: str) -> None:
    component = tmp_path / "Q0.wasm"
    component.write_bytes(WASM)
    make(directory).source_digest(component)
    [memo] = (directory / cache.SOURCES).iterdir()
    lie = memo.read_text().replace(cache.digest(WASM), cache.digest(OTHER))
    if forgery == "writable":
        memo.write_text(lie)
        memo.chmod(0o666)
    else:
        fake = tmp_path / "fake-memo"
        fake.write_text(lie)
        memo.unlink()
        memo.symlink_to(fake)
    assert make(directory).source_digest(component) == cache.digest(WASM)


def test_a_component_changed_while_it_is_compiled_is_keyed_by_what_was_read(directory: Path, tmp_path: Path) -> None:
    component = tmp_path / "Q0.wasm"
    component.write_bytes(WASM)
    stale = make(directory).source_digest(component)
    component.write_bytes(OTHER)  # after its digest was taken, before it is read for compiling
    assert make(directory).load_file(component, stale)[1] is False
    assert FakeComponent.compiled == [OTHER]
    assert make(directory).entries_for(stale) == []
    assert make(directory).entries_for(cache.digest(OTHER))


def test_pruning_forgets_the_memos_of_components_gone_or_changed(directory: Path) -> None:
    compile_cache = populate(directory, {"plugins": [WASM, OTHER]})
    plugins = directory.parent / "plugins"
    for wasm in sorted(plugins.iterdir()):
        compile_cache.source_digest(wasm)
    (plugins / "Q1.wasm").unlink()
    age(directory / cache.SOURCES)
    compile_cache.prune()
    assert [make(directory)._read_memo(m)[0] for m in (directory / cache.SOURCES).iterdir()] == [str(plugins / "Q0.wasm")]  # type: ignore[index]


# --- pruning ---


def populate(directory: Path, roots: dict[str, list[bytes]]) -> CompileCache:
    """Components in root directories (each registered), each compiled into the cache."""
    compile_cache = make(directory)
    for name, components in roots.items():
        root = directory.parent / name
        root.mkdir(exist_ok=True)
        compile_cache.register_root(root)
        for i, wasm in enumerate(components):
            (root / f"Q{i}.wasm").write_bytes(wasm)
            load(compile_cache, wasm)
    return compile_cache


def age(directory: Path, seconds: float = 120) -> None:
    """Make every file look written `seconds` ago: pruning leaves files written while it runs."""
    then = time.time() - seconds
    for path in directory.iterdir():
        os.utime(path, (then, then))


def test_pruning_keeps_the_entries_of_every_registered_directory(directory: Path) -> None:
    compile_cache = populate(directory, {"plugins": [WASM], "test-plugins": [OTHER]})
    age(directory)
    assert compile_cache.prune() == cache.Pruned(0, 0)
    assert len(compile_cache.entries_for(cache.digest(WASM))) == len(compile_cache.entries_for(cache.digest(OTHER))) == 1


def test_pruning_removes_components_no_longer_present(directory: Path) -> None:
    compile_cache = populate(directory, {"plugins": [WASM, OTHER]})
    (directory.parent / "plugins" / "Q1.wasm").unlink()
    age(directory)
    pruned = compile_cache.prune()
    assert pruned == cache.Pruned(1, len(b"native:" + OTHER))
    assert compile_cache.entries_for(cache.digest(OTHER)) == []
    assert len(list(directory.glob("*.verified"))) == 1  # its stamp went with it
    assert compile_cache.entries_for(cache.digest(WASM))


def test_pruning_forgets_a_directory_that_is_gone(directory: Path) -> None:
    compile_cache = populate(directory, {"plugins": [WASM], "tmp-copy": [OTHER]})
    for path in (directory.parent / "tmp-copy").iterdir():
        path.unlink()
    (directory.parent / "tmp-copy").rmdir()
    age(directory)
    assert compile_cache.prune().entries == 1
    assert len(list((directory / "roots").iterdir())) == 1


def test_pruning_removes_other_engines_old_layouts_duplicates_orphans_and_dead_writers(directory: Path) -> None:
    compile_cache = populate(directory, {"plugins": [WASM]})
    populate(directory, {"plugins": [WASM]})
    other_engine = make(directory, "another wasmtime")
    load(other_engine)
    kept = entry(compile_cache)
    duplicate = directory / f"{compile_cache.key_for(cache.digest(WASM))}-{hashlib.sha256(b'x').hexdigest()}.cwasm"
    duplicate.write_bytes(b"x")
    (directory / "0b39ee9d10aaf8a7b7e60679881850df.cwasm").write_bytes(b"an entry of the previous layout")
    (directory / f"{'0' * 32}-{compile_cache.environment}-{'1' * 64}.verified").write_text("orphan\n")
    (directory / ".dead-writer.tmp").write_bytes(b"half")
    (directory / ".build.lock").write_bytes(b"")
    age(directory, 7200)
    os.utime(kept, (time.time() - 600,) * 2)  # the newer of the two entries for WASM
    pruned = compile_cache.prune()
    assert pruned.entries == 3  # the other engine's, the duplicate, the old layout
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted([kept.name, kept.with_suffix(".verified").name, ".build.lock", "roots", "sources"])


def test_pruning_leaves_what_was_written_in_the_last_minute(directory: Path) -> None:
    # A start that registers its directory and writes an entry while a build prunes must not lose it.
    compile_cache = populate(directory, {"plugins": [WASM]})
    (directory / "0b39ee9d10aaf8a7b7e60679881850df.cwasm").write_bytes(b"just written by an older process")
    (directory / ".writing.tmp").write_bytes(b"half")
    assert compile_cache.prune() == cache.Pruned(0, 0)
    assert (directory / ".writing.tmp").exists()


def test_a_build_prunes_the_entry_of_the_component_it_replaced(directory: Path) -> None:
    root = directory.parent / "plugins"
    root.mkdir()
    (root / "Q0.wasm").write_bytes(WASM)
    assert precompile([root / "Q0.wasm"], directory) == 1
    age(directory)
    (root / "Q0.wasm").write_bytes(OTHER)  # rebuilt
    assert precompile([root / "Q0.wasm"], directory) == 1
    assert [p.name.split("-")[0] for p in directory.glob("*.cwasm")] == [cache.digest(OTHER)[:32]]


def test_an_entry_pruned_between_listing_and_opening_is_compiled_again(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load(make(directory))
    compile_cache = make(directory)
    listed = compile_cache.entries_for(cache.digest(WASM))
    for path in directory.glob("*.cwasm"):
        path.unlink()
    monkeypatch.setattr(CompileCache, "entries_for", lambda self, digest: listed)
    with capture_logs() as logs:
        assert load(compile_cache) == (b"native:" + WASM, False)
    assert refusals(logs) == []


# --- the real thing ---


@pytest.mark.wasm
def test_a_tampered_real_entry_is_rebuilt_and_the_plugin_serves(
    host: Host, plugin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "Component", Component)  # the real wasmtime here
    wasm = (plugin_dir / "NC.wasm").read_bytes()
    private = tmp_path / "cache"
    private.mkdir(mode=0o700)
    with capture_logs() as logs, make_runtime(host) as rt:
        [good] = rt._cache.entries_for(cache.digest(wasm))  # the session's cache, built by the fixtures
        damaged = bytearray(good.read_bytes())
        damaged[len(damaged) // 2] ^= 0x01  # one bit
        (private / good.name).write_bytes(bytes(damaged))
        (private / good.name).chmod(0o600)
        rt._cache = CompileCache(private, rt.engine, ENGINE_FINGERPRINT)
        nc = rt.load(plugin_dir / "NC.wasm")
        assert rt.execute(nc, b"", RequestScope("t"))[:2] == b"00"
    assert refusals(logs) == ["content does not match the digest in its name"]
    [rebuilt] = list(private.glob("*.cwasm"))
    assert rebuilt.name.split("-")[:2] == good.name.split("-")[:2]
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() == rebuilt.name.removesuffix(".cwasm").split("-")[2]
