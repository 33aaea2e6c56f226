"""Known answers over a real socket: serve a plugin directory with hsmd.app.run and exchange frames."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import trio

from hsmd.app import run
from hsmd.client import open_trio
from hsmd.config import Config
from tests.conftest import CACHE

HEADER = b"HEAD"


def config_for(plugins: Path) -> Config:
    default = Config()
    return replace(
        default,
        server=replace(default.server, host="127.0.0.1", port=0, header_len=len(HEADER), workers=0),  # in-process: the fast path
        plugins=replace(default.plugins, dir=plugins, cache_dir=CACHE),
    )


@asynccontextmanager
async def serving_plugins(plugins: Path, config: Config | None = None) -> AsyncIterator[tuple[str, int]]:
    """hsmd.app.run serving ``plugins`` (with ``config``, default :func:`config_for`) until the
    block ends; yields its TCP (host, port)."""
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(run, config or config_for(plugins))
        yield bound[0]
        signal.raise_signal(signal.SIGTERM)  # run() drains and returns


async def exchange(plugins: Path, *requests: bytes) -> list[bytes]:
    """Send HEAD + each request pipelined on one connection; the answers without header, in order.

    The answers as sent: a binary field (N0's random bytes) may hold 0x19 and read as a trailer.
    The client checks each answer's header and response code.
    """
    async with serving_plugins(plugins) as (host, port), await open_trio(host, port, header=HEADER) as client:
        answers = await client.pipeline(requests)
    return [answer.raw[len(HEADER) :] for answer in answers]
