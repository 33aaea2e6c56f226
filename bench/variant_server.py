"""hsmd's own Server class with parts swapped out, to attribute section 2's gap.

`--dispatch stub` answers like the bare server (no wasm) but through
hsmd.server.Server (reader/writer tasks, in-flight slots, per-answer send and
request log line); `--dispatch plugins` is hsmd's Dispatcher over the real
plugins. `--log-level warning` drops the per-request line at the cheapest point
(the filtering bound logger), `info` writes it as JSON to stderr like `hsmd serve`.

    python -m bench.variant_server --port 1502 --dispatch stub --log-level warning
"""

from __future__ import annotations

import argparse
from functools import partial

import trio

from bench.common import CACHE, FIRMWARE, PLUGINS, nc_fields
from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.logging import configure_logging
from hsmd.protocol import Frame
from hsmd.runtime import Limits, Runtime
from hsmd.server import Dispatcher as ServerDispatcher
from hsmd.server import Limits as ServerLimits
from hsmd.server import Server


class StubDispatcher:
    """The bare server's answers behind hsmd's Dispatcher interface."""

    def __init__(self) -> None:
        self._nc = b"00" + nc_fields()

    async def handle(self, frame: Frame) -> bytes:
        if frame.command == b"NC":
            return frame.reply_raw(self._nc)
        if frame.command == b"B2":
            return frame.reply(b"00", frame.body[4:])
        return frame.reply(b"68")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.variant_server", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--header-len", type=int, default=4)
    parser.add_argument("--dispatch", choices=("stub", "plugins"), required=True)
    parser.add_argument("--log-level", choices=("warning", "info"), required=True)
    args = parser.parse_args(argv)
    configure_logging("json", args.log_level)
    dispatcher: ServerDispatcher
    if args.dispatch == "plugins":
        from hsmd.dispatch import Dispatcher

        runtime = Runtime(Host(LmkSet({0: TEST_LMK}), FIRMWARE), Limits(), CACHE)
        plugins, _refused = runtime.load_dir(PLUGINS)
        dispatcher = Dispatcher(runtime, plugins)
    else:
        dispatcher = StubDispatcher()
    server = Server(dispatcher, header_len=args.header_len, limits=ServerLimits())
    # SIGTERM keeps Python's default action: this process is only ever killed.
    trio.run(partial(server.serve, "127.0.0.1", args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
