"""Section 2d: NC over each host port, one request at a time on one client.

One `hsmd serve` with its TCP, TLS (a trustme certificate made for the run) and
UDP ports open; the same NC, answered by the same plugin, through each: the
round trip's p50/p99, the requests per second this one client gets, and the
server's CPU time per request (from /proc, independent of the client). The
baseline is the TCP port of the same server in the same run: what TLS's record
layer and UDP's one-datagram-per-request cost on top of it. The TCP port's own
baseline is the bare trio server (bench.bare_server) answering the same NC to
the same client: what a test rig sending one request at a time waits for hsmd.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trustme

from bench.common import HEADER, HSMD, LOCALHOST, ROOT, Report, Row, free_port, hsmd_env, percentile, stop, verdict, wait_listening
from bench.tcp import cpu_seconds, start_bare
from hsmd.client import Answer, connect, connect_udp

NC = b"NC"
ONE_AT_A_TIME_TARGET = 2.5  # hsmd's p50 over the bare server's, one NC at a time on one connection


def _measure(pid: int, call: Callable[[bytes], Answer], requests: int) -> dict[str, Any]:
    first = call(NC)
    for _ in range(50):
        call(NC)
    cpu0, started = cpu_seconds(pid), time.perf_counter()
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        call(NC)
        times.append(time.perf_counter() - t)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu0
    times.sort()
    return {
        "answer_code": first.response_code + first.error_code,
        "requests_per_s": requests / elapsed,
        "p50_us": percentile(times, 50) * 1e6,
        "p99_us": percentile(times, 99) * 1e6,
        "server_cpu_us_per_req": cpu / requests * 1e6,
    }


def run(report: Report, requests: int = 2000) -> None:
    title = f"2d. Host ports: NC over TCP, TLS and UDP, one request at a time on one client ({requests} requests each)"
    with report.section("ports", title) as out, tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp:
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", LOCALHOST)
        cert_file, key_file = Path(tmp) / "server.pem", Path(tmp) / "server.key"
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        os.chmod(key_file, 0o600)
        tcp_port, tls_port, udp_port = free_port(), free_port(), free_port()
        env = hsmd_env(tcp_port)
        env.update(
            HSMD_TLS_ENABLED="true",
            HSMD_TLS_HOST=LOCALHOST,
            HSMD_TLS_PORT=str(tls_port),
            HSMD_TLS_CERTIFICATE=str(cert_file),
            HSMD_TLS_PRIVATE_KEY=str(key_file),
            HSMD_UDP_ENABLED="true",
            HSMD_UDP_HOST=LOCALHOST,
            HSMD_UDP_PORT=str(udp_port),
        )
        with (Path(tmp) / "hsmd.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(HSMD), "serve"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        try:
            wait_listening(tcp_port, proc, timeout=120)
            wait_listening(tls_port, proc)
            context = ssl.create_default_context()
            ca.configure_trust(context)
            rows: dict[str, dict[str, Any]] = {}
            with connect(LOCALHOST, tcp_port, header=HEADER) as client:
                rows["tcp"] = _measure(proc.pid, client.call, requests)
            with connect(LOCALHOST, tls_port, header=HEADER, tls=context, server_hostname="localhost") as client:
                rows["tls"] = _measure(proc.pid, client.call, requests)
            with connect_udp(LOCALHOST, udp_port, header=HEADER) as udp:
                rows["udp"] = _measure(proc.pid, udp.call, requests)
        finally:
            stop(proc)
        bare, bare_port = start_bare()
        try:
            with connect(LOCALHOST, bare_port, header=HEADER) as client:
                rows["bare"] = _measure(bare.pid, client.call, requests)
        finally:
            stop(bare)
        print(f"   {'port':<5} {'answer':>6} {'req/s':>8} {'p50':>9} {'p99':>9} {'server CPU/req':>14}")
        for name, r in rows.items():
            print(
                f"   {name:<5} {r['answer_code']:>6} {r['requests_per_s']:>8.0f} {r['p50_us']:>7.0f}µs {r['p99_us']:>7.0f}µs"
                f" {r['server_cpu_us_per_req']:>12.0f}µs"
            )
            out[name] = r
        tcp, base = rows["tcp"], rows["bare"]
        ratio = tcp["p50_us"] / base["p50_us"]
        report.row(
            Row(
                "NC one at a time, TCP p50",
                f"{tcp['p50_us']:.0f} µs",
                f"bare {base['p50_us']:.0f} µs",
                f"{ratio:.2f}x",
                f"≤ {ONE_AT_A_TIME_TARGET}x",
                verdict(ratio <= ONE_AT_A_TIME_TARGET),
            )
        )
        for name in ("tls", "udp"):
            r = rows[name]
            report.row(
                Row(
                    f"NC over {name.upper()} p50 / server CPU",
                    f"{r['p50_us']:.0f} µs / {r['server_cpu_us_per_req']:.0f} µs",
                    f"TCP {tcp['p50_us']:.0f} µs / {tcp['server_cpu_us_per_req']:.0f} µs",
                    f"{r['p50_us'] / tcp['p50_us']:.2f}x",
                )
            )
