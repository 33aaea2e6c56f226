"""Section 2e: worker processes ([server] workers), in one run.

a. Throughput: NC and CA through `hsmd serve` with 1 worker and with N (one per CPU), the
   load of section 2 (connections x pipelined window); requests/s, p50/p99 and the server's
   CPU per request, summed over the main process and its workers (bench.tcp.cpu_seconds).
   workers = 0 (the plugins in the server's own process) is the baseline.
b. Head-of-line blocking: the p50/p99 of NC sent one at a time on one connection, alone and
   while another connection runs ZF L requests (the faulty test plugin looping until its
   1 s deadline), one after another; for workers = 0 and workers = N.

What a 2-core machine can show: N = 2 workers and the main process share 2 cores with the
load generator, so requests/s cannot grow with N the way it would with cores to spare; the
server CPU per request shows what a worker costs (the channel's system calls and wake-ups),
beside the floor of that cost measured in the same run (a blocking round trip between two
bare processes over the same kind of socket pair: on a virtual machine each wake-up of a
sleeping process is tens of µs of CPU), and section b what workers are for (NC stays fast while a worker is stuck), which does not
depend on the core count as long as one worker is free.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CACHE,
    HEADER,
    HSMD,
    LOCALHOST,
    PLUGINS,
    ROOT,
    Report,
    Row,
    free_port,
    hsmd_env,
    key_answers,
    percentile,
    stop,
    verdict,
    wait_listening,
)
from bench.tcp import Settings, Workload, load, workloads
from hsmd.cpus import cpu_count

P99_TARGET_US = 10_000.0  # NC on one connection while another runs deadline-bound requests
BUILD_TEST_PLUGINS = ROOT / "build" / "test-plugins"  # where the tests build their test plugins (tests/conftest.py)
ZF_TEST_PLUGIN = "ZF.wasm"


def _plugin_dir(tmp: Path) -> Path:
    """NC, CA and ZF (the faulty test plugin, built like the tests build it if it is missing)."""
    zf = BUILD_TEST_PLUGINS / ZF_TEST_PLUGIN
    if not zf.exists():
        from plugingen import build

        print("   building the ZF test plugin ...", flush=True)
        found = build.discover(
            ROOT / "tests" / "plugins" / "commands", BUILD_TEST_PLUGINS, root=ROOT, stage_dir=ROOT / "build" / "test-stage"
        )
        build.build(found, jobs=2, stream=sys.stderr, cache_dir=CACHE)
    directory = tmp / "plugins"
    directory.mkdir()
    for wasm in (PLUGINS / "NC.wasm", PLUGINS / "CA.wasm", zf):
        (directory / wasm.name).symlink_to(wasm.resolve())
    return directory


def _start(tmp: Path, plugins: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    # Fuel to spare, so ZF L runs until its deadline (1 s), as a slow host function would.
    env = hsmd_env(port, HSMD_PLUGINS_DIR=str(plugins), HSMD_SERVER_WORKERS=str(workers), HSMD_PLUGINS_FUEL=str(10**12))
    with (tmp / f"hsmd-{workers}.log").open("ab") as log:
        proc = subprocess.Popen([str(HSMD), "serve"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    wait_listening(port, proc, timeout=120)
    return proc, port


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


def _call(sock: socket.socket, message: bytes) -> bytes:
    sock.sendall(_frame(HEADER + message))
    data = b""
    while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("hsmd closed the connection")
        data += chunk
    return data[2 + len(HEADER) :]


def _nc_latency(port: int, seconds: float, *, slow: bool) -> dict[str, Any]:
    """NC one at a time for `seconds` on one connection; with `slow`, ZF L one after another on another."""
    stop_slow = threading.Event()
    slow_answers: list[bytes] = []

    def run_slow() -> None:
        with socket.create_connection((LOCALHOST, port)) as sock:
            while not stop_slow.is_set():
                slow_answers.append(_call(sock, b"ZFL"))

    thread = threading.Thread(target=run_slow, daemon=True) if slow else None
    times: list[float] = []
    with socket.create_connection((LOCALHOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(50):
            _call(sock, b"NC")
        if thread is not None:
            thread.start()
            time.sleep(0.3)  # the first ZF L is running
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            answer = _call(sock, b"NC")
            times.append(time.perf_counter() - started)
            if answer[:4] != b"ND00":
                raise RuntimeError(f"NC answered {answer[:4]!r}")
    if thread is not None:
        stop_slow.set()
        thread.join(timeout=5)
    times.sort()
    return {
        "requests": len(times),
        "p50_us": percentile(times, 50) * 1e6,
        "p99_us": percentile(times, 99) * 1e6,
        "max_us": times[-1] * 1e6,
        "slow_requests": len(slow_answers),
        "slow_answers_41": sum(answer[:4] == b"ZG41" for answer in slow_answers),
    }


def _channel_floor(rounds: int = 20_000, size: int = 100) -> dict[str, float]:
    """A blocking round trip between two processes over a SOCK_SEQPACKET pair, as the worker channel
    makes one per request: the p50 and the CPU time of both processes per round trip. The child
    echoes each message with a blocking receive, so each round trip wakes both sides, as a worker
    that waits for its next request and a main process that waits for the answer are woken."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:  # the echo: whatever happens (Ctrl-C reaches it too), it never returns into the bench
        try:
            ours.close()
            while message := theirs.recv(4096):
                theirs.send(message)
        finally:
            os._exit(0)
    theirs.close()
    message, times = b"x" * size, []
    try:
        cpu = time.process_time()
        for _ in range(rounds):
            started = time.perf_counter()
            ours.send(message)
            ours.recv(4096)
            times.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
    finally:
        ours.close()  # the echo reads the end and exits
        _, _, usage = os.wait4(pid, 0)
    times.sort()
    return {"p50_us": percentile(times, 50) * 1e6, "cpu_us": (cpu + usage.ru_utime + usage.ru_stime) / rounds * 1e6}


def _fmt(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def run(report: Report, settings: Settings, *, latency_seconds: float = 3.0) -> None:
    n = cpu_count()  # what workers = "auto" starts
    title = f"2e. Worker processes: 0 (in-process), 1 and {n} (one per CPU)"
    with report.section("workers", title) as out, tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp_name:
        tmp = Path(tmp_name)
        plugins = _plugin_dir(tmp)
        answers = key_answers()
        work: list[Workload] = [w for w in workloads(answers) if w.name in ("NC", "CA")]
        counts = sorted({0, 1, n})
        out["workers"] = counts
        print(f"   a. {settings.connections} connections x {settings.window} pipelined, {settings.duration:g} s per run")
        print(f"   {'workload':<8} {'workers':>7} {'req/s':>9} {'p50':>10} {'p99':>10} {'errors':>6} {'server CPU/req':>14}")
        throughput: dict[str, dict[int, dict[str, Any]]] = {w.name: {} for w in work}
        for workers in counts:
            proc, port = _start(tmp, plugins, workers)
            try:
                for w in work:
                    r = load(port, proc.pid, w, settings)
                    throughput[w.name][workers] = r
                    print(
                        f"   {w.name:<8} {workers:>7} {r['rps']:>9,.0f} {_fmt(r['p50_us']):>10} {_fmt(r['p99_us']):>10}"
                        f" {r['errors']:>6} {r['server_cpu_us_per_req']:>11.1f} µs"
                    )
            finally:
                stop(proc)
        out["throughput"] = throughput
        for w in work:
            one, many, base = throughput[w.name][1], throughput[w.name][n], throughput[w.name][0]
            report.row(
                Row(
                    f"workers {w.name} req/s 1 / {n}",
                    f"{one['rps']:,.0f} / {many['rps']:,.0f}",
                    f"in-process {base['rps']:,.0f}",
                    f"{many['rps'] / one['rps']:.2f}x",
                )
            )
            report.row(
                Row(
                    f"workers {w.name} CPU/req 1 / {n}",
                    f"{one['server_cpu_us_per_req']:.0f} / {many['server_cpu_us_per_req']:.0f} µs",
                    f"in-process {base['server_cpu_us_per_req']:.0f} µs",
                    f"{many['server_cpu_us_per_req'] / base['server_cpu_us_per_req']:.1f}x",
                )
            )

        floor = _channel_floor()
        out["channel_floor"] = floor
        nc_gap = throughput["NC"][n]["server_cpu_us_per_req"] - throughput["NC"][0]["server_cpu_us_per_req"]
        print(
            f"   the channel's floor on this machine: a blocking round trip between two processes (SEQPACKET, 100 B)"
            f" takes {_fmt(floor['p50_us'])} (p50) and {floor['cpu_us']:.1f} µs of CPU, both sides;"
            f" {n} workers add {nc_gap:.0f} µs of CPU to an NC against in-process"
        )
        report.row(Row("channel round trip CPU (floor)", f"{floor['cpu_us']:.1f} µs", f"NC, {n} workers - in-process: {nc_gap:.0f} µs"))

        print(f"\n   b. NC one at a time on one connection, {latency_seconds:g} s; beside it ZF L (1 s deadline) one after another")
        print(f"   {'workers':>7} {'beside':<10} {'requests':>8} {'p50':>10} {'p99':>10} {'max':>10}")
        latency: dict[str, dict[str, Any]] = {}
        for workers in sorted({0, n}):
            proc, port = _start(tmp, plugins, workers)
            try:
                for slow in (False, True):
                    r = _nc_latency(port, latency_seconds, slow=slow)
                    latency[f"{workers}-{'ZF L' if slow else 'nothing'}"] = r
                    beside = "ZF L" if slow else "nothing"
                    print(
                        f"   {workers:>7} {beside:<10} {r['requests']:>8} {_fmt(r['p50_us']):>10} {_fmt(r['p99_us']):>10}"
                        f" {_fmt(r['max_us']):>10}"
                    )
            finally:
                stop(proc)
        out["latency"] = latency
        held = latency[f"{n}-ZF L"]
        ok = held["p99_us"] <= P99_TARGET_US
        report.row(
            Row(
                f"NC p99 beside ZF L, workers {n}",
                _fmt(held["p99_us"]),
                f"alone {_fmt(latency[f'{n}-nothing']['p99_us'])}; in-process {_fmt(latency['0-ZF L']['p99_us'])}",
                "",
                f"≤ {_fmt(P99_TARGET_US)}",
                verdict(ok),
            )
        )
