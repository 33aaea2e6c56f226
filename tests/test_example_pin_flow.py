"""The README's PIN and CVV flow (examples/pin_flow.py) runs against a real server and every step answers as it expects."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio

from examples import pin_flow
from hsmd.app import run
from tests.tcp import config_for

pytestmark = pytest.mark.wasm


async def test_the_readme_pin_flow_runs_end_to_end(built_plugins: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(run, config_for(built_plugins))
        host, port = bound[0]
        with trio.fail_after(60):
            await trio.to_thread.run_sync(pin_flow.main, host, port)
        signal.raise_signal(signal.SIGTERM)
    printed = capsys.readouterr().out
    assert "CY -> CZ01" in printed  # the wrong CVV
    assert printed.count("EA -> EB00") == 4 and printed.count("EC -> ED00") == 4 and printed.count("BE -> BF00") == 4
