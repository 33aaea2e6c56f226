"""The host interface as the WIT contract declares it: the one declaration of every host function.

The runtime binds each import from this reading of wasm/wit/plugin.wit (the
parameter and result types decide how values are lifted and lowered), and a
test checks that the host, the SDK's `Hsm` protocol and its guest and native
forms have one method per function with the same parameters. Only the subset
of WIT the contract uses is understood; anything else is an error at start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

WIT_FILE: Final = Path(__file__).resolve().parents[2] / "wasm" / "wit" / "plugin.wit"

_FUNC_RE = re.compile(r"^\s*(?P<name>[a-z][a-z0-9-]*): func\((?P<params>.*)\)(?: -> (?P<result>.+))?;\s*$")


@dataclass(frozen=True)
class WitFunc:
    name: str  # kebab-case, as imported
    params: tuple[tuple[str, str], ...]  # (name, type)
    result: str | None  # e.g. "result<string, hsm-error>", "string", None

    @property
    def python_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def ok_type(self) -> str | None:
        """T of result<T, hsm-error>; None if the function does not answer with a result."""
        if self.result and self.result.startswith("result<") and self.result.endswith(", hsm-error>"):
            return self.result[len("result<") : -len(", hsm-error>")]
        return None


def split_types(text: str) -> list[str]:
    """Split on the commas that are not inside <...>."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts]


_RECORD_RE = re.compile(r"record (?P<name>[a-z][a-z0-9-]*) \{(?P<body>.*?)\}", re.S)


def records(text: str | None = None) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every record of the contract: name -> ((field, type), ...) in declaration order."""
    source = WIT_FILE.read_text() if text is None else text
    out = {}
    for match in _RECORD_RE.finditer(source):
        fields = []
        for line in match["body"].splitlines():
            line = line.split("//")[0].strip().rstrip(",")
            if ":" in line:
                name, kind = line.split(":", 1)
                fields.append((name.strip(), kind.strip()))
        out[match["name"]] = tuple(fields)
    return out


def host_functions(text: str | None = None) -> tuple[WitFunc, ...]:
    """Every function of the `host` interface, in declaration order."""
    source = WIT_FILE.read_text() if text is None else text
    body = source.split("interface host {", 1)[1].split("\n}", 1)[0]
    funcs = []
    for line in body.splitlines():
        match = _FUNC_RE.match(line)
        if match is None:
            continue
        params = tuple((name.strip(), kind.strip()) for name, kind in (p.split(":", 1) for p in split_types(match["params"])))
        funcs.append(WitFunc(match["name"], params, match["result"]))
    return tuple(funcs)


# --- the rest of the contract, for the C bindings (plugingen/cbindings.py) ---

_PACKAGE_RE = re.compile(r"^package (?P<name>[a-z][a-z0-9-]*:[a-z][a-z0-9-]*)@(?P<version>\d+\.\d+\.\d+);", re.M)
_ALIAS_RE = re.compile(r"^\s*type (?P<name>[a-z][a-z0-9-]*) = (?P<type>[^;]+);", re.M)
_ENUM_RE = re.compile(r"enum (?P<name>[a-z][a-z0-9-]*) \{(?P<body>.*?)\}", re.S)


def package(text: str | None = None) -> tuple[str, str]:
    """(name, version) of the contract's package, e.g. ("hsmd:plugin", "1.5.0")."""
    source = WIT_FILE.read_text() if text is None else text
    match = _PACKAGE_RE.search(source)
    if match is None:
        raise ValueError("the WIT declares no versioned package")
    return match["name"], match["version"]


def aliases(text: str | None = None) -> dict[str, str]:
    """Every `type name = ...;` of the contract: name -> the type it stands for."""
    source = WIT_FILE.read_text() if text is None else text
    return {m["name"]: m["type"].strip() for m in _ALIAS_RE.finditer(source)}


def enums(text: str | None = None) -> dict[str, tuple[str, ...]]:
    """Every enum of the contract: name -> its cases in declaration order."""
    source = WIT_FILE.read_text() if text is None else text
    out = {}
    for match in _ENUM_RE.finditer(source):
        lines = (line.split("//")[0].strip().rstrip(",") for line in match["body"].splitlines())
        out[match["name"]] = tuple(name for line in lines for name in (part.strip() for part in line.split(",")) if name)
    return out


def world_exports(world: str, text: str | None = None) -> tuple[WitFunc, ...]:
    """The functions `world` exports, in declaration order."""
    source = WIT_FILE.read_text() if text is None else text
    head = f"world {world} {{"
    if head not in source:
        raise ValueError(f"the WIT declares no world {world!r}")
    body = source.split(head, 1)[1].split("\n}", 1)[0]
    funcs = []
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped.startswith("export "):
            continue
        match = _FUNC_RE.match(stripped.removeprefix("export "))
        if match is None:
            raise ValueError(f"world {world}: cannot read {stripped!r}")
        params = tuple((name.strip(), kind.strip()) for name, kind in (p.split(":", 1) for p in split_types(match["params"])))
        funcs.append(WitFunc(match["name"], params, match["result"]))
    return tuple(funcs)


# --- the `///` comments, for the generated SDK (plugingen/sdkgen.py) ---

_DOC_DECL_RE = re.compile(
    r"^(?:export |import )?(?:(?:interface|world|record|enum|variant|flags|resource|type) )?(?P<name>[a-z][a-z0-9-]*)\b"
)


def docs(text: str | None = None) -> dict[str, str]:
    """The `///` comment of every documented item, by its path in the contract.

    Paths name the enclosing blocks: "host" (an interface), "host.random-hex" (its
    function), "types.key-info" (a record), "types.key-info.key-type" (its field).
    The text is the comment's lines without their `/// ` prefix, joined by newlines.
    """
    source = WIT_FILE.read_text() if text is None else text
    out: dict[str, str] = {}
    blocks: list[str] = []
    pending: list[str] = []
    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("///"):
            pending.append(line[3:].removeprefix(" ").rstrip())
            continue
        match = _DOC_DECL_RE.match(line)
        if pending and match is not None and not line.startswith(("package ", "use ")):
            out[".".join([*blocks, match["name"]])] = "\n".join(pending)
        pending = []
        if line.endswith("{") and match is not None:
            blocks.append(match["name"])
        elif line.startswith("}") and blocks:
            blocks.pop()
    return out
