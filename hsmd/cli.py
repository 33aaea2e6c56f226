"""The ``hsmd`` command line: ``serve`` and ``plugins list``.

Configuration comes from ``--config`` (else ``./hsmd.toml`` if present, else built-in
defaults), then ``HSMD_*`` environment variables, then the flags given here. The server
itself lives in ``hsmd.app``, imported only when a subcommand needs it so that ``--help``
and config errors stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO, cast

from hsmd.config import Config, ConfigError, load_config
from hsmd.logging import configure_logging

__all__ = ["PluginInfo", "main"]

DEFAULT_CONFIG = Path("hsmd.toml")

EXIT_CONFIG_ERROR = 2  # same as argparse's usage errors: the invocation is wrong


class PluginInfo(Protocol):
    """What ``plugins list`` needs of ``hsmd.app.PluginInfo`` (read-only fields)."""

    @property
    def command(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def contract(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def path(self) -> str: ...


class _App(Protocol):
    """The contract of ``hsmd.app``, typed here so this module does not import it."""

    def serve(self, config: Config) -> int: ...
    def list_plugins(self, config: Config) -> Sequence[PluginInfo]: ...


def _app() -> _App:
    return cast("_App", importlib.import_module("hsmd.app"))


# (flag, dotted config key, help) for every flag that overrides a config key.
_SERVE_FLAGS = (
    ("--host", "server.host", "address to listen on"),
    ("--port", "server.port", "TCP port to listen on"),
    ("--header-len", "server.header_len", "length of the echoed message header"),
    ("--plugins-dir", "plugins.dir", "directory of plugin components"),
    ("--log-format", "logging.format", "console or json"),
    ("--log-level", "logging.level", "debug, info, warning or error"),
)
_PLUGINS_FLAGS = tuple(f for f in _SERVE_FLAGS if f[1] == "plugins.dir")

_EPILOG = """\
examples:
  hsmd serve                              serve with ./hsmd.toml or the defaults
  hsmd --config /etc/hsmd/hsmd.toml serve --port 1600 --log-format json
  HSMD_SERVER_PORT=1600 hsmd serve        any key as HSMD_<SECTION>_<KEY>
  hsmd plugins list --json                the loaded commands and why any was refused
  hsmd call NC                            send a command to the server on 127.0.0.1:1500

precedence: config file < HSMD_* environment variables < command-line flags.
"""


def _version() -> str:
    try:
        return importlib.metadata.version("hsmd")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _add_config_flag(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        default=default,
        help="TOML configuration file (default: ./hsmd.toml if it exists, else built-in defaults)",
    )


def _add_override_flags(parser: argparse.ArgumentParser, flags: Sequence[tuple[str, str, str]]) -> None:
    group = parser.add_argument_group("configuration overrides")
    for flag, key, text in flags:
        # Values stay text: config validation parses them and names the flag on error.
        group.add_argument(
            flag,
            dest=key,
            metavar="VALUE",
            default=argparse.SUPPRESS,
            help=f"{text} ({key})",
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (public so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="hsmd",
        description="A Thales payShield-compatible HSM server whose host commands are WebAssembly plugins.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_flag(parser, default=None)
    parser.add_argument("--version", action="version", version=f"hsmd {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the HSM server",
        description="Listen for payShield host commands over TCP until SIGTERM/SIGINT; SIGHUP reloads the plugins.",
    )
    # Also accepted after the subcommand (`hsmd serve --config X`); SUPPRESS keeps a
    # global --config given before it.
    _add_config_flag(serve, default=argparse.SUPPRESS)
    _add_override_flags(serve, _SERVE_FLAGS)

    plugins = commands.add_parser(
        "plugins",
        help="inspect plugins",
        description="Inspect the host-command plugins.",
    )
    plugin_commands = plugins.add_subparsers(dest="plugins_command", metavar="COMMAND", required=True)
    listing = plugin_commands.add_parser(
        "list",
        help="list plugins and whether they load",
        description="List each plugin found in plugins.dir: command code, version, "
        "contract (WIT) version, status (ok or why it was refused) and path.",
    )
    _add_config_flag(listing, default=argparse.SUPPRESS)
    _add_override_flags(listing, _PLUGINS_FLAGS)
    listing.add_argument("--json", action="store_true", help="print a JSON array")

    lmk = commands.add_parser("lmk", help="manage LMK files", description="Create and inspect LMK files.")
    lmk_commands = lmk.add_subparsers(dest="lmk_command", metavar="COMMAND", required=True)
    generate = lmk_commands.add_parser(
        "generate",
        help="write a new random LMK file and print its check value",
        description="Write a new random LMK to FILE, created with mode 0600 (an existing file is never "
        "overwritten), and print its check value: a variant LMK (20 double-length pairs, odd parity), a "
        "3DES key-block LMK (one triple-length key, odd parity) or an AES key-block LMK (AES-256). "
        "Name the file in [lmk] files to load it.",
    )
    generate.add_argument("file", type=Path, metavar="FILE")
    generate.add_argument(
        "--kind",
        choices=("variant", "keyblock-3des", "keyblock-aes"),
        default="variant",
        help="the kind of LMK (default: variant)",
    )
    dectable = lmk_commands.add_parser(
        "dectable",
        help="encrypt a decimalisation table under an LMK",
        description="Print TABLE (16 digits) encrypted under the configured LMK (pair 14-15 of a variant LMK) (--lmk-id, "
        'default [lmk] default), as IBM 3624 commands take it when [hsm] decimalisation_tables = "encrypted".',
    )
    dectable.add_argument("table", metavar="TABLE")
    dectable.add_argument("--lmk-id", type=int, default=None, help="LMK identifier (00-99)")
    _add_call_parser(commands)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _add_call_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hsmd.call import EXIT_CODES  # light: the client itself loads only to make a call

    call = commands.add_parser(
        "call",
        help="send one host command and print its answer",
        description="Send COMMAND with FIELDS to a payShield-protocol server (hsmd or a real unit) and print the\n"
        "answer: response code, error code with its meaning, fields. The header is the client's: it must\n"
        "be as long as the server's header_len (hsmd.toml's default is 4, hence the default 0000).",
        epilog="examples:\n  hsmd call NC\n  hsmd call B2 0005hello\n  hsmd call --tls --ca ca.pem NC\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("code", metavar="COMMAND", help="the 2-character command code, e.g. NC")
    call.add_argument("fields", metavar="FIELDS", nargs="?", default="", help="the request's fields, as text (hex with --hex)")
    call.add_argument("--host", default="127.0.0.1", help="server address (default: 127.0.0.1)")
    call.add_argument("--port", type=int, default=None, help="server port (default: 1500; 2500 with --tls)")
    call.add_argument("--header", default="0000", help="message header, echoed by the server (default: 0000)")
    call.add_argument("--timeout", type=_positive_seconds, default=10.0, metavar="S", help="seconds to wait for the server (default: 10)")
    call.add_argument("--hex", action="store_true", help="FIELDS in hex, and the answer's fields printed in hex")
    call.add_argument("--udp", action="store_true", help="one datagram each way instead of a TCP connection")
    tls = call.add_argument_group("TLS")
    tls.add_argument("--tls", action="store_true", help="connect with TLS, checking the server's certificate")
    tls.add_argument("--ca", metavar="FILE", help="CA certificates to check the server against (default: the system's)")
    tls.add_argument("--cert", metavar="FILE", help="client certificate, for servers that require one (mutual TLS)")
    tls.add_argument("--key", metavar="FILE", help="the client certificate's private key, unless it is in --cert")


def _load(args: argparse.Namespace, flags: Sequence[tuple[str, str, str]]) -> Config:
    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    given = vars(args)
    overrides = {key: given[key] for _, key, _ in flags if key in given}
    sources = {key: flag for flag, key, _ in flags}
    config = load_config(path, os.environ, overrides, override_sources=sources)
    configure_logging(config.logging.format, config.logging.level)
    return config


def _print_table(infos: Sequence[PluginInfo], out: TextIO) -> None:
    header = ("COMMAND", "VERSION", "CONTRACT", "STATUS", "PATH")
    rows = [header] + [(i.command, i.version, i.contract, i.status, i.path) for i in infos]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]) + "\n")


def _plugins_list(args: argparse.Namespace) -> int:
    config = _load(args, _PLUGINS_FLAGS)
    # The table is the output; per-plugin "loaded" lines would only repeat it. Refusals still log.
    configure_logging(config.logging.format, "warning")
    infos = _app().list_plugins(config)
    if args.json:
        fields = ("command", "version", "contract", "status", "path")
        rows = [{name: getattr(info, name) for name in fields} for info in infos]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif infos:
        _print_table(infos, sys.stdout)
    else:
        print(f"no plugins in {config.plugins.dir}", file=sys.stderr)
    return 0


def _lmk_generate(args: argparse.Namespace) -> int:
    from hsmd.host.lmk_file import LmkKind, generate_lmk, write_lmk_file

    lmk = generate_lmk(cast("LmkKind", args.kind))
    try:
        write_lmk_file(args.file, lmk)
    except OSError as exc:
        print(f"hsmd: cannot create {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{args.file}: LMK check value {lmk.check_value}")
    return 0


def _lmk_dectable(args: argparse.Namespace) -> int:
    from hsmd.app import build_host
    from hsmd.host.errors import HostError

    config = _load(args, ())
    try:
        print(build_host(config).encrypt_dectable(args.table, args.lmk_id))
    except HostError as exc:
        print(f"hsmd: {exc.reason}", file=sys.stderr)
        return 1
    return 0


def _call(args: argparse.Namespace) -> int:
    from hsmd.call import run
    from hsmd.client import DEFAULT_PORT, DEFAULT_TLS_PORT

    if args.port is None:
        args.port = DEFAULT_TLS_PORT if args.tls else DEFAULT_PORT
    return run(args)


def _serve(args: argparse.Namespace) -> int:
    config = _load(args, _SERVE_FLAGS)
    return _app().serve(config)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "lmk":
            return _lmk_dectable(args) if args.lmk_command == "dectable" else _lmk_generate(args)
        if args.command == "call":
            return _call(args)
        return _plugins_list(args)
    except ConfigError as e:
        print(f"hsmd: config error: {e}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
