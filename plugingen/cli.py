"""plugingen command line: generate one adapter, or all of them, or check they are fresh; `new` scaffolds a command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugingen import cbindings, scaffold, sdkgen
from plugingen.generate import GenerateError, inspect_logic, write_adapter


def _discover(logic_dir: Path) -> list[str]:
    """Every module in the logic package that declares a COMMAND."""
    package = logic_dir.as_posix().strip("/").replace("/", ".")
    modules = []
    for path in sorted(logic_dir.glob("*.py")):
        if path.stem != "__init__" and "COMMAND = " in path.read_text(encoding="utf-8"):
            modules.append(f"{package}.{path.stem}")
    return modules


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["new"]:
        return scaffold.main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="plugingen",
        description="Write the WebAssembly adapter of a host command from its logic module.",
        epilog=(
            "examples:\n  plugingen --cmd NC --logic logic.nc --out commands/NC\n  plugingen --all --check\n"
            "  plugingen new XY --lang python|c|cpp   (scaffold a new command; plugingen new --help)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cmd", help="two-character command code the logic module must declare")
    parser.add_argument("--logic", help="dotted name of the logic module, e.g. logic.nc")
    parser.add_argument("--out", type=Path, help="adapter directory, e.g. commands/NC")
    parser.add_argument("--all", action="store_true", help="every logic module under --logic-dir into --commands-dir")
    parser.add_argument("--logic-dir", type=Path, default=Path("logic"))
    parser.add_argument("--commands-dir", type=Path, default=Path("commands"))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any adapter is missing or stale")
    parser.add_argument("--host-api", action="store_true", help="only the SDK's host API modules (--all includes them)")
    args = parser.parse_args(argv)
    stale = 0
    if args.host_api or args.all:  # the Hsm protocol, GuestHsm and NativeHsm, from the WIT
        try:
            paths = sdkgen.write(check=args.check)
            paths += cbindings.sync(check=args.check)  # the C binding of the world (wasm/c/generated)
        except GenerateError as exc:
            print(f"plugingen: {exc}", file=sys.stderr)
            return 2
        for path in paths:
            print(f"plugingen: {'stale' if args.check else 'wrote'} {path}", file=sys.stderr)
        stale += len(paths)

    # Logic modules are imported from the project root, as the build stages them.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))

    jobs: list[tuple[str, str | None, Path]] = []
    if args.host_api:
        pass
    elif args.all:
        jobs = [(module, None, args.commands_dir) for module in _discover(args.logic_dir)]
    elif args.cmd and args.logic and args.out:
        jobs = [(args.logic, args.cmd, args.out)]
    else:
        parser.error("give --cmd, --logic and --out, or --all, or --host-api")

    for module, expected, commands_dir in jobs:
        try:
            info = inspect_logic(module)
        except GenerateError as exc:
            print(f"plugingen: {exc}", file=sys.stderr)
            return 2
        if expected is not None and info.command != expected:
            print(f"plugingen: {module} declares COMMAND {info.command!r}, not {expected!r}", file=sys.stderr)
            return 2
        out = commands_dir if expected is not None else commands_dir / info.command
        if write_adapter(info, out, check=args.check):
            stale += 1
            verb = "stale" if args.check else "wrote"
            print(f"plugingen: {verb} {out / 'app.py'}", file=sys.stderr)
    if args.check and stale:
        print(f"plugingen: {stale} generated file(s) out of date; run `plugingen --all`", file=sys.stderr)
        return 1
    return 0
