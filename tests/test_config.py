"""hsmd.config: defaults, the three layers and their precedence, one test per rule."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

import hsmd.config
from hsmd.config import (
    Config,
    ConfigError,
    HsmConfig,
    HttpConfig,
    LmkConfig,
    LoggingConfig,
    PluginsConfig,
    ServerConfig,
    TlsConfig,
    UdpConfig,
    load_config,
)

REPO_TOML = Path(__file__).resolve().parent.parent / "hsmd.toml"


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hsmd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_from_file(tmp_path: Path, text: str) -> str:
    path = write_toml(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {}, {})
    return str(info.value)


def error_from_env(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(None, env, {})
    return str(info.value)


# --- public API and defaults -------------------------------------------------------


def test_public_api_is_pinned() -> None:
    assert sorted(hsmd.config.__all__) == [
        "Config",
        "ConfigError",
        "HsmConfig",
        "HttpConfig",
        "LoggingConfig",
        "PluginsConfig",
        "ServerConfig",
        "TlsConfig",
        "UdpConfig",
        "load_config",
    ]
    names = {section.name: [f.name for f in dataclasses.fields(getattr(Config(), section.name))] for section in dataclasses.fields(Config)}
    assert names == {
        "server": [
            "host",
            "port",
            "header_len",
            "max_connections",
            "idle_timeout",
            "frame_timeout",
            "max_in_flight",
            "workers",
        ],
        "tls": ["enabled", "host", "port", "certificate", "private_key", "client_ca", "handshake_timeout"],
        "udp": ["enabled", "host", "port"],
        "hsm": ["firmware_number", "key_type_table", "authorised", "pin_under_lmk", "decimalisation_tables", "serial_number"],
        "lmk": ["files", "default", "test_lmks", "key_change"],
        "plugins": ["dir", "cache_dir", "fuel", "deadline_ms", "memory_mb", "recycle_after", "c", "c_dir"],
        "logging": ["format", "level"],
        "http": ["enabled", "host", "port", "token_file", "max_body"],
    }


def test_no_file_means_builtin_defaults() -> None:
    config = load_config(None, {}, {})
    assert config == Config()
    assert config.server == ServerConfig("127.0.0.1", 1500, 4, 256, 300.0, 5.0, 32)
    assert config.tls == TlsConfig(False, "127.0.0.1", 2500, None, None, None, 5.0)
    assert config.udp == UdpConfig(False, "127.0.0.1", 1500)
    assert config.hsm == HsmConfig("0007-E000", "non-pci")
    assert config.lmk == LmkConfig((), 0)
    assert config.plugins == PluginsConfig(Path("build/plugins"), Path("build/cache"), 50_000_000, 1000, 64, 1000)
    assert config.logging == LoggingConfig("console", "info")
    assert config.http == HttpConfig(False, "127.0.0.1", 9500, None, 262144)


def test_shipped_hsmd_toml_equals_the_defaults() -> None:
    assert load_config(REPO_TOML, {}, {}) == Config()


def test_shipped_hsmd_toml_lists_every_key() -> None:
    data = tomllib.loads(REPO_TOML.read_text(encoding="utf-8"))
    expected = {
        section.name: {f.name for f in dataclasses.fields(getattr(Config(), section.name))} for section in dataclasses.fields(Config)
    }
    assert {name: set(table) for name, table in data.items()} == expected


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().server.port = 1  # type: ignore[misc]


# --- precedence: file < env < flags ------------------------------------------------


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 1600\n")
    assert load_config(path, {}, {}).server.port == 1600


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 1600\n")
    assert load_config(path, {"HSMD_SERVER_PORT": "1700"}, {}).server.port == 1700


def test_flag_overrides_env_and_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 1600\n")
    config = load_config(path, {"HSMD_SERVER_PORT": "1700"}, {"server.port": 1800})
    assert config.server.port == 1800


def test_layers_merge_key_by_key(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[server]\nhost = "0.0.0.0"\n[logging]\nlevel = "debug"\n')
    config = load_config(path, {"HSMD_LOGGING_FORMAT": "json"}, {"server.port": "1600"})
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 1600
    assert config.logging == LoggingConfig("json", "debug")


def test_a_bad_env_value_is_an_error_even_if_a_flag_overrides_it() -> None:
    with pytest.raises(ConfigError, match="HSMD_SERVER_PORT"):
        load_config(None, {"HSMD_SERVER_PORT": "abc"}, {"server.port": 1600})


@pytest.mark.parametrize(
    ("variable", "text", "section", "key", "value"),
    [
        ("HSMD_SERVER_HOST", "::", "server", "host", "::"),
        ("HSMD_SERVER_PORT", "1600", "server", "port", 1600),
        ("HSMD_SERVER_HEADER_LEN", "0", "server", "header_len", 0),
        ("HSMD_SERVER_MAX_CONNECTIONS", "1", "server", "max_connections", 1),
        ("HSMD_SERVER_IDLE_TIMEOUT", "2.5", "server", "idle_timeout", 2.5),
        ("HSMD_SERVER_FRAME_TIMEOUT", "1", "server", "frame_timeout", 1.0),
        ("HSMD_SERVER_MAX_IN_FLIGHT", "8", "server", "max_in_flight", 8),
        ("HSMD_TLS_ENABLED", "TRUE", "tls", "enabled", True),
        ("HSMD_TLS_HOST", "0.0.0.0", "tls", "host", "0.0.0.0"),
        ("HSMD_TLS_PORT", "2600", "tls", "port", 2600),
        ("HSMD_TLS_CERTIFICATE", "/etc/hsmd/cert.pem", "tls", "certificate", Path("/etc/hsmd/cert.pem")),
        ("HSMD_TLS_PRIVATE_KEY", "/etc/hsmd/key.pem", "tls", "private_key", Path("/etc/hsmd/key.pem")),
        ("HSMD_TLS_CLIENT_CA", "/etc/hsmd/ca.pem", "tls", "client_ca", Path("/etc/hsmd/ca.pem")),
        ("HSMD_TLS_HANDSHAKE_TIMEOUT", "0.5", "tls", "handshake_timeout", 0.5),
        ("HSMD_UDP_ENABLED", "true", "udp", "enabled", True),
        ("HSMD_UDP_HOST", "::", "udp", "host", "::"),
        ("HSMD_UDP_PORT", "1501", "udp", "port", 1501),
        ("HSMD_HSM_FIRMWARE_NUMBER", "1234-5678", "hsm", "firmware_number", "1234-5678"),
        ("HSMD_HSM_KEY_TYPE_TABLE", "PCI", "hsm", "key_type_table", "pci"),
        ("HSMD_LMK_FILES", "/etc/hsmd/a.lmk, /etc/hsmd/b.lmk", "lmk", "files", (Path("/etc/hsmd/a.lmk"), Path("/etc/hsmd/b.lmk"))),
        ("HSMD_LMK_DEFAULT", "1", "lmk", "default", 1),
        ("HSMD_LMK_TEST_LMKS", "variant, keyblock-aes", "lmk", "test_lmks", ("variant", "keyblock-aes")),
        ("HSMD_LMK_KEY_CHANGE", ", /etc/hsmd/old.lmk", "lmk", "key_change", (None, Path("/etc/hsmd/old.lmk"))),
        ("HSMD_PLUGINS_DIR", "/opt/p", "plugins", "dir", Path("/opt/p")),
        ("HSMD_PLUGINS_CACHE_DIR", "/var/c", "plugins", "cache_dir", Path("/var/c")),
        ("HSMD_PLUGINS_FUEL", "1_000", "plugins", "fuel", 1000),
        ("HSMD_PLUGINS_DEADLINE_MS", " 50 ", "plugins", "deadline_ms", 50),
        ("HSMD_PLUGINS_MEMORY_MB", "16", "plugins", "memory_mb", 16),
        ("HSMD_PLUGINS_RECYCLE_AFTER", "1", "plugins", "recycle_after", 1),
        ("HSMD_LOGGING_FORMAT", "json", "logging", "format", "json"),
        ("HSMD_LOGGING_LEVEL", "WARNING", "logging", "level", "warning"),
        ("HSMD_HTTP_ENABLED", "true", "http", "enabled", True),
        ("HSMD_HTTP_HOST", "::1", "http", "host", "::1"),
        ("HSMD_HTTP_PORT", "9600", "http", "port", 9600),
        ("HSMD_HTTP_TOKEN_FILE", "/etc/hsmd/token", "http", "token_file", Path("/etc/hsmd/token")),
        ("HSMD_HTTP_MAX_BODY", "1024", "http", "max_body", 1024),
    ],
)
def test_every_key_is_settable_from_the_environment(variable: str, text: str, section: str, key: str, value: object) -> None:
    config = load_config(None, {variable: text}, {})
    assert getattr(getattr(config, section), key) == value


def test_tls_files_from_the_file_and_empty_means_none(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[tls]\nenabled = true\ncertificate = "c.pem"\nprivate_key = "k.pem"\nclient_ca = ""\n')
    assert load_config(path, {}, {}).tls == TlsConfig(True, "127.0.0.1", 2500, Path("c.pem"), Path("k.pem"), None, 5.0)


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("HSMD_TLS_ENABLED", "yes", 'tls.enabled: must be true or false, got "yes" (from HSMD_TLS_ENABLED)'),
        ("HSMD_TLS_PORT", "0", 'tls.port: must be an integer from 1 to 65535, got "0" (from HSMD_TLS_PORT)'),
        ("HSMD_TLS_HOST", "a b", 'tls.host: must be a non-empty host name or address without spaces, got "a b" (from HSMD_TLS_HOST)'),
        ("HSMD_TLS_CERTIFICATE", "a\0b", 'tls.certificate: must be a path, or "" for none, got "a\\u0000b" (from HSMD_TLS_CERTIFICATE)'),
        (
            "HSMD_TLS_HANDSHAKE_TIMEOUT",
            "0",
            'tls.handshake_timeout: must be a number greater than 0, got "0" (from HSMD_TLS_HANDSHAKE_TIMEOUT)',
        ),
        ("HSMD_UDP_ENABLED", "1", 'udp.enabled: must be true or false, got "1" (from HSMD_UDP_ENABLED)'),
        ("HSMD_UDP_PORT", "65536", 'udp.port: must be an integer from 1 to 65535, got "65536" (from HSMD_UDP_PORT)'),
    ],
)
def test_bad_tls_and_udp_values_name_the_key(variable: str, text: str, message: str) -> None:
    assert error_from_env({variable: text}) == message


def test_unknown_tls_key_suggests_the_right_one(tmp_path: Path) -> None:
    assert error_from_file(tmp_path, '[tls]\ncertficate = "c.pem"\n') == (
        f'tls.certficate: unknown key (from {tmp_path / "hsmd.toml"}); did you mean "certificate"?'
    )


def test_http_from_the_file_and_an_empty_token_file_means_run_is_off(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[http]\nenabled = true\nport = 9100\ntoken_file = "run.token"\n')
    assert load_config(path, {}, {}).http == HttpConfig(True, "127.0.0.1", 9100, Path("run.token"), 262144)
    assert load_config(path, {"HSMD_HTTP_TOKEN_FILE": ""}, {}).http.token_file is None


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("HSMD_HTTP_ENABLED", "on", 'http.enabled: must be true or false, got "on" (from HSMD_HTTP_ENABLED)'),
        ("HSMD_HTTP_HOST", "", 'http.host: must be a non-empty host name or address without spaces, got "" (from HSMD_HTTP_HOST)'),
        ("HSMD_HTTP_PORT", "0", 'http.port: must be an integer from 1 to 65535, got "0" (from HSMD_HTTP_PORT)'),
        ("HSMD_HTTP_TOKEN_FILE", "a\0b", 'http.token_file: must be a path, or "" for none, got "a\\u0000b" (from HSMD_HTTP_TOKEN_FILE)'),
        ("HSMD_HTTP_MAX_BODY", "1023", 'http.max_body: must be an integer from 1024 to 16777216, got "1023" (from HSMD_HTTP_MAX_BODY)'),
        (
            "HSMD_HTTP_MAX_BODY",
            "16777217",
            'http.max_body: must be an integer from 1024 to 16777216, got "16777217" (from HSMD_HTTP_MAX_BODY)',
        ),
    ],
)
def test_bad_http_values_name_the_key(variable: str, text: str, message: str) -> None:
    assert error_from_env({variable: text}) == message


def test_unrelated_environment_variables_are_ignored() -> None:
    env = {"PATH": "/bin", "HSMD_CONFIG": "x", "HSMD_SERVERPORT": "x", "hsmd_server_port": "x"}
    assert load_config(None, env, {}) == Config()


def test_empty_lmk_file_list_means_the_builtin_test_lmk(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[lmk]\nfiles = ["keys/00.lmk", "keys/01.lmk"]\n')
    assert load_config(path, {}, {}).lmk.files == (Path("keys/00.lmk"), Path("keys/01.lmk"))
    assert load_config(path, {"HSMD_LMK_FILES": ""}, {}).lmk.files == ()


def test_integer_toml_value_is_accepted_for_a_float_key(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nidle_timeout = 30\n")
    timeout = load_config(path, {}, {}).server.idle_timeout
    assert timeout == 30.0
    assert isinstance(timeout, float)


# --- one test per validation rule; each message is one line naming key and source ----


def test_port_from_env_not_a_number() -> None:
    assert error_from_env({"HSMD_SERVER_PORT": "abc"}) == (
        'server.port: must be an integer from 1 to 65535, got "abc" (from HSMD_SERVER_PORT)'
    )


@pytest.mark.parametrize(("toml", "shown"), [("0", "0"), ("65536", "65536")])
def test_port_out_of_range_in_file(tmp_path: Path, toml: str, shown: str) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, f"[server]\nport = {toml}\n") == (
        f"server.port: must be an integer from 1 to 65535, got {shown} (from {path})"
    )


@pytest.mark.parametrize(("toml", "shown"), [("true", "true"), ("1600.0", "1600.0")])
def test_port_of_wrong_toml_type(tmp_path: Path, toml: str, shown: str) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, f"[server]\nport = {toml}\n") == (
        f"server.port: must be an integer from 1 to 65535, got {shown} (from {path})"
    )


def test_quoted_number_in_file_is_a_type_error(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, '[server]\nport = "1600"\n') == (
        f'server.port: must be an integer from 1 to 65535, got "1600" (from {path})'
    )


@pytest.mark.parametrize("text", ["1.5", "", "0x10", "\u0661\u0665\u0660\u0660"])
def test_unparseable_integer_from_env(text: str) -> None:
    message = error_from_env({"HSMD_SERVER_PORT": text})
    assert message.startswith("server.port: must be an integer from 1 to 65535, got ")
    assert message.endswith(" (from HSMD_SERVER_PORT)")


def test_header_len_above_32() -> None:
    assert error_from_env({"HSMD_SERVER_HEADER_LEN": "33"}) == (
        'server.header_len: must be an integer from 0 to 32, got "33" (from HSMD_SERVER_HEADER_LEN)'
    )


def test_host_empty() -> None:
    assert error_from_env({"HSMD_SERVER_HOST": ""}) == (
        'server.host: must be a non-empty host name or address without spaces, got "" (from HSMD_SERVER_HOST)'
    )


def test_host_with_spaces() -> None:
    assert "server.host: must be" in error_from_env({"HSMD_SERVER_HOST": "a b"})


@pytest.mark.parametrize(
    ("key", "minimum"),
    [
        ("server.max_connections", 1),
        ("server.max_in_flight", 1),
        ("plugins.fuel", 1),
        ("plugins.deadline_ms", 1),
        ("plugins.memory_mb", 16),
        ("plugins.recycle_after", 1),
    ],
)
def test_integer_below_its_minimum(key: str, minimum: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {}, {key: minimum - 1})
    assert str(info.value) == (f"{key}: must be an integer of at least {minimum}, got {minimum - 1} (from command line)")


@pytest.mark.parametrize("key", ["idle_timeout", "frame_timeout"])
@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon"])
def test_timeout_not_a_positive_finite_number(key: str, text: str) -> None:
    variable = f"HSMD_SERVER_{key.upper()}"
    assert error_from_env({variable: text}) == (f'server.{key}: must be a number greater than 0, got "{text}" (from {variable})')


@pytest.mark.parametrize("text", ["0007-E00", "0007-E0000", "0007-E00\u00e9", "0007-E00\t"])
def test_firmware_number_not_nine_printable_ascii_characters(text: str) -> None:
    message = error_from_env({"HSMD_HSM_FIRMWARE_NUMBER": text})
    assert message.startswith("hsm.firmware_number: must be exactly 9 printable ASCII characters, got ")
    assert message.endswith("(from HSMD_HSM_FIRMWARE_NUMBER)")


def test_plugins_dir_empty() -> None:
    assert error_from_env({"HSMD_PLUGINS_DIR": ""}) == ('plugins.dir: must be a non-empty path, got "" (from HSMD_PLUGINS_DIR)')


def test_lmk_files_of_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, "[lmk]\nfiles = 1\n") == (
        f"lmk.files: must be a list of paths (comma-separated in the environment), got 1 (from {path})"
    )


def test_default_lmk_out_of_range() -> None:
    assert error_from_env({"HSMD_LMK_DEFAULT": "100"}) == (
        'lmk.default: must be an integer from 0 to 99, got "100" (from HSMD_LMK_DEFAULT)'
    )


def test_log_format_not_in_enum() -> None:
    assert error_from_env({"HSMD_LOGGING_FORMAT": "xml"}) == (
        'logging.format: must be one of "console", "json", got "xml" (from HSMD_LOGGING_FORMAT)'
    )


def test_log_level_not_in_enum() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {}, {"logging.level": "verbose"}, override_sources={})
    assert str(info.value) == ('logging.level: must be one of "debug", "info", "warning", "error", got "verbose" (from command line)')


def test_flag_errors_name_the_flag() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {}, {"server.port": "x"}, override_sources={"server.port": "--port"})
    assert str(info.value).endswith("(from --port)")


def test_unknown_key_in_file(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, "[server]\nprot = 1\n") == (f'server.prot: unknown key (from {path}); did you mean "port"?')


def test_unknown_section_in_file(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, "[sever]\nport = 1\n") == (f'sever: unknown section (from {path}); did you mean "[server]"?')


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    assert error_from_file(tmp_path, "server = 1\n") == (f"server: must be a table, got 1 (from {path})")


def test_unknown_key_in_env() -> None:
    assert error_from_env({"HSMD_SERVER_PROT": "1"}) == ('server.prot: unknown key (from HSMD_SERVER_PROT); did you mean "port"?')


def test_unknown_override_key() -> None:
    with pytest.raises(ConfigError, match=r"^server\.nope: unknown key \(from command line\)$"):
        load_config(None, {}, {"server.nope": 1})


def test_unknown_override_section() -> None:
    with pytest.raises(ConfigError, match=r"^nope\.port: unknown section"):
        load_config(None, {}, {"nope.port": 1})


def test_missing_explicit_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, {}, {})
    assert str(info.value) == f"config file {path}: not found"


def test_invalid_toml_is_reported_on_one_line(tmp_path: Path) -> None:
    message = error_from_file(tmp_path, "[server]\nport = = 1\n")
    assert message.startswith(f"config file {tmp_path / 'hsmd.toml'}: invalid TOML: ")
    assert "\n" not in message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hsmd.toml"
    path.write_bytes(b'[hsm]\nfirmware_number = "\xff"\n')
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path, {}, {})


def test_long_or_multiline_values_are_shown_on_one_short_line() -> None:
    message = error_from_env({"HSMD_LOGGING_LEVEL": "x\n" * 100})
    assert "\n" not in message
    assert len(message) < 160
