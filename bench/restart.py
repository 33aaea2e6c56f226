"""Section 3: warm restart, spawn -> READY=1 on a NOTIFY_SOCKET we own, then SIGTERM -> exit.

The bench plays systemd: it binds the AF_UNIX datagram socket, passes its path
in NOTIFY_SOCKET and timestamps the datagrams. The compile cache must already
hold both plugins (section 1 or a previous run filled it), so this measures
interpreter start, imports, cache deserialisation, instantiation and bind.

Two kinds of run. "Served": after READY a client connects, gets one NC
answer and stays connected while SIGTERM is sent; that stop time and exit
code are the figures. "Immediate": SIGTERM as soon as READY=1 arrives, as
systemd may do when a stop is queued behind the start; READY promises the
unit is up, so this must exit 0 too.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import HEADER, HSMD, LOCALHOST, PYTHON, ROOT, Report, Row, free_port, hsmd_env, median, nc_fields, verdict
from hsmd.client import Client, connect

READY_TARGET_S = 3.0


def _receive_until(sock: socket.socket, marker: bytes, deadline: float, proc: subprocess.Popen[bytes]) -> float:
    """Wait for a datagram holding `marker` as one of its lines; returns its arrival time."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"no {marker.decode()} before the deadline")
        sock.settimeout(min(left, 0.5))
        try:
            datagram = sock.recv(4096)
        except TimeoutError:
            if proc.poll() is not None:
                raise RuntimeError(f"hsmd exited with {proc.returncode} before {marker.decode()}") from None
            continue
        if marker in datagram.split(b"\n"):
            return time.monotonic()


def _nc(port: int) -> Client:
    """One NC round trip on a new connection, which is returned still open."""
    client = connect(LOCALHOST, port, header=HEADER, timeout=10)
    answer = client.call("NC")
    if answer.raw != HEADER + b"ND00" + nc_fields():
        client.close()
        raise RuntimeError(f"NC after READY answered {answer.raw!r}")
    return client


def _one(tmp: Path, index: int, *, serve_first: bool) -> dict[str, Any]:
    path = tmp / f"notify-{index}.sock"
    port = free_port()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, (tmp / f"restart-{index}.log").open("wb") as log:
        sock.bind(str(path))
        env = hsmd_env(port, NOTIFY_SOCKET=str(path))
        spawned = time.monotonic()
        proc = subprocess.Popen([str(HSMD), "serve"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        client = None
        result: dict[str, Any] = {}
        try:
            ready = _receive_until(sock, b"READY=1", spawned + 60, proc)
            result["ready_s"] = ready - spawned
            if serve_first:
                client = _nc(port)
                result["first_answer_ms"] = (time.monotonic() - ready) * 1000
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            result["exit_code"] = proc.wait(timeout=30)
            result["stop_s"] = time.monotonic() - signalled
        finally:
            if client is not None:
                client.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return result


def _imports_only() -> float:
    """Baseline: spawn -> exit of an interpreter that only imports what `hsmd serve` imports.

    os._exit skips interpreter teardown, which READY does not wait for either.
    """
    started = time.monotonic()
    subprocess.run([str(PYTHON), "-c", "import os, hsmd.cli, hsmd.app; os._exit(0)"], cwd=ROOT, check=True)
    return time.monotonic() - started


def run(report: Report, runs: int) -> None:
    with (
        report.section("restart", f"3. Warm restart to READY ({runs} served + {runs} immediate-stop runs, compile cache warm)") as out,
        tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp,
    ):
        served = [_one(Path(tmp), i, serve_first=True) for i in range(runs)]
        immediate = [_one(Path(tmp), runs + i, serve_first=False) for i in range(runs)]
        imports = median([_imports_only() for _ in range(runs)])
        ready = median([r["ready_s"] for r in served + immediate])
        stopped = median([r["stop_s"] for r in served])
        codes = [r["exit_code"] for r in served]
        race_codes = [r["exit_code"] for r in immediate]
        ok = ready <= READY_TARGET_S
        out.update(
            served=served,
            immediate=immediate,
            imports_only_median_s=imports,
            ready_median_s=ready,
            stop_median_s=stopped,
            target_s=READY_TARGET_S,
            target_met=ok,
        )
        every = served + immediate
        print("   spawn -> READY=1:   " + "  ".join(f"{r['ready_s']:.2f}" for r in every) + f" s   median {ready:.2f} s")
        print(f"   baseline, python importing hsmd.app and exiting: {imports:.2f} s -> READY is {ready / imports:.1f}x that")
        print("   READY -> NC answer: " + "  ".join(f"{r['first_answer_ms']:.1f}" for r in served) + " ms")
        print("   SIGTERM -> exit:    " + "  ".join(f"{r['stop_s'] * 1000:.0f}" for r in served) + f" ms   exit codes {codes}")
        print(f"   SIGTERM at READY:   exit codes {race_codes} (negative: killed by the signal, no graceful stop)")
        print(f"   target: READY ≤ {READY_TARGET_S:.0f} s -> {ready:.2f} s: {verdict(ok)}; exit code 0: {verdict(set(codes) == {0})}")
        report.row(
            Row(
                "warm restart to READY (median)",
                f"{ready:.2f} s",
                f"imports {imports:.2f} s",
                f"{ready / imports:.1f}x",
                f"≤ {READY_TARGET_S:.0f} s",
                verdict(ok),
            )
        )
        report.row(Row("SIGTERM to exit (median)", f"{stopped * 1000:.0f} ms", "", "", "exit code 0", verdict(set(codes) == {0})))
        report.row(Row("SIGTERM right at READY", f"exit {race_codes}", "", "", "exit code 0", verdict(set(race_codes) == {0})))
