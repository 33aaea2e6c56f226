"""Build every commands/<CMD>/ into build/plugins/<CMD>.wasm: incremental and parallel.

Each plugin is staged into its own directory holding only what the component
needs (the adapter, its logic module, the guest SDK), so componentize-py
bundles nothing else. A plugin is rebuilt only when the hash of its inputs
(staged files, WIT files, componentize-py version) differs from the one
recorded beside its component: componentize-py output is not bit-reproducible,
so the key is the inputs, never the output.
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
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "wasm" / "sdk" / "hsmd_sdk"
WIT_DIR = ROOT / "wasm" / "wit"
WORLD = "command"


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
    the sibling modules it imports (an interchange command reusing its terminal
    twin, one import deep), and the guest SDK.
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
    for module in _sibling_imports(source, ".".join(parts[:-1])) if len(parts) > 1 else []:
        sibling = target.root.joinpath(*module.split(".")).with_suffix(".py")
        if module != target.logic_module and sibling.is_file():
            yield module.replace(".", "/") + ".py", sibling
    for path in sorted(SDK_DIR.glob("*.py")):
        yield f"hsmd_sdk/{path.name}", path


def input_hash(target: Target) -> str:
    digest = hashlib.sha256()
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
    target: Target
    proc: subprocess.Popen[bytes]
    started: float
    tmp: Path
    digest: str


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
def _exclusive(targets: list[Target]) -> Iterator[None]:
    """One build at a time per output directory: two builds staging the same plugin would clobber each other."""
    with contextlib.ExitStack() as stack:
        for directory in sorted({t.out.parent for t in targets}):
            directory.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context((directory / ".build.lock").open("w"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build(targets: list[Target], *, jobs: int, stream: TextIO = sys.stderr, cache_dir: Path | None = None) -> dict[str, str]:
    """Build what is stale, `jobs` at a time. Returns command -> "built" | "up to date".

    With `cache_dir`, every component is also compiled to native code into that
    compile cache (what is there already is kept), so `hsmd serve` only loads.
    """
    with _exclusive(targets):
        outcome = _build_locked(targets, jobs=jobs, stream=stream)
        if cache_dir is not None:
            from hsmd.runtime.runtime import precompile

            started = time.monotonic()
            compiled = precompile([target.out for target in targets], cache_dir)
            if compiled:
                stream.write(f"compiled {compiled} plugins to native code in {cache_dir} in {time.monotonic() - started:.1f}s\n")
        return outcome


def _build_locked(targets: list[Target], *, jobs: int, stream: TextIO) -> dict[str, str]:
    progress = Progress(stream, len(targets))
    outcome: dict[str, str] = {}
    pending: list[tuple[Target, str]] = []
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
            _stage(target)
            target.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.out.with_suffix(".wasm.tmp")
            proc = subprocess.Popen(_componentize_cmd(target, tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            running.append(_Running(target, proc, time.monotonic(), tmp, digest))
            progress.event(f"{target.command}: building from {target.logic_module}", finished=False)
        time.sleep(0.2)
        progress.status(running)
        for job in [r for r in running if r.proc.poll() is not None]:
            running.remove(job)
            output = job.proc.stdout.read().decode(errors="replace") if job.proc.stdout else ""
            elapsed = time.monotonic() - job.started
            if job.proc.returncode != 0:
                job.tmp.unlink(missing_ok=True)
                failures.append(f"{job.target.command}: componentize-py failed:\n{output.strip()}")
                progress.event(f"{job.target.command}: FAILED after {elapsed:.1f}s")
                continue
            os.replace(job.tmp, job.target.out)
            job.target.stamp.write_text(job.digest + "\n")
            size = job.target.out.stat().st_size / 1e6
            outcome[job.target.command] = "built"
            progress.event(f"{job.target.command}: built in {elapsed:.1f}s ({size:.1f} MB)")
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
    args = parser.parse_args(argv)
    started = time.monotonic()
    targets = discover(args.commands_dir, args.out, root=args.root, wit_dir=args.wit)
    if not targets:
        print(f"no adapters under {args.commands_dir}", file=sys.stderr)
        return 1
    try:
        outcome = build(targets, jobs=max(1, args.jobs), cache_dir=args.cache_dir)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    built = sum(1 for v in outcome.values() if v == "built")
    print(f"{len(outcome)} plugins in {args.out} ({built} built) in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
