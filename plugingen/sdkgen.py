"""The host API of the SDK, generated from the WIT: the one declaration of every host function.

From wasm/wit/plugin.wit (read by hsmd.runtime.wit) this writes three modules:

* hsmd_sdk/host_api.py: the records as frozen dataclasses, the enums as Literal
  aliases and the `Hsm` protocol, one method per host function, documented by
  the WIT's `///` comments;
* hsmd_sdk/guest_api.py: `GuestHsm`, the protocol over componentize-py's
  `wit_world.imports.host` (imported only inside a component);
* hsmd/host/native_api.py: `NativeHsm`, the protocol straight onto
  hsmd.host.services.Host (pytest, parity tests, benchmarks).

The mapping is by type, never by function: a WIT name in kebab case is the
Python name in snake case (records in PascalCase); `result<T, hsm-error>` raises
HsmError; `key-handle`/`pin-handle` results are wrapped in their NewType,
records converted to the SDK's dataclass; `hex-data` parameters take bytes or
hex text; trailing `option<T>` parameters default to None; a last parameter of
type `list<tuple<string, string>>` is taken as keyword arguments. The output is
formatted by ruff (the version requirements.lock pins), so `--check` compares bytes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from plugingen.generate import GenerateError
from plugingen.wit_reader import wit

ROOT = Path(__file__).resolve().parent.parent  # where `write` reads the WIT and writes the modules
_PYPROJECT = ROOT / "pyproject.toml"  # the ruff configuration the output is formatted with


WIT_PATH = "wasm/wit/plugin.wit"
HOST_API = "wasm/sdk/hsmd_sdk/host_api.py"
GUEST_API = "wasm/sdk/hsmd_sdk/guest_api.py"
NATIVE_API = "hsmd/host/native_api.py"
INVOCATION = "plugingen --host-api"

_INTS = frozenset({"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"})
# The contract's named types and their Python halves in hsmd_sdk.handles (hand-written).
_HANDLES = {"key-handle": "KeyHandle", "pin-handle": "PinHandle"}
_HEX = "hex-data"  # parameter: HexData (bytes or hex text); result or field: str
_KWARGS = "list<tuple<string, string>>"  # as the last parameter: **fields: str
_ERROR = "hsm-error"
_KEBAB_IN_TICKS = re.compile(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`")


def snake(name: str) -> str:
    return name.replace("-", "_")


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


@dataclass(frozen=True)
class Contract:
    """What the generator reads from the WIT."""

    package: str  # e.g. "hsmd:plugin@1.5.0"
    functions: tuple[wit.WitFunc, ...]
    records: dict[str, tuple[tuple[str, str], ...]]
    enums: dict[str, tuple[str, ...]]
    docs: dict[str, str]

    @classmethod
    def read(cls, text: str) -> Contract:
        name, version = wit.package(text)
        return cls(f"{name}@{version}", wit.host_functions(text), wit.records(text), wit.enums(text), wit.docs(text))

    def used_types(self) -> tuple[list[str], list[str]]:
        """(records, enums) the host functions use, in declaration order; hsm-error is HsmError."""
        seen: set[str] = set()

        def visit(kind: str) -> None:
            kind = kind.strip()
            if kind in seen:
                return
            seen.add(kind)
            _outer, _, inner = kind.partition("<")
            if inner:
                for arg in wit.split_types(inner[:-1]):
                    visit(arg)
            for _field, field_kind in self.records.get(kind, ()):
                visit(field_kind)

        for func in self.functions:
            for _name, kind in func.params:
                visit(kind)
            visit(func.ok_type if func.ok_type is not None else func.result or "_")
        return [r for r in self.records if r in seen and r != _ERROR], [e for e in self.enums if e in seen]


# --- types and values ---


def _annotation(c: Contract, kind: str, *, param: bool, where: str) -> str:
    kind = kind.strip()
    if kind == "string":
        return "str"
    if kind == "bool":
        return "bool"
    if kind in _INTS:
        return "int"
    if kind in _HANDLES:
        return _HANDLES[kind]
    if kind == _HEX:
        return "HexData" if param else "str"
    if kind in c.records or kind in c.enums:
        return pascal(kind)
    outer, _, inner = kind.partition("<")
    args = [_annotation(c, a, param=param, where=where) for a in wit.split_types(inner[:-1])] if inner.endswith(">") else []
    if outer == "option" and len(args) == 1:
        return f"{args[0]} | None"
    if outer == "list" and len(args) == 1:
        return f"list[{args[0]}]"
    if outer == "tuple" and args:
        return f"tuple[{', '.join(args)}]"
    raise GenerateError(f"{where}: WIT type {kind!r} has no Python form in plugingen/sdkgen.py")


def _argument(c: Contract, name: str, kind: str, *, guest: bool, where: str) -> str:
    """The expression passing parameter `name` of WIT type `kind` on to the host."""
    kind = kind.strip()
    if kind == _HEX:
        return f"hex_text({name})"
    if kind in c.enums:
        return f"_{snake(kind).upper()}[{name}]" if guest else name
    if kind.startswith("list<"):
        return f"list({name})"
    if kind.startswith("option<") and _argument(c, name, kind[7:-1], guest=guest, where=where) != name:
        raise GenerateError(f"{where}: option<{kind[7:-1]}> needs a conversion plugingen/sdkgen.py does not make")
    return name


def _result(c: Contract, expr: str, kind: str, *, guest: bool) -> str:
    """`expr` (what the host answered, of WIT type `kind`) as the SDK returns it."""
    kind = kind.strip()
    if kind in _HANDLES:
        return f"{_HANDLES[kind]}({expr})"
    if kind in c.records:
        return f"converted({pascal(kind)}, {expr})"
    if kind.startswith("list<"):
        item = _result(c, "item", kind[5:-1], guest=guest)
        return f"[{item} for item in {expr}]" if item != "item" else f"list({expr})"
    if guest:  # wit_world is untyped: say what the value is
        python = _annotation(c, kind, param=False, where=kind)
        if python in ("str", "int", "bool"):
            return f"{python}({expr})"
    return expr


def _signature(c: Contract, func: wit.WitFunc) -> str:
    where = f"host function {func.name}"
    params = list(func.params)
    kwargs = params.pop() if params and params[-1][1].replace(" ", "") == _KWARGS.replace(" ", "") else None
    optional_from = len(params)
    while optional_from > 0 and params[optional_from - 1][1].strip().startswith("option<"):
        optional_from -= 1
    parts = ["self"]
    for index, (name, kind) in enumerate(params):
        default = " = None" if index >= optional_from else ""
        parts.append(f"{snake(name)}: {_annotation(c, kind, param=True, where=where)}{default}")
    if kwargs is not None:
        parts.append(f"**{snake(kwargs[0])}: str")
    ok = func.ok_type if func.ok_type is not None else func.result
    returns = "None" if ok is None or ok == "_" else _annotation(c, ok, param=False, where=where)
    return f"({', '.join(parts)}) -> {returns}"


def _arguments(c: Contract, func: wit.WitFunc, *, guest: bool) -> list[str]:
    where = f"host function {func.name}"
    out = []
    for index, (name, kind) in enumerate(func.params):
        if index == len(func.params) - 1 and kind.replace(" ", "") == _KWARGS.replace(" ", ""):
            out.append(f"[(k, str(v)) for k, v in {snake(name)}.items()]")
        else:
            out.append(_argument(c, snake(name), kind, guest=guest, where=where))
    return out


def _body(c: Contract, func: wit.WitFunc, *, guest: bool) -> str:
    target = f"host.{func.python_name}" if guest else f"self._host.{func.python_name}"
    args = _arguments(c, func, guest=guest)
    if not guest:
        args.insert(0, "self._scope")
    ok = func.ok_type
    if ok is not None:
        call = f"_call({', '.join([target, *args])})"
    else:
        call = f"{target}({', '.join(args)})"
        ok = func.result
    if ok is None or ok == "_":
        return call
    return "return " + _result(c, call, ok, guest=guest)


def _docstring(text: str, indent: str) -> str:
    text = _KEBAB_IN_TICKS.sub(lambda m: f"`{snake(m[1])}`", text)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return indent + '"""' + text.replace("\n", "\n" + indent) + '"""\n'


def _comment(text: str, indent: str) -> str:
    return "".join(f"{indent}# {line}".rstrip() + "\n" for line in text.splitlines())


# --- the three modules ---


def _header(doc: str) -> str:
    return f'# Generated by plugingen from {WIT_PATH}. DO NOT EDIT.\n# Change the WIT, then run: {INVOCATION}\n"""{doc}"""\n\n'


def _imports(body: str, candidates: dict[str, list[str]]) -> str:
    """`from module import names` for the candidate names `body` uses (ruff sorts them afterwards)."""
    lines = []
    for module, names in candidates.items():
        used = [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}\b", body)]
        if used:
            lines.append(f"from {module} import {', '.join(sorted(used))}\n")
    return "".join(lines)


def render_host_api(c: Contract) -> str:
    records, enums = c.used_types()
    body = ""
    for enum in enums:
        body += "\n" + _comment(c.docs.get(f"types.{enum}", ""), "")
        body += f"{pascal(enum)} = Literal[{', '.join(repr(case).replace(chr(39), chr(34)) for case in c.enums[enum])}]\n"
    for record in records:
        body += f"\n\n@dataclass(frozen=True)\nclass {pascal(record)}:\n"
        doc = c.docs.get(f"types.{record}")
        if doc:
            body += _docstring(doc, "    ") + "\n"
        for name, kind in c.records[record]:
            body += _comment(c.docs.get(f"types.{record}.{name}", ""), "    ")
            body += f"    {snake(name)}: {_annotation(c, kind, param=False, where=f'record {record}')}\n"
    body += "\n\nclass Hsm(Protocol):\n"
    body += _docstring(c.docs.get("host", "What the host offers a plugin."), "    ")
    for func in c.functions:
        body += f"\n    def {func.python_name}{_signature(c, func)}:\n"
        doc = c.docs.get(f"host.{func.name}")
        body += _docstring(doc, "        ") if doc else "        ...\n"
    imports = "from dataclasses import dataclass\n" if records else ""
    imports += _imports(body, {"typing": ["Literal", "Protocol"], "hsmd_sdk.handles": ["HexData", *_HANDLES.values()]})
    doc = (
        f"The host interface of `{c.package}` as a command's logic sees it: records, enums and the `Hsm` protocol.\n\n"
        "Host refusals raise `hsmd_sdk.HsmError` with the host's code. Import these names from\n"
        "hsmd_sdk.hsm (or hsmd_sdk), which adds the hand-written parts.\n"
    )
    return _header(doc) + "from __future__ import annotations\n\n" + imports + body


def _implementation(c: Contract, *, guest: bool) -> str:
    records, enums = c.used_types()
    body = '\nT = TypeVar("T")\n'
    if guest:
        for enum in enums:
            cases = ", ".join(f'"{case}": types.{pascal(enum)}.{snake(case).upper()}' for case in c.enums[enum])
            body += f"_{snake(enum).upper()} = {{{cases}}}\n"
    refusal = "Err as err" if guest else "HostError as exc"
    raised = "HsmError(err.value.code, err.value.reason)" if guest else "HsmError(exc.code, exc.reason)"
    what = "A host import whose err case becomes the SDK's HsmError."
    if not guest:
        what = "A host method whose refusal becomes the SDK's HsmError, as across the WIT boundary."
    body += f'''

def _call(fn: Callable[..., T], *args: Any) -> T:
    """{what}"""
    try:
        return fn(*args)
    except {refusal}:
        raise {raised} from None

'''
    if guest:
        body += '\nclass GuestHsm:\n    """`hsmd_sdk.Hsm` over the WIT host imports."""\n'
    else:
        body += (
            '\nclass NativeHsm:\n    """`hsmd_sdk.Hsm` straight onto the host, in the scope of one request."""\n\n'
            "    def __init__(self, host: Host, scope: RequestScope) -> None:\n"
            "        self._host = host\n        self._scope = scope\n"
        )
    for func in c.functions:
        body += f"\n    def {func.python_name}{_signature(c, func)}:\n        {_body(c, func, guest=guest)}\n"
    sdk_names = [pascal(r) for r in records] + [pascal(e) for e in enums]
    candidates = {
        "collections.abc": ["Callable"],
        "typing": ["Any", "TypeVar"],
        "hsmd_sdk.errors": ["HsmError"],
        "hsmd_sdk.handles": ["HexData", *_HANDLES.values(), "converted", "hex_text"],
        "hsmd_sdk.host_api": sdk_names,
    }
    if not guest:
        candidates |= {"hsmd.host.errors": ["HostError"], "hsmd.host.services": ["Host", "RequestScope"]}
    imports = _imports(body, candidates)
    if guest:
        imports += "from componentize_py_types import Err  # type: ignore[import-not-found]\n"
        imports += f"from wit_world.imports import {'host, types' if enums else 'host'}  # type: ignore[import-not-found]\n"
        doc = (
            f"`hsmd_sdk.Hsm` over the WIT host imports of `{c.package}`: only inside a component.\n\n"
            "`wit_world` exists only in the component build (componentize-py generates it from\n"
            "wasm/wit), which is why only hsmd_sdk.guest imports this module.\n"
        )
    else:
        doc = "`hsmd_sdk.Hsm` straight onto hsmd.host.services.Host, no wasm in between.\n\nImport it from hsmd.host.native.\n"
    return _header(doc) + "from __future__ import annotations\n\n" + imports + body


def render_guest_api(c: Contract) -> str:
    return _implementation(c, guest=True)


def render_native_api(c: Contract) -> str:
    return _implementation(c, guest=False)


# --- formatting, writing, checking ---


def _ruff(args: list[str], source: str, path: str) -> str:
    command = [sys.executable, "-m", "ruff", *args, "--config", str(_PYPROJECT), "--stdin-filename", path, "-"]
    done = subprocess.run(command, input=source, capture_output=True, text=True, cwd=_PYPROJECT.parent, check=False)
    if done.returncode != 0:
        raise GenerateError(f"{path}: ruff {args[0]} failed on the generated code:\n{done.stderr.strip()}")
    return done.stdout


def formatted(source: str, path: str) -> str:
    """`source` as `ruff check --fix` (imports) and `ruff format` leave it: what make lint accepts."""
    return _ruff(["format"], _ruff(["check", "--fix", "--exit-zero", "--quiet", "--select", "I"], source, path), path)


def render(wit_text: str) -> dict[str, str]:
    """Path under the project root -> generated text, for every generated module."""
    c = Contract.read(wit_text)
    sources = {HOST_API: render_host_api(c), GUEST_API: render_guest_api(c), NATIVE_API: render_native_api(c)}
    return {path: formatted(text, path) for path, text in sources.items()}


def write(root: Path | None = None, *, check: bool) -> list[Path]:
    """Write (or with `check`, compare) the generated modules under `root`. Returns the stale ones, relative to it."""
    root = ROOT if root is None else root
    stale = []
    for path, text in render((root / WIT_PATH).read_text(encoding="utf-8")).items():
        target = root / path
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(Path(path))
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return stale
