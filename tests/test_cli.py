"""hsmd.cli: help, config errors, serve and plugins list against a fake hsmd.app; call against
fake servers (tests/fake_server.py) and, with the plugins, hsmd itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
import trio
import trustme
from structlog.testing import capture_logs

import hsmd.cli
from hsmd.cli import main
from hsmd.config import Config
from hsmd.host import TEST_LMK
from tests.conftest import FIRMWARE
from tests.fake_server import closed_port, serving, udp_responder
from tests.tcp import serving_plugins

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


# --- call ------------------------------------------------------------------------------


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """The servers' log lines, kept out of the stdout the tests compare."""
    with capture_logs():
        yield


async def call(*argv: str) -> int:
    """``hsmd call`` in a worker thread, while the test's trio loop serves."""
    return await trio.to_thread.run_sync(main, ["call", *argv])


def test_call_help_documents_the_defaults_and_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["call", "--help"])
    out = capsys.readouterr().out
    for text in (
        "--host",
        "--timeout",
        "--hex",
        "--udp",
        "--tls",
        "--ca",
        "--cert",
        "--key",
        "default: 1500; 2500 with --tls",
        "default: 0000",
    ):
        assert text in out
    for status in range(6):
        assert f"\n  {status}  " in out


@pytest.mark.usefixtures("quiet_logs")
async def test_call_prints_the_response_code_the_error_code_with_its_meaning_and_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "B2", "0005hello") == 0
    assert capsys.readouterr().out == "response  B3\nerror     00  no error\nfields    0005hello\n"


@pytest.mark.usefixtures("quiet_logs")
async def test_call_exits_1_on_an_error_answer_and_says_what_the_code_means(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "ER") == 1
    assert capsys.readouterr().out == "response  ES\nerror     15  invalid input data\n"


@pytest.mark.usefixtures("quiet_logs")
async def test_call_with_hex_sends_and_prints_the_fields_in_hex(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "--hex", "B2", "00ff1a") == 0
    assert capsys.readouterr().out == "response  B3\nerror     00  no error\nfields    00FF1A\n"


@pytest.mark.usefixtures("quiet_logs")
async def test_call_prints_the_echoed_trailer_on_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "B2", "0002hi\x19tag") == 0
    assert capsys.readouterr().out == "response  B3\nerror     00  no error\nfields    0002hi\ntrailer   tag\n"


@pytest.mark.usefixtures("quiet_logs")
async def test_call_prints_fields_with_a_non_printable_byte_in_hex(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "B2", "a\tb") == 0
    assert capsys.readouterr().out == "response  B3\nerror     00  no error\nfields    (hex) 610962\n"


def test_call_connection_refused_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port(socket.SOCK_STREAM)
    assert main(["call", "--port", str(port), "NC"]) == 3
    assert capsys.readouterr() == ("", f"hsmd call: cannot connect to 127.0.0.1:{port}: Connection refused\n")


@pytest.mark.usefixtures("quiet_logs")
async def test_call_without_an_answer_in_time_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    async with serving() as port:
        assert await call("--port", str(port), "--header", "HEAD", "--timeout", "0.2", "WT") == 4
    assert capsys.readouterr() == ("", f"hsmd call: no answer from 127.0.0.1:{port} within 0.2 s\n")


@pytest.mark.usefixtures("quiet_logs")
async def test_call_with_a_header_shorter_than_the_servers_exits_5(capsys: pytest.CaptureFixture[str]) -> None:
    """Server header_len 6: it reads "0000NC" as the header, so the answer is not NC's."""
    async with serving(header_len=6) as port:
        assert await call("--port", str(port), "NC") == 5
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("hsmd call: answer response code b'NC' is not the request's b'ND'")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (["N"], "COMMAND is a 2-character command code, got 'N'"),
        (["--ca", "ca.pem", "NC"], "--ca, --cert and --key need --tls"),
        (["--tls", "--udp", "NC"], "--tls and --udp exclude each other"),
        (["--tls", "--key", "client.key", "NC"], "--key is the private key of --cert: give both"),
        (["--hex", "B2", "0g"], "FIELDS must be hexadecimal (--hex)"),
        (["B2", "héllo"], "FIELDS must be ASCII text (binary fields: --hex)"),
        (["--header", "x" * 33, "NC"], "a header is at most 32 characters, got 33"),
        (["--tls", "--ca", "missing.pem", "NC"], "cannot use the TLS files: [Errno 2] No such file or directory"),
    ],
)
def test_call_with_bad_arguments_exits_2_before_connecting(argv: list[str], err: str, capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port(socket.SOCK_STREAM)  # were anything sent, this would exit 3
    assert main(["call", "--port", str(port), *argv]) == 2
    assert capsys.readouterr() == ("", f"hsmd call: {err}\n")


@pytest.mark.parametrize("timeout", ["0", "-1", "inf", "nan", "soon"])
def test_call_timeout_must_be_a_positive_number(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["call", "--timeout", timeout, "NC"])
    assert info.value.code == 2
    assert "must be a positive number of seconds" in capsys.readouterr().err


@pytest.mark.usefixtures("quiet_logs")
async def test_call_over_tls_and_mutual_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ssl

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "client.pem"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    server.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server)
    async with serving(tls=server) as port:
        argv = ["--port", str(port), "--header", "HEAD", "--tls", "--ca", str(tmp_path / "ca.pem")]
        assert await call(*argv, "--cert", str(tmp_path / "client.pem"), "NC") == 0
    assert capsys.readouterr() == ("response  ND\nerror     00  no error\n", "")


@pytest.mark.usefixtures("quiet_logs")
async def test_call_over_tls_to_a_server_its_ca_did_not_sign_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ssl

    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server)
    async with serving(tls=server) as port:
        assert await call("--port", str(port), "--tls", "--ca", str(tmp_path / "other-ca.pem"), "NC") == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"hsmd call: TLS handshake with 127.0.0.1:{port} failed: [SSL: CERTIFICATE_VERIFY_FAILED]")


@pytest.mark.usefixtures("quiet_logs")
async def test_call_over_udp(capsys: pytest.CaptureFixture[str]) -> None:
    async with udp_responder() as (responder, _):
        assert await call("--udp", "--port", str(responder.port), "--header", "HEAD", "B2", "0002hi") == 0
    assert capsys.readouterr().out == "response  B3\nerror     00  no error\nfields    0002hi\n"


def test_call_over_udp_to_a_port_nobody_listens_on_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port(socket.SOCK_DGRAM)
    assert main(["call", "--udp", "--port", str(port), "NC"]) == 3
    assert capsys.readouterr() == ("", f"hsmd call: nothing listens on UDP 127.0.0.1:{port}\n")


@pytest.mark.usefixtures("quiet_logs")
@pytest.mark.wasm
async def test_call_against_hsmd_nc_b2_and_a_command_without_a_plugin(plugin_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    async with serving_plugins(plugin_dir) as (host, port):
        for argv in (["NC"], ["B2", "0005hello"], ["XX"]):
            status = await call("--host", host, "--port", str(port), "--header", "HEAD", *argv)
            outputs.append((status, capsys.readouterr().out))
    assert outputs == [
        (0, f"response  ND\nerror     00  no error\nfields    {TEST_LMK.check_value}{FIRMWARE}\n"),
        (0, "response  B3\nerror     00  no error\nfields    hello\n"),
        (1, "response  XY\nerror     68  command has been disabled\n"),
    ]
