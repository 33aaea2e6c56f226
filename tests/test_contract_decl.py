"""The WIT contract is the one declaration of the host functions; everything else must match it.

The runtime binds imports from the WIT itself (hsmd.runtime.wit); these tests
pin the hand-written forms to it: the host's method for each function takes
the WIT's parameters in order, and the SDK's `Hsm`, its guest form and its
native form have one method per function with the same parameters.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hsmd_sdk.hsm import Hsm

from hsmd.host import Host
from hsmd.host.native import NativeHsm
from hsmd.runtime import signature, wit
from hsmd.runtime.imports import CallState, bind, bound_function

FUNCS = wit.host_functions()
SDK_NAME = {"key-describe": "key_info"}  # the SDK's name where it reads better than the WIT's
GUEST = (Path(__file__).resolve().parents[1] / "wasm" / "sdk" / "hsmd_sdk" / "guest.py").read_text()


def _params(fn: object) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "scope")]  # type: ignore[arg-type]


def test_the_wit_declares_the_host_functions() -> None:
    names = [f.name for f in FUNCS]
    assert names[:4] == ["log", "random-hex", "lmk-check-value", "firmware-number"]
    assert "pin-from-block" in names and "card-cvv" in names
    assert len(names) == len(set(names))


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.name)
def test_host_method_takes_the_wit_parameters(func: wit.WitFunc) -> None:
    assert _params(getattr(Host, func.python_name)) == [name.replace("-", "_") for name, _ in func.params]


@pytest.mark.parametrize("func", [f for f in FUNCS if f.name != "log"], ids=lambda f: f.name)
def test_sdk_forms_have_one_method_per_function(func: wit.WitFunc) -> None:
    name = SDK_NAME.get(func.name, func.python_name)
    wit_params = [p.replace("-", "_") for p, _ in func.params]
    for form in (Hsm, NativeHsm):
        assert _params(getattr(form, name)) == wit_params, form
    assert f"host.{func.python_name}" in GUEST


def test_every_function_is_bound(host: Host) -> None:
    bound = bind(host, CallState())
    assert sorted(bound) == sorted(f.name for f in FUNCS)
    assert all(callable(f) for f in bound.values())


def test_a_wit_type_without_a_binding_is_refused_at_start(host: Host) -> None:
    odd = wit.host_functions("interface host {\n    odd: func(x: u64) -> result<string, hsm-error>;\n}\n")
    with pytest.raises(TypeError, match="odd: WIT type 'u64' has no binding"):
        bound_function(host, odd[0], CallState())


def test_every_host_function_has_a_canonical_signature_from_the_wit() -> None:
    # The load-time type check (hsmd/runtime/signature.py) reads the same declaration.
    contract = signature.Contract()
    assert set(contract.functions) == {func.name for func in wit.host_functions()}
    assert contract.functions["key-check-value"] == "func(u32)->result<string,record{code:string,reason:string}>"
    assert contract.functions["log"] == "func(enum{debug,info,warning,error},string,list<tuple<string,string>>)->_"
    assert contract.functions["key-describe"].startswith("func(u32)->result<record{key-type:string,length:u32,odd-parity:bool},")
