"""Section 2c: large payloads over TCP, one request at a time on one connection.

A 32 KiB M0 (ECB, binary in and out, under a DEK) against `hsmd serve`, beside
a 32 KiB B2 echo on the same server (the cost of moving the payload through
the plugin boundary alone) and on the bare trio server (the framing floor,
measured in the same run). p50/p99 of the round trip and the server's CPU
time per request (from /proc, independent of the client).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import HEADER, LOCALHOST, Report, Row, percentile, stop, verdict
from bench.tcp import cpu_seconds, start_bare, start_hsmd
from hsmd.client import connect

SIZE = 32 * 1024
DATA = bytes(ord("A") + i % 26 for i in range(SIZE))  # no 0x19: binary fields must not look like a trailer
DEK = b"UA5F7447E8D9068513B94C51EF06E64EF"  # 0123456789ABCDEFFEDCBA9876543210 as a DEK (tests/test_cmd_m0.py)
M0_32K = b"M0" + b"00" + b"0" + b"0" + b"00B" + DEK + b"%04X" % SIZE + DATA
B2_32K = b"B2" + b"%04X" % SIZE + DATA
P50_TARGET_US = 5000.0


def measure(port: int, pid: int, message: bytes, requests: int) -> dict[str, Any]:
    with connect(LOCALHOST, port, header=HEADER) as client:  # TCP_NODELAY, as a latency client should
        first = client.call(message)
        for _ in range(10):
            client.call(message)
        cpu0 = cpu_seconds(pid)
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            client.call(message)
            times.append(time.perf_counter() - t)
        cpu = cpu_seconds(pid) - cpu0
    times.sort()
    return {
        "answer_code": first.response_code + first.error_code,
        "answer_bytes": len(first.raw),
        "p50_us": percentile(times, 50) * 1e6,
        "p99_us": percentile(times, 99) * 1e6,
        "server_cpu_us_per_req": cpu / requests * 1e6,
    }


def _ratio(value: float, baseline: float) -> str:
    """value / baseline; CPU time comes in clock ticks (10 ms), so a short run can read 0 for the bare server."""
    return f"{value / baseline:.1f}x" if baseline else "n/a"


def run(report: Report, requests: int = 200) -> None:
    title = f"2c. Large payloads: 32 KiB, one request at a time on one connection ({requests} requests)"
    with report.section("payload", title) as out, tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp:
        hsmd, hsmd_port = start_hsmd(Path(tmp) / "hsmd.log")
        bare, bare_port = start_bare()
        try:
            rows = [
                ("M0 32 KiB", "hsmd", measure(hsmd_port, hsmd.pid, M0_32K, requests)),
                ("B2 32 KiB", "hsmd", measure(hsmd_port, hsmd.pid, B2_32K, requests)),
                ("B2 32 KiB", "bare", measure(bare_port, bare.pid, B2_32K, requests)),
            ]
        finally:
            stop(hsmd)
            stop(bare)
        print(f"   {'workload':<10} {'server':<5} {'answer':>8} {'p50':>10} {'p99':>10} {'server CPU/req':>14}")
        for name, server, r in rows:
            p50, p99, cpu = r["p50_us"], r["p99_us"], r["server_cpu_us_per_req"]
            print(f"   {name:<10} {server:<5} {r['answer_code']:>8} {p50:>8.0f}µs {p99:>8.0f}µs {cpu:>12.0f}µs")
            out[f"{name} {server}"] = r
        m0, bare_b2 = rows[0][2], rows[2][2]
        ok = m0["p50_us"] <= P50_TARGET_US and m0["answer_code"] == "M100"
        print(f"   M0 32 KiB p50 {m0['p50_us'] / 1000:.2f} ms (target ≤ {P50_TARGET_US / 1000:.0f} ms): {verdict(ok)}")
        report.row(
            Row(
                "M0 32 KiB p50 / p99",
                f"{m0['p50_us'] / 1000:.2f} / {m0['p99_us'] / 1000:.2f} ms",
                f"bare B2 {bare_b2['p50_us'] / 1000:.2f} ms",
                _ratio(m0["p50_us"], bare_b2["p50_us"]),
                "≤ 5 ms",
                verdict(ok),
            )
        )
        report.row(
            Row(
                "M0 32 KiB server CPU/req",
                f"{m0['server_cpu_us_per_req']:.0f} µs",
                f"bare B2 {bare_b2['server_cpu_us_per_req']:.0f} µs",
                _ratio(m0["server_cpu_us_per_req"], bare_b2["server_cpu_us_per_req"]),
            )
        )
