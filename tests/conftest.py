"""Shared fixtures: the built plugins (built once per session, incrementally), a host, a runtime."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.runtime import CONTRACT_VERSION, Limits, Runtime
from plugingen import build

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CACHE = BUILD / "cache"
FIRMWARE = "0007-E000"


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults and no bound context."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _build(commands: Path, out: Path, *, wit: Path = build.WIT_DIR, stage: Path | None = None) -> None:
    build.build(build.discover(commands, out, root=ROOT, wit_dir=wit, stage_dir=stage), jobs=2, stream=sys.stderr, cache_dir=CACHE)


@pytest.fixture(scope="session")
def built_plugins() -> Path:
    """Every shipped command, built (incrementally) into build/plugins."""
    _build(ROOT / "commands", BUILD / "plugins")
    return BUILD / "plugins"


@pytest.fixture(scope="session")
def native_plugins() -> Path:
    """Every C/C++ plugin (native/), built (incrementally) into build/plugins-c."""
    out = BUILD / "plugins-c"
    build.build(build.discover_native(ROOT / "native", out), jobs=2, stream=sys.stderr, cache_dir=CACHE)
    return out


@pytest.fixture(scope="session")
def plugin_dir(built_plugins: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NC, B2 (the foundation commands) and ZF (the misbehaving test plugin), side by side."""
    _build(ROOT / "tests" / "plugins" / "commands", BUILD / "test-plugins", stage=BUILD / "test-stage")
    directory = tmp_path_factory.mktemp("plugins")
    for wasm in [built_plugins / "NC.wasm", built_plugins / "B2.wasm", BUILD / "test-plugins" / "ZF.wasm"]:
        (directory / wasm.name).symlink_to(wasm)
    return directory


@pytest.fixture(scope="session")
def v2_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ZF built against contract 2.0.0: a major version this host must refuse."""
    wit = BUILD / "test-wit-v2"
    wit.mkdir(parents=True, exist_ok=True)
    text = (build.WIT_DIR / "plugin.wit").read_text()
    (wit / "plugin.wit").write_text(text.replace(f"package hsmd:plugin@{CONTRACT_VERSION};", "package hsmd:plugin@2.0.0;"))
    _build(ROOT / "tests" / "plugins" / "commands", BUILD / "test-plugins-v2", wit=wit, stage=BUILD / "test-stage-v2")
    return BUILD / "test-plugins-v2" / "ZF.wasm"


# Doctored contracts with the host's own version: one import's type changed each way, and the export the host picks by name.
DOCTORED_WITS = {
    "param-type": ("random-hex: func(n: u32)", "random-hex: func(n: string)"),
    "param-count": ("key-check-value: func(key: key-handle)", "key-check-value: func(key: key-handle, extra: u32)"),
    "result-type": ("firmware-number: func() -> string;", "firmware-number: func() -> u64;"),
    "record-field": ("        odd-parity: bool,\n", ""),
    "export-type": ("export execute-frame: func(request: string)", "export execute-frame: func(request: list<u8>)"),
}


@pytest.fixture(scope="session")
def doctored_plugins() -> dict[str, Path]:
    """ZF built against WITs that keep the version but change one host import's type (see DOCTORED_WITS)."""
    built = {}
    text = (build.WIT_DIR / "plugin.wit").read_text()
    for name, (old, new) in DOCTORED_WITS.items():
        assert old in text, f"doctored WIT {name}: {old!r} is no longer in the contract"
        wit = BUILD / f"test-wit-{name}"
        wit.mkdir(parents=True, exist_ok=True)
        (wit / "plugin.wit").write_text(text.replace(old, new, 1))
        out = BUILD / f"test-plugins-{name}"
        _build(ROOT / "tests" / "plugins" / "commands", out, wit=wit, stage=BUILD / f"test-stage-{name}")
        built[name] = out / "ZF.wasm"
    return built


@pytest.fixture
def host() -> Host:
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE)


def make_runtime(host: Host, **limits: int) -> Runtime:
    return Runtime(host, Limits(**limits), CACHE)


# The runtime fixture's deadline: generous, since the tests that use it are not about deadlines
# (those make their own runtime) and this VM has stalled a plugin call for over a second (its
# page faults behind a busy disk), which a 1 s deadline turns into a failed test.
SLACK_DEADLINE_MS = 10_000


@pytest.fixture
def runtime(host: Host) -> Iterator[Runtime]:
    with make_runtime(host, deadline_ms=SLACK_DEADLINE_MS) as rt:
        yield rt


def link_plugin(source: Path, directory: Path, name: str) -> Path:
    """`directory`/`name`, a symlink to the component `source`. Not a copy: the boundary tests load
    twenty 18 MB components several times, and writing copies of them stalled this VM's disk, and
    a plugin call page-faulting behind it, for over a second (a deadline of 1 s met)."""
    target = directory / name
    target.symlink_to(source.resolve())
    return target
