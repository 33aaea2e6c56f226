"""Generate the C binding of the plugin world from wasm/wit: wasm/c/generated/hsmd_world.{h,c}.

The WIT is read with the runtime's own reader (hsmd/runtime/wit.py), so the C side,
the host and the Python SDK follow one declaration. The binding is what wit-bindgen
would give a C guest, for the subset of WIT the contract uses:

- a C type per WIT type, laid out exactly as the canonical ABI lays it out in linear
  memory (records and results are plain structs and unions), so a host import that
  answers through a return pointer writes straight into a C value; the generated
  .c file asserts every size, alignment and field offset this module computed;
- one typed C function per host import (`hsmd_host_<name>`), over a raw
  `import_module`/`import_name` declaration taking the flattened core values;
- the world's exports as core functions with their unmangled names (`execute`, ...)
  and `cabi_post_<name>`, calling hooks the guest SDK implements (`hsmd_export_<name>`);
- `cabi_realloc` over a per-call arena: everything allocated while an export runs
  (its arguments, what host imports return) is released when its post-return runs.

`python -m plugingen.cbindings` rewrites the files; `--check` (also run by
`plugingen --all --check`) exits 1 when they are stale.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from plugingen.wit_reader import wit

ROOT: Final = Path(__file__).resolve().parent.parent


OUT_DIR: Final = ROOT / "wasm" / "c" / "generated"
WORLD: Final = "command"
HEADER: Final = "hsmd_world.h"
SOURCE: Final = "hsmd_world.c"
MAX_FLAT_PARAMS: Final = 16
MAX_FLAT_RESULTS: Final = 1

_C_KEYWORDS: Final = frozenset(
    {
        *("auto", "bool", "break", "case", "char", "class", "const", "continue", "default", "delete", "do", "double"),
        *("else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "new", "operator", "private"),
        *("protected", "public", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct"),
        *("switch", "template", "this", "throw", "try", "typedef", "union", "unsigned", "virtual", "void", "volatile", "while"),
    }
)

# WIT primitive -> (C type, size = alignment, flat core type)
_PRIMS: Final = {
    "bool": ("bool", 1, "i32"),
    "u8": ("uint8_t", 1, "i32"),
    "s8": ("int8_t", 1, "i32"),
    "u16": ("uint16_t", 2, "i32"),
    "s16": ("int16_t", 2, "i32"),
    "u32": ("uint32_t", 4, "i32"),
    "s32": ("int32_t", 4, "i32"),
    "u64": ("uint64_t", 8, "i64"),
    "s64": ("int64_t", 8, "i64"),
}
_CORE_C: Final = {"i32": "int32_t", "i64": "int64_t"}


class BindingError(Exception):
    """The WIT uses something this generator does not cover."""


@dataclass(frozen=True)
class Type:
    """A resolved WIT type: kind is prim | string | alias | record | enum | list | option | tuple | result."""

    kind: str
    name: str = ""  # prim name, alias/record/enum name
    args: tuple[Type | None, ...] = ()  # element, payload, tuple members, (ok, err) - None for `_`
    fields: tuple[tuple[str, Type], ...] = ()
    cases: tuple[str, ...] = ()


def c_ident(name: str) -> str:
    ident = name.replace("-", "_")
    return ident + "_" if ident in _C_KEYWORDS else ident


def _align_to(offset: int, align: int) -> int:
    return (offset + align - 1) // align * align


@dataclass
class Contract:
    """The WIT text, resolved into Types, and the C declarations they need in dependency order."""

    text: str
    records: dict[str, tuple[tuple[str, str], ...]] = field(init=False)
    aliases: dict[str, str] = field(init=False)
    enums: dict[str, tuple[str, ...]] = field(init=False)
    decls: list[str] = field(default_factory=list)
    asserts: list[str] = field(default_factory=list)
    _named: dict[str, str] = field(default_factory=dict)  # C type name -> already declared

    def __post_init__(self) -> None:
        self.records = wit.records(self.text)
        self.aliases = wit.aliases(self.text)
        self.enums = wit.enums(self.text)

    # --- resolving ---

    def resolve(self, text: str) -> Type | None:
        text = text.strip()
        if text == "_":
            return None
        if text in _PRIMS:
            return Type("prim", text)
        if text == "string":
            return Type("string", "string")
        if text in self.aliases:
            return Type("alias", text, (self.resolve(self.aliases[text]),))
        if text in self.records:
            fields = []
            for name, kind in self.records[text]:
                resolved = self.resolve(kind)
                if resolved is None:
                    raise BindingError(f"record {text}: field {name} has no type")
                fields.append((name, resolved))
            return Type("record", text, fields=tuple(fields))
        if text in self.enums:
            if len(self.enums[text]) > 256:
                raise BindingError(f"enum {text} has more than 256 cases")
            return Type("enum", text, cases=self.enums[text])
        outer, _, inner = text.partition("<")
        if not inner.endswith(">"):
            raise BindingError(f"WIT type {text!r} is outside the subset the C binding covers")
        args = tuple(self.resolve(a) for a in wit.split_types(inner[:-1]))
        if outer in ("list", "option") and len(args) == 1 and args[0] is not None:
            return Type(outer, args=args)
        if outer == "tuple" and args and all(a is not None for a in args):
            return Type("tuple", args=args)
        if outer == "result" and len(args) == 2:
            return Type("result", args=args)
        raise BindingError(f"WIT type {text!r} is outside the subset the C binding covers")

    # --- canonical ABI: layout and flattening ---

    def size_align(self, t: Type | None) -> tuple[int, int]:
        if t is None:
            return 0, 1
        if t.kind == "prim":
            size = _PRIMS[t.name][1]
            return size, size
        if t.kind in ("string", "list"):
            return 8, 4
        if t.kind == "alias":
            return self.size_align(t.args[0])
        if t.kind == "enum":
            return 1, 1
        if t.kind in ("record", "tuple"):
            members = [f for _n, f in t.fields] if t.kind == "record" else [a for a in t.args if a is not None]
            offset, align = 0, 1
            for member in members:
                size, member_align = self.size_align(member)
                offset = _align_to(offset, member_align) + size
                align = max(align, member_align)
            return _align_to(offset, align), align
        # option and result: a u8 discriminant, then the largest case
        cases = [t.args[0]] if t.kind == "option" else list(t.args)
        payload_size = max(self.size_align(c)[0] for c in cases)
        payload_align = max(self.size_align(c)[1] for c in cases)
        offset = _align_to(1, payload_align)
        align = max(1, payload_align)
        return _align_to(offset + payload_size, align), align

    def flat(self, t: Type | None) -> list[str]:
        if t is None:
            return []
        if t.kind == "prim":
            return [_PRIMS[t.name][2]]
        if t.kind in ("string", "list"):
            return ["i32", "i32"]
        if t.kind == "alias":
            return self.flat(t.args[0])
        if t.kind == "enum":
            return ["i32"]
        if t.kind == "record":
            return [core for _n, f in t.fields for core in self.flat(f)]
        if t.kind == "tuple":
            return [core for a in t.args for core in self.flat(a)]
        cases = [t.args[0]] if t.kind == "option" else list(t.args)
        joined: list[str] = []
        for case in cases:
            for i, core in enumerate(self.flat(case)):
                if i == len(joined):
                    joined.append(core)
                elif joined[i] != core:
                    joined[i] = "i64"
        return ["i32", *joined]

    # --- C types ---

    def tag(self, t: Type | None) -> str:
        """A name fragment for generated type names: list<tuple<string,string>> -> list_tuple2_string_string."""
        if t is None:
            return "void"
        if t.kind in ("prim", "string", "alias", "record", "enum"):
            return t.name.replace("-", "_")
        if t.kind == "tuple":
            return f"tuple{len(t.args)}_" + "_".join(self.tag(a) for a in t.args)
        return f"{t.kind}_" + "_".join(self.tag(a) for a in t.args)

    def ctype(self, t: Type) -> str:
        """The C type name, its declaration (and its parts') emitted first."""
        if t.kind == "prim":
            return _PRIMS[t.name][0]
        name = f"hsmd_{self.tag(t)}_t"
        if name in self._named:
            return name
        if t.kind == "string":
            decl = "typedef struct hsmd_string {\n    const char *ptr;\n    size_t len;\n} hsmd_string_t;"
        elif t.kind == "alias":
            inner = t.args[0]
            assert inner is not None
            decl = f"typedef {self.ctype(inner)} {name};"
        elif t.kind == "enum":
            consts = "\n".join(f"    HSMD_{c_ident(t.name).upper()}_{c_ident(c).upper()} = {i}," for i, c in enumerate(t.cases))
            decl = f"typedef uint8_t {name};\nenum {{\n{consts}\n}};"
        elif t.kind == "record":
            members = "\n".join(f"    {self.ctype(f)} {c_ident(n)};" for n, f in t.fields)
            decl = f"typedef struct hsmd_{self.tag(t)} {{\n{members}\n}} {name};"
        elif t.kind == "list":
            element = t.args[0]
            assert element is not None
            decl = f"typedef struct {{\n    {self.ctype(element)} *ptr;\n    size_t len;\n}} {name};"
        elif t.kind == "option":
            payload = t.args[0]
            assert payload is not None
            decl = f"typedef struct {{\n    bool is_some;\n    {self.ctype(payload)} val;\n}} {name};"
        elif t.kind == "tuple":
            members = "\n".join(f"    {self.ctype(a)} f{i};" for i, a in enumerate(t.args) if a is not None)
            decl = f"typedef struct {{\n{members}\n}} {name};"
        else:  # result
            ok, err = t.args
            cases = [f"        {self.ctype(c)} {label};" for label, c in (("ok", ok), ("err", err)) if c is not None]
            union = "    union {\n" + "\n".join(cases) + "\n    } val;\n" if cases else ""
            decl = f"typedef struct {{\n    bool is_err;\n{union}}} {name};"
        self._named[name] = decl
        self.decls.append(decl)
        self._assert_layout(t, name)
        return name

    def _assert_layout(self, t: Type, name: str) -> None:
        size, align = self.size_align(t)
        self.asserts.append(f'_Static_assert(sizeof({name}) == {size} && _Alignof({name}) == {align}, "{name}: canonical ABI layout");')
        if t.kind == "record":
            offset = 0
            for field_name, field_type in t.fields:
                field_size, field_align = self.size_align(field_type)
                offset = _align_to(offset, field_align)
                self.asserts.append(f'_Static_assert(offsetof({name}, {c_ident(field_name)}) == {offset}, "{name}.{field_name}");')
                offset += field_size

    # --- flattening values for a call ---

    def lower(self, t: Type, expr: str) -> list[str]:
        """C expressions of the flat core values of the C value `expr` (import arguments)."""
        if t.kind == "prim":
            return [f"({_CORE_C[_PRIMS[t.name][2]]}){expr}"]
        if t.kind in ("string", "list"):
            return [f"(int32_t)(uintptr_t){expr}.ptr", f"(int32_t){expr}.len"]
        if t.kind == "alias":
            inner = t.args[0]
            assert inner is not None
            return self.lower(inner, expr)
        if t.kind == "enum":
            return [f"(int32_t){expr}"]
        if t.kind == "record":
            return [v for n, f in t.fields for v in self.lower(f, f"{expr}.{c_ident(n)}")]
        if t.kind == "tuple":
            return [v for i, a in enumerate(t.args) if a is not None for v in self.lower(a, f"{expr}.f{i}")]
        if t.kind == "option":
            payload = t.args[0]
            assert payload is not None
            values = self.lower(payload, f"{expr}.val")
            if len(values) != 1:
                raise BindingError(f"option<{self.tag(payload)}> as a parameter is outside the subset the C binding covers")
            return [f"(int32_t){expr}.is_some", f"{expr}.is_some ? {values[0]} : 0"]
        raise BindingError(f"{self.tag(t)} as a parameter is outside the subset the C binding covers")

    def lift(self, t: Type, values: list[str]) -> str:
        """A C expression of type `t` from its flat core values (export arguments, direct import results)."""
        if t.kind == "prim":
            return f"{values[0]} != 0" if t.name == "bool" else f"({_PRIMS[t.name][0]}){values[0]}"
        if t.kind == "alias":
            inner = t.args[0]
            assert inner is not None
            return self.lift(inner, values)
        if t.kind == "enum":
            return f"({self.ctype(t)}){values[0]}"
        if t.kind in ("string", "list"):
            name = self.ctype(t)
            element = "const char" if t.kind == "string" else self.ctype(t.args[0]) if t.args[0] is not None else "void"
            return f"({name}){{({element} *)(uintptr_t){values[0]}, (size_t){values[1]}}}"
        raise BindingError(f"{self.tag(t)} as a flat value is outside the subset the C binding covers")


# --- rendering ---

_BANNER = (
    "/* DO NOT EDIT: generated by plugingen/cbindings.py from wasm/wit ({world}, {package}@{version}).\n"
    " * `python -m plugingen.cbindings` rewrites it; `plugingen --all --check` fails when it is stale. */\n"
)

_ARENA = r"""
/* --- memory: a per-call arena behind cabi_realloc ---
 * The host allocates an export's arguments and every host import's answer with
 * cabi_realloc. All of it lives until the export's post-return (or the end of an
 * export without results), then the arena is rewound. The first chunk is kept for
 * the next call; larger chunks are given back to malloc, so memory does not creep. */

#define HSMD_ARENA_CHUNK 65536u

typedef struct hsmd_chunk {
    struct hsmd_chunk *next;
    size_t size;
    size_t used;
    _Alignas(8) uint8_t data[];
} hsmd_chunk_t;

static hsmd_chunk_t *hsmd__first;  /* kept across calls */
static hsmd_chunk_t *hsmd__current;
static uint8_t *hsmd__last;        /* the latest allocation, which may grow in place */
static size_t hsmd__last_size;

static hsmd_chunk_t *hsmd__new_chunk(size_t need) {
    size_t size = need > HSMD_ARENA_CHUNK ? need : HSMD_ARENA_CHUNK;
    hsmd_chunk_t *chunk = (hsmd_chunk_t *)malloc(sizeof(hsmd_chunk_t) + size);
    if (chunk == NULL) {
        __builtin_trap(); /* the memory cap: the host answers 41 and replaces the instance */
    }
    chunk->next = NULL;
    chunk->size = size;
    chunk->used = 0;
    return chunk;
}

void *hsmd_alloc(size_t size, size_t align) {
    if (align < 1) {
        align = 1;
    }
    if (hsmd__current == NULL) {
        if (hsmd__first == NULL) {
            hsmd__first = hsmd__new_chunk(size + align);
        }
        hsmd__current = hsmd__first;
    }
    size_t start = (hsmd__current->used + align - 1) & ~(align - 1);
    if (start + size > hsmd__current->size) {
        hsmd_chunk_t *chunk = hsmd__new_chunk(size + align);
        chunk->next = hsmd__current;
        hsmd__current = chunk;
        start = 0;
    }
    hsmd__current->used = start + size;
    hsmd__last = hsmd__current->data + start;
    hsmd__last_size = size;
    return hsmd__last;
}

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    if (old != NULL && old == hsmd__last && (uint8_t *)old + new_size <= hsmd__current->data + hsmd__current->size) {
        hsmd__current->used += new_size - hsmd__last_size; /* the newest allocation grows (or shrinks) in place */
        hsmd__last_size = new_size;
        return old;
    }
    void *fresh = hsmd_alloc(new_size, align);
    if (old != NULL) {
        memcpy(fresh, old, old_size < new_size ? old_size : new_size);
    }
    return fresh;
}

void hsmd_arena_reset(void) {
    while (hsmd__current != NULL && hsmd__current != hsmd__first) {
        hsmd_chunk_t *next = hsmd__current->next;
        free(hsmd__current);
        hsmd__current = next;
    }
    if (hsmd__first != NULL) {
        hsmd__first->used = 0;
    }
    hsmd__current = NULL;
    hsmd__last = NULL;
    hsmd__last_size = 0;
}
"""


def _signature(c: Contract, func: wit.WitFunc, prefix: str) -> tuple[str, list[tuple[str, Type]], Type | None, Type | None, bool]:
    """(C prototype, params, ok type, err type, is_result) of a host function's typed wrapper."""
    params = []
    for name, kind in func.params:
        resolved = c.resolve(kind)
        if resolved is None:
            raise BindingError(f"{func.name}: parameter {name} has no type")
        params.append((c_ident(name), resolved))
    result = c.resolve(func.result) if func.result else None
    args = [f"{c.ctype(t)} {n}" for n, t in params]
    if result is not None and result.kind == "result":
        ok, err = result.args
        if ok is not None:
            args.append(f"{c.ctype(ok)} *ret")
        if err is not None:
            args.append(f"{c.ctype(err)} *err")
        returns = "bool"
        return f"{returns} {prefix}{c_ident(func.name)}({', '.join(args) or 'void'})", params, ok, err, True
    if result is None:
        return f"void {prefix}{c_ident(func.name)}({', '.join(args) or 'void'})", params, None, None, False
    if len(c.flat(result)) <= MAX_FLAT_RESULTS:
        return f"{c.ctype(result)} {prefix}{c_ident(func.name)}({', '.join(args) or 'void'})", params, result, None, False
    args.append(f"{c.ctype(result)} *ret")
    return f"void {prefix}{c_ident(func.name)}({', '.join(args)})", params, result, None, False


def _import(c: Contract, module: str, func: wit.WitFunc) -> tuple[str, str]:
    """(declaration for the header, definition for the source) of one host import."""
    proto, params, ok, err, is_result = _signature(c, func, "hsmd_host_")
    result = c.resolve(func.result) if func.result else None
    flat_args = [v for n, t in params for v in c.lower(t, n)]
    if len(flat_args) > MAX_FLAT_PARAMS:
        raise BindingError(f"{func.name}: more than {MAX_FLAT_PARAMS} flat parameters (passing them in memory is not covered)")
    flat_result = c.flat(result)
    raw = f"hsmd__import_{c_ident(func.name)}"
    core_params = [_CORE_C[core] for n, t in params for core in c.flat(t)]
    direct = len(flat_result) <= MAX_FLAT_RESULTS
    if not direct:
        core_params.append("int32_t")
    core_result = _CORE_C[flat_result[0]] if direct and flat_result else "void"
    lines = [
        f'__attribute__((import_module("{module}"), import_name("{func.name}")))',
        f"extern {core_result} {raw}({', '.join(core_params) or 'void'});",
        "",
        f"{proto} {{",
    ]
    call_args = ", ".join(flat_args)
    if is_result:
        assert result is not None
        lines.append(f"    {c.ctype(result)} result;")
        lines.append(f"    {raw}({call_args + ', ' if call_args else ''}(int32_t)(uintptr_t)&result);")
        lines.append("    if (result.is_err) {")
        lines.append("        *err = result.val.err;" if err is not None else "        (void)0;")
        lines.append("        return false;")
        lines.append("    }")
        if ok is not None:
            lines.append("    *ret = result.val.ok;")
        lines.append("    return true;")
    elif result is None:
        lines.append(f"    {raw}({call_args});")
    elif direct:
        lines.append(f"    return {c.lift(result, [f'{raw}({call_args})'])};")
    else:
        lines.append(f"    {raw}({call_args + ', ' if call_args else ''}(int32_t)(uintptr_t)ret);")
    lines.append("}")
    return proto + ";", "\n".join(lines)


def _export(c: Contract, func: wit.WitFunc) -> tuple[str, str, int]:
    """(hook declaration, glue definition, return area size) of one world export."""
    proto, params, ok, err, is_result = _signature(c, func, "hsmd_export_")
    result = c.resolve(func.result) if func.result else None
    flat_params = [core for _n, t in params for core in c.flat(t)]
    if len(flat_params) > MAX_FLAT_PARAMS:
        raise BindingError(f"export {func.name}: more than {MAX_FLAT_PARAMS} flat parameters")
    flat_result = c.flat(result)
    if len(flat_result) == MAX_FLAT_RESULTS:
        raise BindingError(f"export {func.name}: a single flat result is not covered")
    core_args = ", ".join(f"{_CORE_C[core]} a{i}" for i, core in enumerate(flat_params)) or "void"
    name = c_ident(func.name)
    returns = "int32_t" if flat_result else "void"
    lines = [f'__attribute__((export_name("{func.name}")))', f"{returns} hsmd__export_{name}({core_args}) {{"]
    index = 0
    call = []
    for pname, ptype in params:
        width = len(c.flat(ptype))
        lines.append(f"    {c.ctype(ptype)} {pname} = {c.lift(ptype, [f'a{i}' for i in range(index, index + width)])};")
        call.append(pname)
        index += width
    area = 0
    if result is None:
        lines.append(f"    hsmd_export_{name}({', '.join(call)});")
        lines.append("    hsmd_arena_reset(); /* no post-return follows an export without results */")
    else:
        area = c.size_align(result)[0]
        rtype = c.ctype(result)
        lines.append(f"    {rtype} *out = ({rtype} *)hsmd__ret_area;")
        if is_result:
            hook_args = [*call, *(["&out->val.ok"] if ok is not None else []), *(["&out->val.err"] if err is not None else [])]
            lines.append(f"    out->is_err = !hsmd_export_{name}({', '.join(hook_args)});")
        else:
            lines.append(f"    hsmd_export_{name}({', '.join([*call, 'out'])});")
        lines.append("    return (int32_t)(uintptr_t)out;")
    lines.append("}")
    if result is not None:
        lines += [
            "",
            f'__attribute__((export_name("cabi_post_{func.name}")))',
            f"void hsmd__post_{name}(int32_t ret) {{",
            "    (void)ret;",
            "    hsmd_arena_reset();",
            "}",
        ]
    return proto + ";", "\n".join(lines), area


def render(text: str, world: str = WORLD) -> dict[str, str]:
    """File name -> contents of the binding of `world` in the WIT `text`."""
    c = Contract(text)
    package, version = wit.package(text)
    module = f"{package}/host@{version}"
    c.ctype(Type("string", "string"))
    # Every named type of the contract, in declaration order, whether or not a function uses it yet.
    for name in [*c.aliases, *c.enums, *c.records]:
        resolved = c.resolve(name)
        if resolved is not None:
            c.ctype(resolved)
    imports = [_import(c, module, func) for func in wit.host_functions(text)]
    exports = [_export(c, func) for func in wit.world_exports(world, text)]
    area = max([8, *(size for _h, _g, size in exports)])
    banner = _BANNER.format(world=world, package=package, version=version)
    guard = "HSMD_WORLD_H"
    header = [
        banner,
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdbool.h>",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f'#define HSMD_CONTRACT_VERSION "{version}"',
        f'#define HSMD_HOST_MODULE "{module}"',
        "",
        "/* --- types: each laid out as the canonical ABI lays it out in linear memory --- */",
        "",
        "\n\n".join(c.decls),
        "",
        "/* --- host imports: true = ok (*ret set), false = the host's error (*err set).",
        " * Strings and lists the host returns live in the call's arena (see hsmd_arena_reset). --- */",
        "",
        "\n".join(decl for decl, _ in imports),
        "",
        "/* --- exports: the guest implements these hooks (the C SDK, wasm/c/hsmd.c, does) --- */",
        "",
        "\n".join(decl for decl, _g, _s in exports),
        "",
        "/* --- memory --- */",
        "",
        "/* `size` bytes aligned to `align`, valid until the current export call returns. */",
        "void *hsmd_alloc(size_t size, size_t align);",
        "/* Rewind the arena: the generated export glue does this after every call. */",
        "void hsmd_arena_reset(void);",
        "void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size);",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    source = [
        banner,
        f'#include "{HEADER}"',
        "",
        "#include <stdlib.h>",
        "#include <string.h>",
        "",
        "/* The layout this generator computed for each type, checked by the compiler. */",
        "\n".join(c.asserts),
        _ARENA,
        "/* --- host imports --- */",
        "",
        "\n\n".join(definition for _, definition in imports),
        "",
        "/* --- exports --- */",
        "",
        f"static _Alignas(8) uint8_t hsmd__ret_area[{area}]; /* results handed back by pointer */",
        "",
        "\n\n".join(glue for _d, glue, _s in exports),
        "",
    ]
    return {HEADER: "\n".join(header), SOURCE: "\n".join(source)}


def sync(out_dir: Path = OUT_DIR, *, check: bool, wit_file: Path = wit.WIT_FILE) -> list[Path]:
    """Write (or with `check`, only compare) the binding; returns the files that were stale."""
    stale = []
    for name, text in render(wit_file.read_text()).items():
        path = out_dir / name
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plugingen.cbindings", description="Generate the C binding of the plugin world.")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are missing or stale")
    args = parser.parse_args(argv)
    stale = sync(args.out, check=args.check)
    for path in stale:
        print(f"plugingen: {'stale' if args.check else 'wrote'} {path}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
