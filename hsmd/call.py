"""``hsmd call``: one request with the blocking client, its answer printed for a person.

The output is one ``name  value`` line each for the response code, the error code with its
meaning, the fields (text when every byte is printable ASCII, else hex; always hex with
``--hex``) and the trailer if the request carried one; fields and trailer lines only when
there is something to show.  The exit status tells a script what happened (:data:`EXIT_CODES`,
also in ``hsmd call --help``).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:  # the client (and trio) load only when a call is made, not for `hsmd --help`
    import ssl

    from hsmd.client import Answer

__all__ = ["EXIT_CODES", "print_answer", "run"]

EXIT_OK: Final = 0
EXIT_ERROR_CODE: Final = 1
EXIT_USAGE: Final = 2
EXIT_CONNECT: Final = 3
EXIT_TIMEOUT: Final = 4
EXIT_BROKEN: Final = 5

EXIT_CODES: Final = f"""\
exit status:
  {EXIT_OK}  the answer's error code is 00
  {EXIT_ERROR_CODE}  the server answered with another error code (01, a verification failure, too)
  {EXIT_USAGE}  the invocation is wrong (bad arguments, unreadable certificate files)
  {EXIT_CONNECT}  no connection: refused, unreachable, TLS handshake failed, nothing on the UDP port
  {EXIT_TIMEOUT}  no answer within --timeout
  {EXIT_BROKEN}  the connection broke, or the answer is not one to this request (header, response code)
"""


def _printable(data: bytes) -> bool:
    return all(0x20 <= byte <= 0x7E for byte in data)


def _show(data: bytes, as_hex: bool) -> str:
    if as_hex:
        return data.hex().upper()
    return data.decode("ascii") if _printable(data) else f"(hex) {data.hex().upper()}"


def print_answer(answer: Answer, out: TextIO, *, as_hex: bool = False) -> None:
    out.write(f"response  {answer.response_code}\n")
    out.write(f"error     {answer.error_code}  {answer.meaning}\n")
    if answer.fields:
        out.write(f"fields    {_show(answer.fields, as_hex)}\n")
    if answer.trailer is not None:
        out.write(f"trailer   {_show(answer.trailer, as_hex)}\n")


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext:
    import ssl

    context = ssl.create_default_context(cafile=args.ca)  # no --ca: the system's trusted CAs
    if args.cert is not None:
        context.load_cert_chain(args.cert, args.key)
    return context


def _fail(text: str, status: int) -> int:
    print(f"hsmd call: {text}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    """Send ``args.code`` (+ ``args.fields``), print the answer; returns the exit status."""
    import ssl

    from hsmd.client import ClientError, ConnectFailed, Timeout, connect, connect_udp
    from hsmd.client.codec import address

    if len(args.code) != 2 or not args.code.isascii():
        return _fail(f"COMMAND is a 2-character command code, got {args.code!r}", EXIT_USAGE)
    if not args.tls and (args.ca or args.cert or args.key):
        return _fail("--ca, --cert and --key need --tls", EXIT_USAGE)
    if args.key and not args.cert:
        return _fail("--key is the private key of --cert: give both", EXIT_USAGE)
    if args.tls and args.udp:
        return _fail("--tls and --udp exclude each other", EXIT_USAGE)
    try:
        fields = bytes.fromhex(args.fields) if args.hex else args.fields.encode("ascii")
    except (ValueError, UnicodeEncodeError):
        kind = "hexadecimal (--hex)" if args.hex else "ASCII text (binary fields: --hex)"
        return _fail(f"FIELDS must be {kind}", EXIT_USAGE)
    try:
        tls = _tls_context(args) if args.tls else None
    except (OSError, ssl.SSLError) as exc:
        return _fail(f"cannot use the TLS files: {exc}", EXIT_USAGE)
    try:
        if args.udp:
            with connect_udp(args.host, args.port, header=args.header, timeout=args.timeout) as udp:
                answer = udp.call(args.code, fields)
        else:
            with connect(args.host, args.port, header=args.header, tls=tls, timeout=args.timeout) as client:
                answer = client.call(args.code, fields)
    except ConnectFailed as exc:
        return _fail(str(exc), EXIT_CONNECT)
    except Timeout:
        return _fail(f"no answer from {address(args.host, args.port)} within {args.timeout:g} s", EXIT_TIMEOUT)
    except ClientError as exc:
        return _fail(str(exc), EXIT_BROKEN)
    except ValueError as exc:  # a header longer than 32, a frame over 65535 bytes
        return _fail(str(exc), EXIT_USAGE)
    print_answer(answer, sys.stdout, as_hex=args.hex)
    return EXIT_OK if answer.ok else EXIT_ERROR_CODE
