"""hsmd.cli: help, config errors, serve and plugins list against a fake hsmd.app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

import hsmd.cli
from hsmd.cli import main
from hsmd.config import Config

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FakePluginInfo:
    command: str
    version: str
    contract: str
    status: str
    path: str


class FakeApp(types.ModuleType):
    """Stands in for hsmd.app, recording the configs it was given."""

    def __init__(self) -> None:
        super().__init__("hsmd.app")
        self.configs: list[Config] = []
        self.exit_code = 0
        self.plugins: list[FakePluginInfo] = []

    def serve(self, config: Config) -> int:
        self.configs.append(config)
        return self.exit_code

    def list_plugins(self, config: Config) -> list[FakePluginInfo]:
        self.configs.append(config)
        return self.plugins


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # No ./hsmd.toml and no HSMD_* variables unless a test adds them.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HSMD_"):
            monkeypatch.delenv(name)
    yield
    structlog.reset_defaults()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> FakeApp:
    fake = FakeApp()
    monkeypatch.setitem(sys.modules, "hsmd.app", fake)
    return fake


def test_public_api_is_pinned() -> None:
    assert sorted(hsmd.cli.__all__) == ["PluginInfo", "main"]


# --- help ----------------------------------------------------------------------------


def test_help_describes_the_commands_and_gives_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hsmd ")
    assert "payShield" in out
    for text in ("serve", "plugins", "--config", "--version", "examples:", "precedence"):
        assert text in out


def test_serve_help_lists_every_override_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for flag, key in [
        ("--host", "server.host"),
        ("--port", "server.port"),
        ("--header-len", "server.header_len"),
        ("--plugins-dir", "plugins.dir"),
        ("--log-format", "logging.format"),
        ("--log-level", "logging.level"),
    ]:
        assert flag in out
        assert key in out


def test_plugins_list_help_mentions_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plugins", "list", "--help"])
    assert "--json" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("hsmd ")


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: hsmd" in capsys.readouterr().err


def test_python_dash_m_hsmd_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hsmd", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: hsmd ")


# --- config errors ---------------------------------------------------------------------


def test_bad_flag_value_exits_2_with_one_line(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "abc"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ('hsmd: config error: server.port: must be an integer from 1 to 65535, got "abc" (from --port)\n')
    assert captured.out == ""
    assert app.configs == []


def test_bad_environment_value_exits_2(app: FakeApp, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSMD_LOGGING_FORMAT", "xml")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == (
        'hsmd: config error: logging.format: must be one of "console", "json", got "xml" (from HSMD_LOGGING_FORMAT)\n'
    )


def test_missing_config_file_exits_2(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "absent.toml", "serve"]) == 2
    assert capsys.readouterr().err == ("hsmd: config error: config file absent.toml: not found\n")


def test_plugins_list_config_error_exits_2(app: FakeApp, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "hsmd.toml").write_text("[plugins]\nfuel = 0\n")
    assert main(["plugins", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hsmd: config error: plugins.fuel: must be")
    assert err.count("\n") == 1


# --- serve -----------------------------------------------------------------------------


def test_serve_passes_defaults_when_there_is_no_config_file(app: FakeApp) -> None:
    assert main(["serve"]) == 0
    assert app.configs == [Config()]


def test_serve_returns_the_apps_exit_code(app: FakeApp) -> None:
    app.exit_code = 3
    assert main(["serve"]) == 3


def test_serve_reads_hsmd_toml_from_the_working_directory(app: FakeApp, tmp_path: Path) -> None:
    (tmp_path / "hsmd.toml").write_text("[server]\nport = 1601\n")
    main(["serve"])
    assert app.configs[0].server.port == 1601


@pytest.mark.parametrize("position", ["before", "after"])
def test_config_flag_works_before_or_after_the_subcommand(app: FakeApp, tmp_path: Path, position: str) -> None:
    path = tmp_path / "other.toml"
    path.write_text("[server]\nport = 1602\n")
    argv = ["--config", str(path), "serve"]
    main(argv if position == "before" else ["serve", "--config", str(path)])
    assert app.configs[0].server.port == 1602


def test_serve_flags_override_file_and_environment(app: FakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hsmd.toml").write_text('[server]\nport = 1601\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("HSMD_SERVER_PORT", "1700")
    monkeypatch.setenv("HSMD_SERVER_HEADER_LEN", "2")
    argv = ["serve", "--port", "1800", "--plugins-dir", "p", "--log-level", "debug"]
    main([*argv, "--log-format", "json"])
    config = app.configs[0]
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 1800
    assert config.server.header_len == 2
    assert config.plugins.dir == Path("p")
    assert (config.logging.format, config.logging.level) == ("json", "debug")


# --- plugins list ------------------------------------------------------------------


PLUGINS = [
    FakePluginInfo("NC", "1.0.0", "1.0.0", "ok", "build/plugins/NC.wasm"),
    FakePluginInfo("CA", "0.2.1", "2.0.0", "contract 2.0.0 != 1.x", "build/plugins/CA.wasm"),
]


def test_plugins_list_prints_an_aligned_table(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    app.plugins = PLUGINS
    assert main(["plugins", "list"]) == 0
    assert capsys.readouterr().out == (
        "COMMAND  VERSION  CONTRACT  STATUS                 PATH\n"
        "NC       1.0.0    1.0.0     ok                     build/plugins/NC.wasm\n"
        "CA       0.2.1    2.0.0     contract 2.0.0 != 1.x  build/plugins/CA.wasm\n"
    )


def test_plugins_list_json(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    app.plugins = PLUGINS
    assert main(["plugins", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "command": "NC",
            "version": "1.0.0",
            "contract": "1.0.0",
            "status": "ok",
            "path": "build/plugins/NC.wasm",
        },
        {
            "command": "CA",
            "version": "0.2.1",
            "contract": "2.0.0",
            "status": "contract 2.0.0 != 1.x",
            "path": "build/plugins/CA.wasm",
        },
    ]


def test_plugins_list_with_no_plugins_says_where_it_looked(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "list", "--plugins-dir", "elsewhere"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "no plugins in elsewhere\n"
    assert app.configs[0].plugins.dir == Path("elsewhere")


def test_plugins_list_json_with_no_plugins_is_an_empty_array(app: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
