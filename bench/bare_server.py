"""The floor for section 2: a trio server with hsmd's framing and nothing else.

Same codec (hsmd.protocol.FrameDecoder), same trio; no plugins, no logging, no
per-connection reader/writer tasks, no limits. NC answers ND00 + a fixed
check value and firmware number, B2 echoes its data, a command given with
`--answer CMD=PAYLOAD` answers that fixed payload (error code + fields, e.g. a
valid A0 key generated once by the caller), anything else 68.
`--per-frame` sends each answer with its own send_all (as hsmd does) instead
of one send per received chunk, to separate that cost in a diagnosis.

    python -m bench.bare_server --port 1501 --nc-fields 0123456789ABCDEF0007-E000 --answer BU=006F1E3F74F826B7EB
"""

from __future__ import annotations

import argparse
from functools import partial

import trio

from hsmd.protocol import NEED_DATA, FrameDecoder, ShortFrame, encode


async def _serve_conn(stream: trio.SocketStream, *, header_len: int, nc_payload: bytes, fixed: dict[bytes, bytes], per_frame: bool) -> None:
    decoder = FrameDecoder(header_len)
    try:
        while data := await stream.receive_some(65536):
            decoder.receive_data(data)
            out = bytearray()
            while (event := decoder.next_event()) is not NEED_DATA:
                if isinstance(event, ShortFrame):
                    answer = event.message
                elif (payload := fixed.get(event.command)) is not None:
                    answer = event.reply_raw(payload)
                elif event.command == b"NC":
                    answer = event.reply_raw(nc_payload)
                elif event.command == b"B2":
                    answer = event.reply(b"00", event.body[4:])
                else:
                    answer = event.reply(b"68")
                if per_frame:
                    await stream.send_all(encode(answer))
                else:
                    out += encode(answer)
            if out:
                await stream.send_all(out)
    except trio.BrokenResourceError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_server", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--header-len", type=int, default=4)
    parser.add_argument("--nc-fields", required=True, help="what NC answers after its 00 error code")
    parser.add_argument(
        "--answer", action="append", default=[], metavar="CMD=PAYLOAD", help="answer command CMD with PAYLOAD (ASCII, error code first)"
    )
    parser.add_argument("--per-frame", action="store_true")
    args = parser.parse_args(argv)
    fixed = {}
    for spec in args.answer:
        command, sep, payload = spec.partition("=")
        if not sep or len(command) != 2:
            parser.error(f"--answer {spec!r} is not CMD=PAYLOAD")
        fixed[command.encode("ascii")] = payload.encode("ascii")
    handler = partial(
        _serve_conn,
        header_len=args.header_len,
        nc_payload=b"00" + args.nc_fields.encode("ascii"),
        fixed=fixed,
        per_frame=args.per_frame,
    )
    # SIGTERM keeps Python's default action (exit at once): nothing here needs draining.
    trio.run(partial(trio.serve_tcp, handler, args.port, host="127.0.0.1"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
