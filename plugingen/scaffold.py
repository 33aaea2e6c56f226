"""`plugingen new XY --lang python|c|cpp`: the files a new command starts from.

It writes the command's logic (Python) or source (C, C++) where the build looks for it, the
build entry (a Python command's adapter in commands/<CMD>/app.py; a C or C++ source is found by
the build where it lies), a test file whose known-answer test fails until it holds a vector,
and a row in the README's command table. It overwrites nothing: a code that any of those files
already names is refused, and so is a code a logic module already declares.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from plugingen.generate import LogicInfo, invocation_for, render_adapter

LANGS: Final = ("python", "c", "cpp")
VERSION: Final = "1.0.0"
_COMMAND_RE = re.compile(r"^[A-Z0-9]{2}$")
# Where each language's source lives, relative to the project root (the build's layout).
_SOURCE: Final = {"python": "logic/{cmd}.py", "c": "native/{cmd}.c", "cpp": "native/{cmd}.cpp"}
_TEST: Final = "tests/test_cmd_{cmd}.py"


class ScaffoldError(Exception):
    """The command cannot be scaffolded; the message says why in one line."""


@dataclass(frozen=True)
class NewCommand:
    command: str  # "XY"
    lang: str  # one of LANGS
    description: str  # one sentence, ending in a full stop

    @property
    def module(self) -> str:
        return self.command.lower()

    @property
    def response(self) -> str:
        """The response code the dispatcher answers with: the second character + 1 (hsmd/protocol.py)."""
        return self.command[0] + chr((ord(self.command[1]) + 1) & 0xFF)

    @property
    def source(self) -> Path:
        return Path(_SOURCE[self.lang].format(cmd=self.module))

    @property
    def test(self) -> Path:
        return Path(_TEST.format(cmd=self.module))

    @property
    def adapter_dir(self) -> Path:
        return Path("commands") / self.command


def new_command(command: str, lang: str, description: str) -> NewCommand:
    if not _COMMAND_RE.match(command):
        raise ScaffoldError(f"command code must be two characters A-Z or 0-9, got {command!r}")
    if lang not in LANGS:
        raise ScaffoldError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    text = " ".join(description.split())
    if not text:
        raise ScaffoldError("the description must say what the command does")
    return NewCommand(command, lang, text if text.endswith(".") else text + ".")


def taken(root: Path, new: NewCommand) -> Path | None:
    """A file that already names this command code, if any (relative to `root`)."""
    candidates = [new.adapter_dir, new.test, *(Path(pattern.format(cmd=new.module)) for pattern in _SOURCE.values())]
    for path in candidates:
        if (root / path).exists():
            return path
    declaration = re.compile(rf"^COMMAND = [\"']{new.command}[\"']", re.M)
    for path in sorted((root / "logic").glob("*.py")):
        if declaration.search(path.read_text(encoding="utf-8")):
            return path.relative_to(root)
    return None


# --- templates ---


def _python_logic(new: NewCommand) -> str:
    return f'''"""{new.command} — {new.description}

TODO: what the command does, and the public source its layout comes from.

Request:  {new.command} · TODO: each field, its length and format (e.g. 4 H length · data)
Response: {new.response} 00 · TODO: each field

Errors: 15 the request is malformed. TODO: every other code it answers, and when.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm

COMMAND = "{new.command}"
VERSION = "{VERSION}"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    # TODO: read each field (fields.fixed, .hex, .numeric, .key, .delimited, .lmk_id), raise
    # HsmError(code, reason) for a bad one, and ask the host through `hsm` (handles, never clear keys).
    fields.end()
    return b""  # the response fields after the error code 00
'''


def _c_source(new: NewCommand) -> str:
    """A C or C++ command against the C guest SDK (wasm/c/hsmd.h): it answers 00 until filled in."""
    cpp = new.lang == "cpp"
    lead, mid, close = ("//", "//", "") if cpp else ("/*", " *", "\n */")
    linkage = 'extern "C" ' if cpp else ""  # the SDK calls it by its C name: no C++ mangling
    note = "C++ (standard library, -fno-exceptions: nothing may throw)" if cpp else "C"
    return f"""{lead} {new.command} — {new.description}
{mid}
{mid} TODO: what the command does, and the public source its layout comes from.
{mid}
{mid} Request:  {new.command} · TODO: each field, its length and format (e.g. 4 H length · data)
{mid} Response: {new.response} 00 · TODO: each field
{mid}
{mid} Errors: 15 the request is malformed. TODO: every other code it answers, and when.
{mid}
{mid} {note}. SDK: wasm/c/hsmd.h; contract: wasm/ABI.md.{close}

#include "hsmd.h"

HSMD_COMMAND("{new.command}", "{VERSION}", "{new.description}");

{linkage}bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {{
    // TODO: read each field (hsmd_fields_fixed, _hex, _numeric, _key, _delimited, _lmk_id), answer a
    // bad one with `return hsmd_fail("15", "reason");`, and ask the host through the hsmd_* functions
    // (handles, never clear keys). Append the response fields with hsmd_put_str / hsmd_putf.
    (void)response;
    return hsmd_fields_end(request);  // nothing may follow the last field; true answers 00
}}
"""


def _test_file(new: NewCommand) -> str:
    cmd, mod = new.command, new.module
    if new.lang == "python":
        imports = f"""from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import {mod}
from tests.commands import in_component, native"""
        runs = f'''

@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_{mod}_known_answers(host: Host, request_: bytes, answer: bytes) -> None:
    assert native({mod}, host, request_) == answer


@pytest.mark.wasm
def test_{mod}_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "{cmd}.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native({mod}, host, request_), request_
'''
    else:
        imports = """from hsmd.runtime import Runtime
from tests.commands import in_component"""
        runs = f'''

@pytest.mark.wasm
@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_{mod}_known_answers(runtime: Runtime, native_plugins: Path, request_: bytes, answer: bytes) -> None:
    plugin = runtime.load(native_plugins / "{cmd}.wasm")
    assert in_component(runtime, plugin, request_) == answer
'''
    where = "its logic and its component" if new.lang == "python" else f"its {'C++' if new.lang == 'cpp' else 'C'} component"
    return f'''"""{cmd} — {new.description[:-1]}: known answers and error paths, through {where}.

Scaffolded by `plugingen new {cmd} --lang {new.lang}`. TODO: name the public source of every vector.
"""

from __future__ import annotations

from pathlib import Path

import pytest

{imports}

# (request fields after the command code, error code + response fields). Add every known answer
# and every error path the module docstring lists; name each vector's source beside it.
CASES: list[tuple[bytes, bytes]] = []


def test_{mod}_has_known_answers() -> None:
    # Fails on purpose until CASES holds a vector: a scaffolded command is not a finished one.
    assert CASES, "{cmd} has no known answers yet: add published vectors to CASES in {new.test.as_posix()}"
{runs}'''


def files(new: NewCommand) -> dict[Path, str]:
    """Relative path -> text of every file the command starts with."""
    source = _python_logic(new) if new.lang == "python" else _c_source(new)
    out = {new.source: source, new.test: _test_file(new)}
    if new.lang == "python":
        info = LogicInfo(module=f"logic.{new.module}", command=new.command, version=VERSION, description=new.description)
        out[new.adapter_dir / "app.py"] = render_adapter(info, invocation=invocation_for(info, new.adapter_dir))
    return out


def readme_row(readme: str, new: NewCommand) -> str | None:
    """The README with a row for the command after the last row of its "## Commands" table (None: no such table)."""
    lines = readme.split("\n")
    try:
        start = lines.index("## Commands")
    except ValueError:
        return None
    last = None
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("|"):
            last = i
        elif last is not None or lines[i].startswith("## "):
            break
    if last is None:
        return None
    what = new.description[:-1]
    if what[1:2].islower():  # "Echo test" -> "echo test", as the table writes it; "MAC ..." stays
        what = what[0].lower() + what[1:]
    lines.insert(last + 1, f"| {new.command} | {what} | | |")
    return "\n".join(lines)


def scaffold(root: Path, new: NewCommand) -> list[Path]:
    """Write the command's files under `root`; returns what was written (relative paths)."""
    clash = taken(root, new)
    if clash is not None:
        raise ScaffoldError(f"command {new.command} exists already ({clash.as_posix()}); pick another code")
    written = []
    for path, text in files(new).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
        written.append(path)
    readme = root / "README.md"
    if readme.is_file():
        updated = readme_row(readme.read_text(encoding="utf-8"), new)
        if updated is not None:
            readme.write_text(updated, encoding="utf-8")
            written.append(Path("README.md"))
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="plugingen new",
        description="Scaffold a new host command: its logic or source, its test file and its build entry.",
        epilog='example:\n  plugingen new XY --lang c --description "Echo test"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", help="two-character command code, e.g. XY")
    parser.add_argument("--lang", choices=LANGS, default="python", help="the plugin's language (default: python)")
    parser.add_argument("--description", default="TODO: what it does", help="one sentence: what the command does")
    parser.add_argument("--root", type=Path, default=Path("."), help="the project root (default: the current directory)")
    args = parser.parse_args(argv)
    try:
        new = new_command(args.command, args.lang, args.description)
        written = scaffold(args.root, new)
    except ScaffoldError as exc:
        print(f"plugingen: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"plugingen: wrote {path.as_posix()}", file=sys.stderr)
    print(f"plugingen: fill in the TODOs, then make the known-answer test in {new.test.as_posix()} pass", file=sys.stderr)
    return 0
