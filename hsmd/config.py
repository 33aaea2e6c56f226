"""Typed server configuration: TOML file, then environment, then command-line flags.

Precedence is file < env < flags: each layer is validated on its own (a bad value is an
error even if a later layer would override it, so typos never hide) and then applied on
top of the built-in defaults.

- File: ``[section]`` tables with ``key = value``; unknown sections and keys are errors.
- Environment: ``HSMD_<SECTION>_<KEY>`` in upper case, e.g. ``HSMD_SERVER_PORT=1600``;
  the text is parsed to the field's type. ``HSMD_*`` variables that do not start with a
  known section are ignored (they may belong to something else); an unknown key inside a
  known section is an error.
- Flags: a mapping of dotted keys, ``{"server.port": 1600}``; values may be typed or text.

Every failure is a `ConfigError` whose ``str()`` is one line naming the key and where the
value came from, e.g. ``server.port: must be an integer from 1 to 65535, got "abc" (from
HSMD_SERVER_PORT)``. Relative paths are kept as given, i.e. relative to the server's
working directory.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hsmd.cpus import cpu_count

__all__ = [
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

LogFormat = Literal["console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
KeyTypeMode = Literal["non-pci", "pci"]
PinUnderLmk = Literal["encrypted", "simulator"]
DecimalisationTables = Literal["plaintext", "encrypted"]
MAX_WORKERS = 256


class ConfigError(Exception):
    """A configuration value is unusable; ``str()`` is one line for the operator."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 1500
    header_len: int = 4
    max_connections: int = 256
    idle_timeout: float = 300.0
    frame_timeout: float = 5.0
    max_in_flight: int = 32
    # Worker processes running the plugins ("auto": one per CPU, hsmd.cpus); 0 runs them in the server's own process.
    workers: int = field(default_factory=cpu_count)


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """The TLS host port: [server]'s framing, header length and limits, over TLS 1.2/1.3."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 2500  # a payShield 10K's TLS host port
    certificate: Path | None = None  # PEM: the server certificate (then any chain)
    private_key: Path | None = None  # PEM, unencrypted, not readable by other users
    client_ca: Path | None = None  # PEM CA bundle: set = mutual TLS (client certificate required)
    handshake_timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class UdpConfig:
    """The UDP host port: one request frame per datagram, one answer per datagram."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1500


@dataclass(frozen=True, slots=True)
class HsmConfig:
    firmware_number: str = "0007-E000"
    # Which key types exist and which LMK pair protects each (PCI HSM compliance mode or not).
    key_type_table: KeyTypeMode = "non-pci"
    # The authorised state: commands that carry a clear PIN (BA, NG) answer 17 without it.
    authorised: bool = False
    # "simulator": a PIN under the LMK is ThalesSim's "0" + clear PIN (replays its vectors; no secrecy).
    pin_under_lmk: PinUnderLmk = "encrypted"
    # Decimalisation tables arrive as 16 clear digits, or as 16 H encrypted under the LMK (pair 14-15 of a variant LMK).
    decimalisation_tables: DecimalisationTables = "plaintext"
    # The serial number the status commands (J2, J4, J8, JK) report: 12 printable characters.
    serial_number: str = "HSMD00000001"


@dataclass(frozen=True, slots=True)
class LmkConfig:
    # LMK files in identifier order: files[0] is LMK 00, files[1] LMK 01, ...
    files: tuple[Path, ...] = ()
    # The LMK a request uses when it carries no %nn identifier.
    default: int = 0
    # Built-in public test LMKs ("variant", "keyblock-3des", "keyblock-aes"), numbered after the files.
    # With no files and no test LMKs named, the variant test LMK is LMK 00.
    test_lmks: tuple[str, ...] = ()
    # Key change storage: key_change[n] is the file of LMK nn's old LMK (None: none), read by BW and BG.
    key_change: tuple[Path | None, ...] = ()


@dataclass(frozen=True, slots=True)
class PluginsConfig:
    dir: Path = Path("build/plugins")
    cache_dir: Path = Path("build/cache")
    fuel: int = 50_000_000
    deadline_ms: int = 1000
    memory_mb: int = 64
    recycle_after: int = 1000
    # Commands served by their C/C++ plugin from c_dir instead of the Python one in dir.
    c: tuple[str, ...] = ()
    c_dir: Path = Path("build/plugins-c")

    def c_files(self) -> dict[str, Path]:
        """Command -> the component that serves it in place of dir/<CMD>.wasm."""
        return {command: self.c_dir / f"{command}.wasm" for command in self.c}


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    format: LogFormat = "console"
    level: LogLevel = "info"


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The HTTP ops listener: health, readiness, metrics, plugins, and POST /run behind a token."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9500
    # The file holding POST /run's bearer token (owner-only); None: /run is off (404).
    token_file: Path | None = None
    max_body: int = 256 * 1024  # bytes of a request body; more is answered 413


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    udp: UdpConfig = field(default_factory=UdpConfig)
    hsm: HsmConfig = field(default_factory=HsmConfig)
    lmk: LmkConfig = field(default_factory=LmkConfig)
    plugins: PluginsConfig = field(default_factory=PluginsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    http: HttpConfig = field(default_factory=HttpConfig)


class _Invalid(Exception):
    """Raised by a rule's parser; turned into a `ConfigError` with key and source."""


@dataclass(frozen=True, slots=True)
class _Rule:
    must: str  # completes "<key>: must be ..."
    parse: Callable[[object, bool], object]  # (raw, raw_is_text) -> typed value


def _int_rule(lo: int, hi: int | None = None) -> _Rule:
    must = f"an integer from {lo} to {hi}" if hi is not None else f"an integer of at least {lo}"

    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str):
            stripped = raw.strip()
            try:
                # isascii: int() would otherwise accept non-ASCII digits such as "١".
                raw = int(stripped) if stripped.isascii() else None
            except ValueError:
                raise _Invalid from None
        # bool is an int subclass; `port = true` in TOML is a mistake, not 1.
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _Invalid
        if raw < lo or (hi is not None and raw > hi):
            raise _Invalid
        return raw

    return _Rule(must, parse)


def _positive_float_rule() -> _Rule:
    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise _Invalid from None
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            raise _Invalid
        value = float(raw)
        if not math.isfinite(value) or value <= 0:
            raise _Invalid
        return value

    return _Rule("a number greater than 0", parse)


def _choice_rule(*choices: str) -> _Rule:
    def parse(raw: object, text: bool) -> object:
        # Case-insensitive so HSMD_LOGGING_LEVEL=INFO works; stored lower-case.
        if not isinstance(raw, str) or raw.strip().lower() not in choices:
            raise _Invalid
        return raw.strip().lower()

    return _Rule("one of " + ", ".join(f'"{c}"' for c in choices), parse)


def _bool_rule() -> _Rule:
    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        if not isinstance(raw, bool):
            raise _Invalid
        return raw

    return _Rule("true or false", parse)


def _string_rule(must: str, ok: Callable[[str], bool]) -> _Rule:
    def parse(raw: object, text: bool) -> object:
        if not isinstance(raw, str) or not ok(raw):
            raise _Invalid
        return raw

    return _Rule(must, parse)


def _path_rule(*, empty_means_none: bool = False) -> _Rule:
    def parse(raw: object, text: bool) -> object:
        if isinstance(raw, Path):
            raw = str(raw)
        if not isinstance(raw, str) or "\0" in raw:
            raise _Invalid
        if raw == "":
            if empty_means_none:
                return None
            raise _Invalid
        return Path(raw)

    must = 'a path, or "" for none' if empty_means_none else "a non-empty path"
    return _Rule(must, parse)


def _path_list_rule(*, gaps: bool = False) -> _Rule:
    """A list of paths (with `gaps`, "" entries stand for none); from the environment or a flag,
    comma-separated text ("" = an empty list)."""

    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",")] if raw.strip() else []
        if not isinstance(raw, (list, tuple)) or not all(isinstance(p, (str, Path)) and "\0" not in str(p) for p in raw):
            raise _Invalid
        if not gaps and not all(str(p) for p in raw):
            raise _Invalid
        return tuple(Path(p) if str(p) else None for p in raw)

    must = 'a list of paths or "" for none' if gaps else "a list of paths"
    return _Rule(must + " (comma-separated in the environment)", parse)


def _choice_list_rule(*choices: str) -> _Rule:
    """A list of distinct choices; from the environment or a flag, comma-separated text ("" = none)."""

    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",")] if raw.strip() else []
        if not isinstance(raw, (list, tuple)) or not all(isinstance(c, str) and c in choices for c in raw) or len(set(raw)) != len(raw):
            raise _Invalid
        return tuple(raw)

    return _Rule("a list of distinct values among " + ", ".join(f'"{c}"' for c in choices) + " (comma-separated in the environment)", parse)


def _command_list_rule() -> _Rule:
    """A list of distinct two-character command codes (upper-case letters and digits); comma-separated text ("" = none)."""

    def parse(raw: object, text: bool) -> object:
        if text and isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",")] if raw.strip() else []
        if not isinstance(raw, (list, tuple)) or len(set(raw)) != len(raw):
            raise _Invalid
        if not all(isinstance(c, str) and len(c) == 2 and all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for ch in c) for c in raw):
            raise _Invalid
        return tuple(raw)

    return _Rule('a list of distinct two-character command codes, e.g. ["B2", "BU"] (comma-separated in the environment)', parse)


def _workers_rule() -> _Rule:
    ints = _int_rule(0, MAX_WORKERS)

    def parse(raw: object, text: bool) -> object:
        if isinstance(raw, str) and raw.strip().lower() == "auto":
            return cpu_count()
        return ints.parse(raw, text)

    return _Rule(f'"auto" (one per CPU) or an integer from 0 to {MAX_WORKERS}', parse)


def _is_host(value: str) -> bool:
    return bool(value) and not any(c.isspace() for c in value)


def _is_firmware_number(value: str) -> bool:
    # The NC response carries exactly 9 characters; printable ASCII keeps the frame ASCII.
    return len(value) == 9 and all(" " <= c <= "~" for c in value)


_RULES: dict[str, dict[str, _Rule]] = {
    "server": {
        "host": _string_rule("a non-empty host name or address without spaces", _is_host),
        "port": _int_rule(1, 65535),
        "header_len": _int_rule(0, 32),
        "max_connections": _int_rule(1),
        "idle_timeout": _positive_float_rule(),
        "frame_timeout": _positive_float_rule(),
        "max_in_flight": _int_rule(1),
        "workers": _workers_rule(),
    },
    "tls": {
        "enabled": _bool_rule(),
        "host": _string_rule("a non-empty host name or address without spaces", _is_host),
        "port": _int_rule(1, 65535),
        "certificate": _path_rule(empty_means_none=True),
        "private_key": _path_rule(empty_means_none=True),
        "client_ca": _path_rule(empty_means_none=True),
        "handshake_timeout": _positive_float_rule(),
    },
    "udp": {
        "enabled": _bool_rule(),
        "host": _string_rule("a non-empty host name or address without spaces", _is_host),
        "port": _int_rule(1, 65535),
    },
    "hsm": {
        "firmware_number": _string_rule("exactly 9 printable ASCII characters", _is_firmware_number),
        "key_type_table": _choice_rule("non-pci", "pci"),
        "authorised": _bool_rule(),
        "pin_under_lmk": _choice_rule("encrypted", "simulator"),
        "decimalisation_tables": _choice_rule("plaintext", "encrypted"),
        "serial_number": _string_rule("exactly 12 printable ASCII characters", lambda v: len(v) == 12 and all(" " <= c <= "~" for c in v)),
    },
    "lmk": {
        "files": _path_list_rule(),
        "default": _int_rule(0, 99),
        "test_lmks": _choice_list_rule("variant", "keyblock-3des", "keyblock-aes"),
        "key_change": _path_list_rule(gaps=True),
    },
    "plugins": {
        "dir": _path_rule(),
        "cache_dir": _path_rule(),
        "fuel": _int_rule(1),
        "deadline_ms": _int_rule(1),
        "memory_mb": _int_rule(16),
        "recycle_after": _int_rule(1),
        "c": _command_list_rule(),
        "c_dir": _path_rule(),
    },
    "logging": {
        "format": _choice_rule("console", "json"),
        "level": _choice_rule("debug", "info", "warning", "error"),
    },
    "http": {
        "enabled": _bool_rule(),
        "host": _string_rule("a non-empty host name or address without spaces", _is_host),
        "port": _int_rule(1, 65535),
        "token_file": _path_rule(empty_means_none=True),
        "max_body": _int_rule(1024, 16 * 1024 * 1024),
    },
}

_ENV_PREFIX = "HSMD_"

Values = dict[str, dict[str, Any]]


def _show(value: object) -> str:
    """Render an offending value on one line, TOML-like, shortened if long."""
    try:
        shown = json.dumps(value, default=str, ensure_ascii=True)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _unknown_key(section: str, key: str, source: str) -> ConfigError:
    hint = difflib.get_close_matches(key, _RULES[section], n=1)
    suffix = f'; did you mean "{hint[0]}"?' if hint else ""
    return ConfigError(f"{section}.{key}: unknown key (from {source}){suffix}")


def _set(values: Values, section: str, key: str, raw: object, text: bool, source: str) -> None:
    rule = _RULES[section][key]
    try:
        values[section][key] = rule.parse(raw, text)
    except _Invalid:
        raise ConfigError(f"{section}.{key}: must be {rule.must}, got {_show(raw)} (from {source})") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as e:
        message = " ".join(str(e).split())
        raise ConfigError(f"config file {path}: invalid TOML: {message}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: invalid TOML: not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot read: {e.strerror or e}") from None


def _apply_file(values: Values, path: Path) -> None:
    source = str(path)
    for section, table in _read_file(path).items():
        if section not in _RULES:
            hint = difflib.get_close_matches(section, _RULES, n=1)
            suffix = f'; did you mean "[{hint[0]}]"?' if hint else ""
            raise ConfigError(f"{section}: unknown section (from {source}){suffix}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: must be a table, got {_show(table)} (from {source})")
        for key, raw in table.items():
            if key not in _RULES[section]:
                raise _unknown_key(section, key, source)
            _set(values, section, key, raw, False, source)


def _apply_env(values: Values, env: Mapping[str, str]) -> None:
    # Sorted so that, with several bad variables, the reported one is deterministic.
    for name in sorted(env):
        if not name.startswith(_ENV_PREFIX):
            continue
        rest = name[len(_ENV_PREFIX) :]
        for section, rules in _RULES.items():
            prefix = section.upper() + "_"
            if rest.startswith(prefix):
                key = rest[len(prefix) :].lower()
                if key not in rules:
                    raise _unknown_key(section, key, name)
                _set(values, section, key, env[name], True, name)
                break


def _apply_overrides(values: Values, overrides: Mapping[str, object], sources: Mapping[str, str]) -> None:
    for dotted, raw in overrides.items():
        source = sources.get(dotted, "command line")
        section, _, key = dotted.partition(".")
        if section not in _RULES:
            raise ConfigError(f"{dotted}: unknown section (from {source})")
        if key not in _RULES[section]:
            raise _unknown_key(section, key, source)
        _set(values, section, key, raw, isinstance(raw, str), source)


def load_config(
    path: Path | None,
    env: Mapping[str, str],
    overrides: Mapping[str, object],
    *,
    override_sources: Mapping[str, str] | None = None,
) -> Config:
    """Build the configuration: defaults, then *path*, then *env*, then *overrides*.

    *path* None means no file. *override_sources* optionally names where each dotted
    override came from (e.g. ``{"server.port": "--port"}``) for error messages.
    Raises `ConfigError` on the first bad value.
    """
    values: Values = {section: {} for section in _RULES}
    if path is not None:
        _apply_file(values, path)
    _apply_env(values, env)
    _apply_overrides(values, overrides, override_sources or {})
    default = Config()
    return Config(
        server=replace(default.server, **values["server"]),
        tls=replace(default.tls, **values["tls"]),
        udp=replace(default.udp, **values["udp"]),
        hsm=replace(default.hsm, **values["hsm"]),
        lmk=replace(default.lmk, **values["lmk"]),
        plugins=replace(default.plugins, **values["plugins"]),
        logging=replace(default.logging, **values["logging"]),
        http=replace(default.http, **values["http"]),
    )
