"""Compiled components on disk: native code hsmd maps and runs, so used only when it can be trusted.

Compiling an 18 MB Python component takes ~10 s; deserializing its compiled
form takes a few ms. A `.cwasm` only loads into the same wasmtime version with
the same engine settings, so an entry's name carries the component's hash and
a hash of the wasmtime version and engine fingerprint (its *key*), then the
SHA-256 of its own content:

    <component sha256, 32 hex>-<environment, 16 hex>-<content sha256>.cwasm

What protects, and against whom. wasmtime does not check a `.cwasm`: whoever
can write an entry runs native code as the serving user.

- Other users are kept out by ownership and mode. An entry is used only if the
  file, the cache directory and every directory above it are owned by this
  user or root and writable by no one else (a directory above the cache may be
  world-writable if it is sticky, like /tmp: others cannot rename or delete
  what is not theirs in it). The file is opened without following a symbolic
  link, checked through that descriptor, and deserialized through the same
  descriptor (/proc/self/fd), so it cannot be swapped between check and use.
  Anything else is refused (logged once) and compiled again; an unsafe cache
  directory is not used at all.
- Accidental damage (a truncated copy, a disk error, an entry edited by hand)
  is caught by the content digest in the name, checked before deserializing.
  It is no defence against this user or root: they can write a matching name
  too, and no key kept where this user can read it would change that.
- Hashing 40 MB costs ~25 ms, 1.5 s for 60 plugins at every start, so a
  verified entry gets a stamp (`.verified`: device, inode, size, mtime and
  ctime of the file as verified). A file whose status still matches is not
  hashed again: any write through the file system changes its ctime, which a
  user cannot set back. Damage below the file system (a flipped bit on disk)
  after verification is not caught.
- The same holds for the components themselves: finding a component's entry
  needs its SHA-256, and 68 Python components are 1.3 GB to read and hash at
  every start. `sources/` keeps a memo per component file (its path, the same
  status fields, its digest); a file whose status still matches is not read.

Stale entries (other wasmtime versions or engine settings, components no
longer in any plugin directory that uses this cache) are pruned at build time
by `prune`. The directories that use the cache register themselves under
`roots/`, so a build of one directory never prunes another's entries.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
import wasmtime
from wasmtime.component import Component

from hsmd.runtime.abi import WASMTIME_VERSION

log = structlog.get_logger("hsmd.runtime.cache")

SUFFIX: Final = ".cwasm"
STAMP: Final = ".verified"
TMP: Final = ".tmp"
ROOTS: Final = "roots"
SOURCES: Final = "sources"
STALE_TMP_SECONDS: Final = 3600  # a temporary file this old belongs to a writer that died
GRACE_SECONDS: Final = 60  # what changed this recently may belong to a start or build running now: left for next time
_PROC_FD: Final = Path("/proc/self/fd")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Untrusted(Exception):
    """A file or directory the serving user cannot be sure only it (or root) controls; the message says why."""


@dataclass(frozen=True)
class Pruned:
    entries: int
    bytes: int


def _owner_ok(st: os.stat_result) -> bool:
    return st.st_uid in (os.geteuid(), 0)


def check_directory(directory: Path) -> None:
    """Raise Untrusted unless `directory` and every directory above it are safe to load native code from."""
    real = directory.resolve()
    for i, current in enumerate([real, *real.parents]):
        st = os.lstat(current)
        if not stat.S_ISDIR(st.st_mode):
            raise Untrusted(f"{current} is not a directory")
        if not _owner_ok(st):
            raise Untrusted(f"{current} is owned by uid {st.st_uid}, not by this user ({os.geteuid()}) or root")
        writable_by_others = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable_by_others and (i == 0 or not st.st_mode & stat.S_ISVTX):
            who = "group" if st.st_mode & stat.S_IWGRP else "others"
            raise Untrusted(f"{current} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o}): chmod go-w it")


def check_file(fd: int, path: Path) -> os.stat_result:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Untrusted(f"{path.name} is not a regular file")
    if not _owner_ok(st):
        raise Untrusted(f"{path.name} is owned by uid {st.st_uid}, not by this user ({os.geteuid()}) or root")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Untrusted(f"{path.name} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})")
    return st


def _identity(st: os.stat_result) -> str:
    """What changes whenever the file's content is changed through the file system."""
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def hash_fd(fd: int, size: int) -> str:
    if size == 0:
        return digest(b"")
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as view:
        return hashlib.sha256(view).hexdigest()


def open_nofollow(path: Path) -> int:
    try:
        # Non-blocking, or a FIFO put in an entry's place would hang the start before fstat refuses it.
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            raise Untrusted(f"{path.name} is a symbolic link") from exc
        raise


@dataclass(frozen=True)
class _Name:
    component: str
    environment: str
    content: str

    @classmethod
    def parse(cls, name: str) -> _Name | None:
        if not name.endswith(SUFFIX):
            return None
        parts = name[: -len(SUFFIX)].split("-")
        if len(parts) != 3 or [len(p) for p in parts] != [32, 16, 64] or not all(_is_hex(p) for p in parts):
            return None
        return cls(*parts)

    @property
    def key(self) -> str:
        return f"{self.component}-{self.environment}"


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


class CompileCache:
    def __init__(self, directory: Path, engine: wasmtime.Engine, fingerprint: str) -> None:
        self._dir = directory
        self._engine = engine
        self.environment = digest(f"wasmtime {WASMTIME_VERSION}|{fingerprint}".encode())[:16]
        self._refused: set[str] = set()  # entries refused in this process: each is logged once
        self._untrusted_logged = False
        self._roots: set[Path] = set()

    def key_for(self, component_digest: str) -> str:
        return f"{component_digest[:32]}-{self.environment}"

    def entries_for(self, component_digest: str) -> list[Path]:
        """The entries that claim to be this component compiled for this engine (normally one)."""
        prefix = self.key_for(component_digest) + "-"
        try:
            names = os.listdir(self._dir)
        except FileNotFoundError:
            return []
        return [self._dir / name for name in sorted(names) if name.startswith(prefix) and _Name.parse(name) is not None]

    # --- loading ---

    def load(self, wasm: bytes, component_digest: str) -> tuple[Component, bool]:
        """The compiled component, and whether it came from the cache."""
        trusted = self._trusted()
        if trusted:
            for path in self.entries_for(component_digest):
                component = self._load_entry(path)
                if component is not None:
                    return component, True
        component = Component(self._engine, wasm)
        if trusted:
            self._store(self.key_for(component_digest), component.serialize())
        return component, False

    def load_file(self, path: Path, component_digest: str) -> tuple[Component, bool]:
        """As `load`, for the component file at `path` whose digest is known: read only if it must be compiled."""
        if self._trusted():
            for entry in self.entries_for(component_digest):
                component = self._load_entry(entry)
                if component is not None:
                    return component, True
        wasm = path.read_bytes()
        return self.load(wasm, digest(wasm))  # what was read is what is compiled, and keyed, whatever the memo said

    def source_digest(self, path: Path) -> str:
        """The SHA-256 of the component file at `path`, read and hashed only if it changed since it last was."""
        st = path.stat()
        memo = self._dir / SOURCES / digest(str(path.absolute()).encode())[:32]
        trusted = self._trusted()
        if trusted:
            known = self._read_memo(memo)
            if known is not None and known[0] == str(path.absolute()) and known[1] == _identity(st):
                return known[2]
        data = path.read_bytes()
        found = digest(data)
        if trusted and path.stat() == st:  # not written to while it was read
            with contextlib.suppress(OSError, Untrusted):
                self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                memo.parent.mkdir(mode=0o700, exist_ok=True)
                check_directory(memo.parent)
                self._write_atomically(memo, f"{path.absolute()}\n{_identity(st)}\n{found}\n".encode(), directory=memo.parent)
        return found

    def _read_memo(self, memo: Path) -> tuple[str, str, str] | None:
        """(path, identity, digest) of a memo this user wrote, or None."""
        try:
            fd = open_nofollow(memo)
        except (Untrusted, OSError):
            return None
        try:
            check_file(fd, memo)
            lines = os.read(fd, 8192).decode("utf-8", errors="replace").splitlines()
        except (Untrusted, OSError):
            return None
        finally:
            os.close(fd)
        return (lines[0], lines[1], lines[2]) if len(lines) == 3 and len(lines[2]) == 64 and _is_hex(lines[2]) else None

    def _trusted(self) -> bool:
        """Whether this cache directory may be used; an unsafe one is reported once and left alone."""
        try:
            check_directory(self._dir if self._dir.exists() else self._nearest_existing())
        except Untrusted as exc:
            if not self._untrusted_logged:
                self._untrusted_logged = True
                log.error(
                    "compile cache not used", directory=str(self._dir), reason=str(exc), consequence="every plugin is compiled at load"
                )
            return False
        except OSError as exc:
            log.warning("compile cache not used", directory=str(self._dir), reason=exc.strerror)
            return False
        return True

    def _nearest_existing(self) -> Path:
        current = self._dir.absolute()
        while not current.exists():
            current = current.parent
        return current

    def _load_entry(self, path: Path) -> Component | None:
        """Deserialize one entry if it passes every check; otherwise refuse it (logged once), remove it, None."""
        if path.name in self._refused:
            return None
        try:
            fd = open_nofollow(path)
        except FileNotFoundError:
            return None  # pruned or replaced since the listing
        except (Untrusted, OSError) as exc:
            self._refuse(path, str(exc) if isinstance(exc, Untrusted) else exc.strerror or str(exc))
            return None
        try:
            st = check_file(fd, path)
            if not self._stamped(path, st):
                name = _Name.parse(path.name)
                if name is None or hash_fd(fd, st.st_size) != name.content:
                    raise Untrusted("content does not match the digest in its name")
                self._stamp(path, st)
            return self._deserialize(fd, path)
        except Untrusted as exc:
            self._refuse(path, str(exc))
        except wasmtime.WasmtimeError as exc:
            self._refuse(path, f"wasmtime cannot load it: {str(exc).splitlines()[0]}")
        finally:
            os.close(fd)
        return None

    def _deserialize(self, fd: int, path: Path) -> Component:
        # Through the descriptor that was checked, where the platform allows it: no swap in between.
        # (Where /proc is not there or not ours to open, by name: the directory checks still hold.)
        via = _PROC_FD / str(fd)
        try:
            os.close(os.open(via, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            via = path
        return Component.deserialize_file(self._engine, str(via))

    def _refuse(self, path: Path, reason: str) -> None:
        if path.name not in self._refused:
            self._refused.add(path.name)
            log.warning("compile cache entry refused", path=str(path), reason=reason, consequence="compiled again; the entry is not used")
        for victim in (path, path.with_suffix(STAMP)):
            with contextlib.suppress(OSError):
                victim.unlink()

    # --- verification stamps ---

    def _stamped(self, path: Path, st: os.stat_result) -> bool:
        try:
            fd = open_nofollow(path.with_suffix(STAMP))
        except (Untrusted, OSError):
            return False
        try:
            check_file(fd, path.with_suffix(STAMP))
            return os.read(fd, 256).decode("ascii", errors="replace").strip() == _identity(st)
        except Untrusted:
            return False
        finally:
            os.close(fd)

    def _stamp(self, path: Path, st: os.stat_result) -> None:
        with contextlib.suppress(OSError):  # a cache this user cannot write (root's) is only verified each time
            self._write_atomically(path.with_suffix(STAMP), (_identity(st) + "\n").encode())

    # --- writing ---

    def _write_atomically(self, path: Path, data: bytes | bytearray, *, directory: Path | None = None) -> None:
        # Write then rename, so a concurrent start never reads half a file; mkstemp makes it 0600.
        fd, tmp = tempfile.mkstemp(dir=directory or self._dir, prefix=".", suffix=TMP)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _store(self, key: str, data: bytes | bytearray) -> None:
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            check_directory(self._dir)
            path = self._dir / f"{key}-{hashlib.sha256(data).hexdigest()}{SUFFIX}"
            self._write_atomically(path, data)
            fd = open_nofollow(path)
            try:
                self._stamp(path, os.fstat(fd))
            finally:
                os.close(fd)
        except (OSError, Untrusted) as exc:
            log.warning("compile cache not written", directory=str(self._dir), reason=str(exc))

    # --- roots and pruning ---

    def register_root(self, directory: Path) -> None:
        """Record that components in `directory` are served from this cache, so pruning keeps their entries."""
        root = directory.absolute()
        if root in self._roots:
            return
        self._roots.add(root)
        if not self._trusted():
            return
        roots = self._dir / ROOTS
        try:
            roots.mkdir(mode=0o700, parents=True, exist_ok=True)
            record = roots / digest(str(root).encode())[:32]
            if not record.exists():
                fd, tmp = tempfile.mkstemp(dir=roots, prefix=".", suffix=TMP)
                with os.fdopen(fd, "w") as fh:
                    fh.write(str(root) + "\n")
                os.replace(tmp, record)
        except OSError as exc:
            log.debug("compile cache root not recorded", root=str(root), reason=exc.strerror)

    def _registered_roots(self) -> Iterator[tuple[Path, Path]]:
        """(record, directory) for every directory that registered itself."""
        with contextlib.suppress(FileNotFoundError):
            for record in (self._dir / ROOTS).iterdir():
                if record.name.startswith("."):
                    continue
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    yield record, Path(record.read_text().strip())

    def prune(self, known: dict[Path, str] | None = None) -> Pruned:
        """Remove what no start will load again; safe while other processes load from or write to the cache.

        Removed: entries for another wasmtime version or engine settings,
        entries whose component is in no registered root directory, all but
        the newest entry of one key, stamps without an entry, names this cache
        does not write (an older layout), and temporary files of writers that
        died. Files changed in the last GRACE_SECONDS are left for next time:
        a concurrent start may have registered its directory and written its
        entry after the live set was read.
        `known` maps component paths to digests the caller computed already.
        """
        if not self._dir.is_dir() or not self._trusted():
            return Pruned(0, 0)
        recent = time.time() - GRACE_SECONDS
        live = self._live_components(dict(known or {}))
        newest: dict[str, tuple[float, Path]] = {}
        doomed: list[Path] = []
        for entry in os.scandir(self._dir):
            if not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            mtime = entry.stat(follow_symlinks=False).st_mtime
            if mtime >= recent:
                continue
            if entry.name.endswith(TMP):
                if mtime < recent - STALE_TMP_SECONDS:
                    doomed.append(path)
                continue
            if entry.name.endswith(STAMP):
                if not path.with_suffix(SUFFIX).exists():
                    doomed.append(path)
                continue
            if not entry.name.endswith(SUFFIX):
                continue  # not ours (a lock file, a note): left alone
            name = _Name.parse(entry.name)
            if name is None or name.environment != self.environment or name.component not in live:
                doomed.append(path)
                continue
            previous = newest.get(name.key)
            if previous is None or mtime > previous[0]:
                if previous is not None:
                    doomed.append(previous[1])
                newest[name.key] = (mtime, path)
            else:
                doomed.append(path)
        doomed += self._stale_memos(recent)
        count = size = 0
        for path in doomed:
            with contextlib.suppress(OSError):
                freed = path.stat().st_size
                path.unlink()
                count += path.suffix == SUFFIX
                size += freed
            if path.suffix == SUFFIX:
                with contextlib.suppress(OSError):
                    path.with_suffix(STAMP).unlink()
        return Pruned(count, size)

    def _stale_memos(self, recent: float) -> list[Path]:
        """Memos of component files that are gone or have changed since (a memo is rewritten when its file changes)."""
        stale = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self._dir / SOURCES):
                memo = Path(entry.path)
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime >= recent:
                        continue
                known = self._read_memo(memo) if not entry.name.startswith(".") else None
                try:
                    gone = known is None or _identity(Path(known[0]).stat()) != known[1]
                except OSError:
                    gone = True
                if gone and not (entry.name.endswith(TMP) and entry.stat(follow_symlinks=False).st_mtime >= recent - STALE_TMP_SECONDS):
                    stale.append(memo)
        return stale

    def _live_components(self, known: dict[Path, str]) -> set[str]:
        """The 32-hex component keys of every component in every registered root that still exists."""
        hashed: dict[tuple[int, int, int, int], str] = {}
        for path, known_digest in known.items():
            with contextlib.suppress(OSError):
                hashed[_file_identity(path)] = known_digest
        live = set()
        for record, root in list(self._registered_roots()):
            if not root.is_dir():
                with contextlib.suppress(OSError):
                    record.unlink()  # that directory is gone: it serves nothing any more
                continue
            for wasm in _components(root):
                try:
                    ident = _file_identity(wasm)
                    if ident not in hashed:
                        hashed[ident] = self.source_digest(wasm)
                except OSError:
                    continue
                live.add(hashed[ident][:32])
        live.update(value[:32] for value in known.values())
        return live


def _components(root: Path) -> Iterable[Path]:
    with contextlib.suppress(OSError):
        yield from sorted(root.glob("*.wasm"))


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
