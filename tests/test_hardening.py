"""The server process cannot leave its LMKs in a core dump (issue 9: no secret in a core dump)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio

from hsmd import app
from hsmd.config import Config

_PROBE = """
import resource
from hsmd.hardening import forbid_core_dumps
print(forbid_core_dumps(), resource.getrlimit(resource.RLIMIT_CORE))
"""


def test_forbid_core_dumps_makes_the_process_non_dumpable_with_no_core_limit() -> None:
    # In a child: a non-dumpable pytest process would hide its own /proc files from tools.
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
    assert out == "True (0, 0)\n"


def test_serve_forbids_core_dumps_before_it_runs_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def forbid() -> bool:
        calls.append("forbid")
        return True

    def run(*args: object) -> int:
        calls.append("run")
        return 0

    monkeypatch.setattr(app, "forbid_core_dumps", forbid)
    monkeypatch.setattr(trio, "run", run)
    assert app.serve(Config()) == 0
    assert calls == ["forbid", "run"]
