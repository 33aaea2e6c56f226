"""Known answers over a real socket: serve a plugin directory with hsmd.app.run and exchange frames."""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import trio

from hsmd.app import run
from hsmd.config import Config
from hsmd.protocol import NEED_DATA, Frame, FrameDecoder, ShortFrame, encode
from tests.conftest import CACHE

HEADER = b"HEAD"


def config_for(plugins: Path) -> Config:
    default = Config()
    return replace(
        default,
        server=replace(default.server, host="127.0.0.1", port=0, header_len=len(HEADER)),
        plugins=replace(default.plugins, dir=plugins, cache_dir=CACHE),
    )


async def exchange(plugins: Path, *requests: bytes) -> list[bytes]:
    """Send HEAD + each request pipelined on one connection; the answers without header, in order."""
    answers: list[bytes] = []
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(run, config_for(plugins))
        host, port = bound[0]
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(b"".join(encode(HEADER + r) for r in requests))
            decoder = FrameDecoder(len(HEADER))
            with trio.fail_after(10):
                while len(answers) < len(requests):
                    event = decoder.next_event()
                    if event is NEED_DATA:
                        decoder.receive_data(await stream.receive_some())
                    elif isinstance(event, Frame):
                        assert event.header == HEADER
                        # The answer as sent: a binary field (N0's random bytes) may hold 0x19 and read as a trailer.
                        trailer = b"" if event.trailer is None else b"\x19" + event.trailer
                        answers.append(event.command + event.body + trailer)
                    else:
                        assert isinstance(event, ShortFrame)
                        raise AssertionError(f"unexpected short frame {event}")
        signal.raise_signal(signal.SIGTERM)  # run() drains and returns
    return answers
