"""Every host import a component declares must have exactly the WIT's type.

The linker defines host functions untyped (hsmd/runtime/abi.py registers raw callbacks),
so wasmtime lifts a call's arguments with whatever types the *component* declared. A
doctored WIT with the same package version (a `u32` where the contract says `string`, one
parameter more, a record with a field less) would have the host read values it was never
given. So at load each imported function's type, as wasmtime reads it from the component,
is rendered to one canonical text and compared with the same rendering of the contract's
declaration (hsmd/runtime/wit.py, the one declaration): any difference refuses the plugin.

Canonical form: primitive names (``u32``, ``string``), ``list<T>``, ``option<T>``,
``tuple<A,B>``, ``result<T,E>`` (``_`` for an absent side), ``record{name:T,...}``,
``enum{a,b}``, and ``func(T,...)->R``. Parameter names are not part of it: they do not
change how values cross.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from hsmd.runtime import wit

WORLD: Final = "command"

_PRIMITIVES: Final = frozenset({"bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64", "char", "string"})


class SignatureError(Exception):
    """A component's import does not have the contract's type."""


# --- from the component (wasmtime's type objects) ---


def render(valtype: Any) -> str:
    """The canonical text of a wasmtime component value type."""
    if valtype is None:
        return "_"
    kind = type(valtype).__name__
    if kind.lower() in _PRIMITIVES:
        return kind.lower()
    if kind == "ListType":
        return f"list<{render(valtype.element)}>"
    if kind == "OptionType":
        return f"option<{render(valtype.payload)}>"
    if kind == "TupleType":
        return f"tuple<{','.join(render(e) for e in valtype.elements)}>"
    if kind == "ResultType":
        return f"result<{render(valtype.ok)},{render(valtype.err)}>"
    if kind == "RecordType":
        return "record{" + ",".join(f"{name}:{render(t)}" for name, t in valtype.fields) + "}"
    if kind == "EnumType":
        return "enum{" + ",".join(valtype.names) + "}"
    return f"unsupported:{kind}"  # never equal to a contract type: refused


def render_func(functype: Any) -> str:
    params = ",".join(render(t) for _name, t in functype.params)
    return f"func({params})->{render(functype.result)}"


def imported_functions(interface: Any, engine: Any) -> dict[str, Any]:
    """Name -> FuncType of the functions in an imported interface (its types are skipped)."""
    return {name: item.ty for name, item in interface.ty.exports(engine).items() if hasattr(item.ty, "params")}


# --- from the contract (the WIT text) ---

_ALIAS_RE = re.compile(r"^\s*type (?P<name>[a-z][a-z0-9-]*) = (?P<type>[^;]+);", re.M)
_ENUM_RE = re.compile(r"enum (?P<name>[a-z][a-z0-9-]*) \{(?P<body>.*?)\}", re.S)


class Contract:
    """The canonical signature of every host function, read from the WIT text."""

    def __init__(self, text: str | None = None) -> None:
        source = wit.WIT_FILE.read_text() if text is None else text
        self._aliases = {m["name"]: m["type"].strip() for m in _ALIAS_RE.finditer(source)}
        self._records = wit.records(source)
        self._enums = {m["name"]: _enum_names(m["body"]) for m in _ENUM_RE.finditer(source)}
        self.functions: Mapping[str, str] = {func.name: self.canonical_func(func) for func in wit.host_functions(source)}
        self.exports: Mapping[str, str] = {func.name: self.canonical_func(func) for func in wit.world_exports(WORLD, source)}

    def canonical_func(self, func: wit.WitFunc) -> str:
        return f"func({','.join(self.canonical(t) for _n, t in func.params)})->{self.canonical(func.result)}"

    def canonical(self, text: str | None) -> str:
        if text is None:
            return "_"
        text = text.strip()
        if text == "_":  # result<_, E>
            return "_"
        if text in _PRIMITIVES:
            return text
        if text in self._aliases:
            return self.canonical(self._aliases[text])
        if text in self._records:
            return "record{" + ",".join(f"{name}:{self.canonical(t)}" for name, t in self._records[text]) + "}"
        if text in self._enums:
            return "enum{" + ",".join(self._enums[text]) + "}"
        outer, _, inner = text.partition("<")
        if not inner.endswith(">"):
            raise ValueError(f"WIT type {text!r} is outside the subset the contract uses")
        args = [self.canonical(a) for a in wit.split_types(inner[:-1])]
        if outer in ("list", "option") and len(args) == 1:
            return f"{outer}<{args[0]}>"
        if outer == "tuple":
            return f"tuple<{','.join(args)}>"
        if outer == "result" and len(args) in (1, 2):
            return f"result<{args[0]},{args[1] if len(args) == 2 else '_'}>"
        raise ValueError(f"WIT type {text!r} is outside the subset the contract uses")

    def check(self, imported: Mapping[str, Any]) -> None:
        """Raise SignatureError unless every imported function (name -> wasmtime FuncType) is the contract's."""
        for name, functype in imported.items():
            expected = self.functions.get(name)
            if expected is None:
                raise SignatureError(f"imports host function {name!r}, which the contract does not declare")
            actual = render_func(functype)
            if actual != expected:
                raise SignatureError(f"imports {name} as {actual}, the contract declares {expected}")

    def check_export(self, name: str, functype: Any) -> None:
        """Raise SignatureError unless the component's export `name` (a wasmtime FuncType) is the contract's.

        The host picks its call by export name (execute-frame over execute), so an export of that
        name with another type must be refused at load, not met at the first request.
        """
        actual, expected = render_func(functype), self.exports[name]
        if actual != expected:
            raise SignatureError(f"exports {name} as {actual}, the contract declares {expected}")


def _enum_names(body: str) -> tuple[str, ...]:
    lines = (line.split("//")[0].strip().rstrip(",") for line in body.splitlines())
    return tuple(name for line in lines for name in (part.strip() for part in line.split(",")) if name)
