"""C and C++ plugins (native/): parity with the Python ones byte for byte, selection, build, binding.

B2 and BU are in C, NC in C++. Every known-answer and error case of their Python tests
runs through both components, which must answer the same bytes, and the expected ones.
"""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmd.config import ConfigError, load_config
from hsmd.host import Host
from hsmd.runtime import CONTRACT_VERSION, Limits, Plugin, Runtime
from logic import b2, bu, nc
from plugingen import build, cbindings
from tests import kb_oracle, test_cmd_b2, test_cmd_bu, test_cmd_nc
from tests.commands import in_component
from tests.conftest import BUILD, CACHE, ROOT

pytestmark = pytest.mark.wasm

COMMANDS = ("B2", "BU", "NC")
NC_CASES = [(b"", None), (b"%00", None), (b"%02", b"13"), (b"%0A", b"13"), (b"%1", b"13"), (b"X", b"15")]


@pytest.fixture(scope="session")
def c_dir(native_plugins: Path) -> Path:
    return native_plugins


@pytest.fixture(scope="session")
def py_dir() -> Path:
    """The Python twins only (not all sixty), built (incrementally) into build/plugins."""
    out = BUILD / "plugins"
    targets = [t for t in build.discover(ROOT / "commands", out, root=ROOT) if t.command in COMMANDS]
    build.build(targets, jobs=2, stream=sys.stderr, cache_dir=CACHE)
    return out


@pytest.fixture
def pair(c_dir: Path, py_dir: Path, host: Host) -> Iterator[tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]]:
    """A runtime and, per command, its (C, Python) plugins."""
    with Runtime(host, Limits(), CACHE) as runtime:
        yield runtime, {c: (runtime.load(c_dir / f"{c}.wasm"), runtime.load(py_dir / f"{c}.wasm")) for c in COMMANDS}


def both(runtime: Runtime, plugins: tuple[Plugin, Plugin], request: bytes) -> bytes:
    """The answer both implementations give; fails if they differ."""
    c_answer, py_answer = (in_component(runtime, plugin, request) for plugin in plugins)
    assert c_answer == py_answer, request
    return c_answer


# --------------------------------------------------------------------------- parity


def test_each_c_plugin_declares_its_command_and_its_python_twins_version(pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]) -> None:
    _runtime, plugins = pair
    for command, module in (("B2", b2), ("BU", bu), ("NC", nc)):
        c_plugin, py_plugin = plugins[command]
        assert (c_plugin.command, c_plugin.meta.version, c_plugin.contract) == (command, module.VERSION, CONTRACT_VERSION)
        assert py_plugin.meta.version == module.VERSION


def test_b2_answers_every_case_as_the_python_plugin(pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]) -> None:
    runtime, plugins = pair
    for request, answer in test_cmd_b2.CASES:
        assert both(runtime, plugins["B2"], request) == answer, request


def test_b2_echoes_random_data_up_to_a_full_frame_as_the_python_plugin(pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]) -> None:
    runtime, plugins = pair
    rng = random.Random(11)
    for size in [1, 63, 64, 65, 4096, 65_529, *(rng.randrange(0, 65_530) for _ in range(8))]:
        data = rng.randbytes(size)
        assert both(runtime, plugins["B2"], b"%04X" % size + data) == b"00" + data


def test_bu_answers_every_case_as_the_python_plugin(pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]) -> None:
    runtime, plugins = pair
    for request, answer in test_cmd_bu.CASES:
        assert both(runtime, plugins["BU"], request.encode()) == answer, request


def test_bu_answers_every_key_block_case_as_the_python_plugin(c_dir: Path, py_dir: Path) -> None:
    with Runtime(kb_oracle.make_host(), Limits(), CACHE) as runtime:
        plugins = (runtime.load(c_dir / "BU.wasm"), runtime.load(py_dir / "BU.wasm"))
        for request, answer in test_cmd_bu.BLOCK_CASES:
            assert both(runtime, plugins, request.encode()) == answer, request


def test_nc_in_cpp_answers_every_case_as_the_python_plugin(
    pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]], c_dir: Path, py_dir: Path
) -> None:
    runtime, plugins = pair
    for request, code in NC_CASES:
        answer = both(runtime, plugins["NC"], request)
        assert answer[:2] == (code or b"00"), request
    with Runtime(kb_oracle.make_host(), Limits(), CACHE) as kb_runtime:
        kb_plugins = (kb_runtime.load(c_dir / "NC.wasm"), kb_runtime.load(py_dir / "NC.wasm"))
        for request, answer in test_cmd_nc.KEY_BLOCK_CASES:
            assert both(kb_runtime, kb_plugins, request) == answer, request


def test_a_c_plugins_memory_stays_put_over_many_full_size_calls(pair: tuple[Runtime, dict[str, tuple[Plugin, Plugin]]]) -> None:
    # Every call's arguments and answers live in an arena rewound at post-return.
    runtime, plugins = pair
    c_b2 = plugins["B2"][0]
    request = b"%04X" % 65_529 + bytes(65_529)
    in_component(runtime, c_b2, request)
    size = c_b2.instance().memory_size()
    for _ in range(200):
        assert in_component(runtime, c_b2, request)[:2] == b"00"
    assert c_b2.instance().memory_size() == size
    assert size is not None and size < 2 * 1024 * 1024


def test_a_c_plugin_is_recycled_after_its_calls_like_any_plugin(c_dir: Path, host: Host) -> None:
    with Runtime(host, Limits(recycle_after=3), CACHE) as runtime:
        plugin = runtime.load(c_dir / "B2.wasm")
        answers = [in_component(runtime, plugin, b"0001%d" % i) for i in range(7)]
    assert answers == [b"00%d" % i for i in range(7)]
    assert (plugin.recycled["calls"], plugin.faults, plugin.calls) == (2, 0, 7)


# --------------------------------------------------------------------------- selection (hsmd.toml [plugins] c)


def _mixed(tmp_path: Path, py_dir: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    for command in ("B2", "NC"):
        (directory / f"{command}.wasm").symlink_to(py_dir / f"{command}.wasm")
    return directory


def test_a_command_listed_in_c_is_served_by_its_c_plugin(tmp_path: Path, c_dir: Path, py_dir: Path, host: Host) -> None:
    with Runtime(host, Limits(), CACHE, c_plugins={"B2": c_dir / "B2.wasm", "BU": c_dir / "BU.wasm"}) as runtime:
        plugins, refusals = runtime.load_dir(_mixed(tmp_path, py_dir))
    assert refusals == []
    assert {command: plugin.path for command, plugin in plugins.items()} == {
        "B2": c_dir / "B2.wasm",
        "BU": c_dir / "BU.wasm",
        "NC": tmp_path / "plugins" / "NC.wasm",
    }


def test_a_reload_keeps_an_unchanged_c_plugin(tmp_path: Path, c_dir: Path, py_dir: Path, host: Host) -> None:
    with Runtime(host, Limits(), CACHE, c_plugins={"B2": c_dir / "B2.wasm"}) as runtime:
        first, _ = runtime.load_dir(_mixed(tmp_path, py_dir))
        again, refusals = runtime.load_dir(tmp_path / "plugins", reuse=first)
    assert refusals == []
    assert again["B2"] is first["B2"]


def test_a_listed_command_without_its_c_plugin_is_refused_not_served_by_python(tmp_path: Path, py_dir: Path, host: Host) -> None:
    missing = tmp_path / "plugins-c" / "B2.wasm"
    with Runtime(host, Limits(), CACHE, c_plugins={"B2": missing}) as runtime:
        plugins, refusals = runtime.load_dir(_mixed(tmp_path, py_dir))
    assert set(plugins) == {"NC"}
    assert [(r.path, r.reason) for r in refusals] == [(missing, "cannot read: No such file or directory")]


def test_the_c_selection_is_validated_with_one_exact_line() -> None:
    config = load_config(None, {"HSMD_PLUGINS_C": "B2,BU", "HSMD_PLUGINS_C_DIR": "out/c"}, {})
    assert config.plugins.c_files() == {"B2": Path("out/c/B2.wasm"), "BU": Path("out/c/BU.wasm")}
    with pytest.raises(ConfigError) as info:
        load_config(None, {}, {"plugins.c": ["B2", "b2"]})
    assert str(info.value) == (
        'plugins.c: must be a list of distinct two-character command codes, e.g. ["B2", "BU"] '
        '(comma-separated in the environment), got ["B2", "b2"] (from command line)'
    )


def test_the_shipped_configuration_lists_the_c_keys() -> None:
    config = load_config(ROOT / "hsmd.toml", {}, {})
    assert (config.plugins.c, config.plugins.c_dir) == ((), Path("build/plugins-c"))


# --------------------------------------------------------------------------- build


def _native_copy(tmp_path: Path, *names: str) -> Path:
    directory = tmp_path / "native"
    directory.mkdir()
    for name in names:
        shutil.copyfile(ROOT / "native" / name, directory / name)
    return directory


def test_a_native_build_is_incremental_and_keyed_on_its_sources(tmp_path: Path) -> None:
    native = _native_copy(tmp_path, "b2.c")
    out = tmp_path / "out"
    targets = build.discover_native(native, out, stage_dir=tmp_path / "stage")
    assert [(t.command, t.cpp, t.out) for t in targets] == [("B2", False, out / "B2.wasm")]
    assert build.build(targets, jobs=1, stream=sys.stderr) == {"B2": "built"}
    assert build.build(targets, jobs=1, stream=sys.stderr) == {"B2": "up to date"}
    before = build.input_hash(targets[0])
    (native / "b2.c").write_text((native / "b2.c").read_text() + "\n/* changed */\n")
    assert build.input_hash(targets[0]) != before
    assert build.build(targets, jobs=1, stream=sys.stderr) == {"B2": "built"}


def test_a_directory_of_sources_is_one_plugin_and_cpp_if_any_source_is(tmp_path: Path) -> None:
    native = tmp_path / "native"
    (native / "xy").mkdir(parents=True)
    for name in ("main.cpp", "util.c", "util.h"):
        (native / "xy" / name).write_text("")
    [target] = build.discover_native(native, tmp_path / "out")
    assert (target.command, target.cpp, [p.name for p in target.sources]) == ("XY", True, ["main.cpp", "util.c", "util.h"])


def test_a_plugin_that_needs_wasi_is_refused_by_the_build(tmp_path: Path) -> None:
    native = tmp_path / "native"
    native.mkdir()
    (native / "zw.c").write_text(
        '#include <stdio.h>\n#include "hsmd.h"\nHSMD_COMMAND("ZW", "0.0.1", "prints");\n'
        "bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {\n"
        '    (void)request; (void)response; puts("no stdout in a plugin"); return true;\n}\n'
    )
    with pytest.raises(build.BuildError) as info:
        build.build(build.discover_native(native, tmp_path / "out", stage_dir=tmp_path / "stage"), jobs=1, stream=sys.stderr)
    assert "ZW: wasm-tools failed" in str(info.value)
    assert "wasi_snapshot_preview1" in str(info.value)


# --------------------------------------------------------------------------- the generated binding


def test_the_committed_c_binding_is_fresh() -> None:
    assert cbindings.sync(check=True) == []


def test_the_c_binding_goes_stale_then_fresh_again(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert sorted(p.name for p in cbindings.sync(out, check=True)) == ["hsmd_world.c", "hsmd_world.h"]
    assert not out.exists()  # --check writes nothing
    assert len(cbindings.sync(out, check=False)) == 2
    assert cbindings.sync(out, check=True) == []
    header = out / "hsmd_world.h"
    header.write_text(header.read_text().replace("key_check_value", "key_check_valu"))
    assert cbindings.sync(out, check=True) == [header]


def test_the_binding_follows_the_wit() -> None:
    text = (ROOT / "wasm" / "wit" / "plugin.wit").read_text()
    changed = text.replace("firmware-number: func() -> string;", "firmware-number: func() -> u64;")
    header = cbindings.render(changed)["hsmd_world.h"]
    assert "uint64_t hsmd_host_firmware_number(void);" in header
    assert "void hsmd_host_firmware_number(hsmd_string_t *ret);" in cbindings.render(text)["hsmd_world.h"]


def test_every_host_function_has_a_binding_and_an_sdk_wrapper() -> None:
    from hsmd.runtime import wit

    header = (ROOT / "wasm" / "c" / "generated" / "hsmd_world.h").read_text()
    sdk = (ROOT / "wasm" / "c" / "hsmd.h").read_text()
    renamed = {"fail": "bug"}  # the C SDK's hsmd_fail answers an error code, as it did before the contract's `fail`
    for func in wit.host_functions():
        assert f" hsmd_host_{func.python_name}(" in header, func.name
        assert f" hsmd_{renamed.get(func.python_name, func.python_name)}(" in sdk, func.name  # the Python SDK's name
