"""Section 2: throughput and latency over TCP, `hsmd serve` against the bare trio server.

Both servers run as subprocesses for the whole section; the load generator is a
third process, started once per (workload, server). Besides the client's view
(requests/s, latency) each run records the server's own CPU time per request
from /proc, which does not depend on how the 2 cores were shared: the main
process's and its worker processes' (`hsmd serve` runs with its defaults, one
worker per CPU; section 2e compares 0, 1 and N workers).

NC and B2 are held to a share of the bare server's throughput; the
key-management commands A0, BU and FA, whose cost is mostly the command
itself, to an absolute rate. The bare server answers them with fixed valid
answers (one A0 key generated up front), so it shows the framing floor.
"""

from __future__ import annotations

import contextlib
import json
import os
import pstats
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    HEADER,
    HSMD,
    KEY_COMMANDS,
    PYTHON,
    RANDOM_ANSWERS,
    ROOT,
    Report,
    Row,
    free_port,
    hsmd_env,
    key_answers,
    nc_fields,
    rss_mib,
    stop,
    verdict,
    wait_listening,
)

THROUGHPUT_TARGET = 0.50  # NC, B2: hsmd/bare
KEY_RPS_TARGET = 2500.0  # A0, BU, FA: requests/s through `hsmd serve`
B2_DATA = b"0123456789ABCDEF"
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Workload:
    name: str
    request: bytes
    expect: bytes  # the exact answer, or with `expect_len` what every answer starts with
    expect_len: int | None = None  # answers differ per request: check the prefix and this length only
    target_rps: float | None = None  # an absolute target instead of THROUGHPUT_TARGET

    def check_args(self) -> list[str]:
        if self.expect_len is None:
            return ["--expect-hex", self.expect.hex()]
        return ["--expect-prefix-hex", self.expect.hex(), "--expect-len", str(self.expect_len)]


def _response_code(command: str) -> bytes:
    return command[0].encode() + bytes([ord(command[1]) + 1])


def workloads(answers: dict[str, bytes] | None = None) -> list[Workload]:
    """NC, B2 and, given the key commands' answers (`key_answers()`), A0, BU and FA."""
    out = [
        Workload("NC", HEADER + b"NC", HEADER + b"ND00" + nc_fields()),
        Workload("B2 16 B", HEADER + b"B2" + f"{len(B2_DATA):04X}".encode() + B2_DATA, HEADER + b"B300" + B2_DATA),
    ]
    if answers is None:
        return out
    for command, body in KEY_COMMANDS:
        request = HEADER + command.encode() + body
        answer = HEADER + _response_code(command) + answers[command]
        if command in RANDOM_ANSWERS:  # header, response code and error code; the length
            out.append(Workload(command, request, answer[: len(HEADER) + 4], len(answer), KEY_RPS_TARGET))
        else:
            out.append(Workload(command, request, answer, target_rps=KEY_RPS_TARGET))
    return out


@dataclass
class Settings:
    connections: int
    window: int
    duration: float
    warmup: float


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and of its children, live or reaped: `hsmd serve` and its worker processes."""
    # utime + stime (+ cutime + cstime: reaped children): fields 14-17 of /proc/<pid>/stat, after the name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(field) for field in fields[11:15])
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended since the listing: its time stays in the process's
            continue
        for child in children:
            with contextlib.suppress(FileNotFoundError):  # exited meanwhile: its time moves to cutime
                ticks += round(cpu_seconds(int(child)) * _TICK)
    return ticks / _TICK


def start_hsmd(log_path: Path, *command: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = list(command) or [str(HSMD), "serve"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=hsmd_env(port), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    wait_listening(port, proc, timeout=120)  # a cold compile cache costs ~10 s per plugin
    return proc, port


def start_bare(*extra: str, answers: dict[str, bytes] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = [str(PYTHON), "-m", "bench.bare_server", "--port", str(port), "--header-len", str(len(HEADER))]
    argv += ["--nc-fields", nc_fields().decode("ascii"), *extra]
    for command, payload in (answers or {}).items():
        argv += ["--answer", f"{command}={payload.decode('ascii')}"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc, port


def load(port: int, pid: int, work: Workload, settings: Settings) -> dict[str, Any]:
    argv = [str(PYTHON), "-m", "bench.load", "--port", str(port), "--request-hex", work.request.hex(), *work.check_args()]
    argv += ["--connections", str(settings.connections), "--window", str(settings.window)]
    argv += ["--duration", str(settings.duration), "--warmup", str(settings.warmup)]
    cpu_before = cpu_seconds(pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False, timeout=settings.duration + settings.warmup + 60)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(done.stdout)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = max(1, result["requests_total"])
    # Over warm-up, window and drain alike: CPU is counted for all of them, so divide by all answers.
    result["server_cpu_us_per_req"] = (cpu_seconds(pid) - cpu_before) / total * 1e6
    client_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    result["client_cpu_us_per_req"] = client_cpu / total * 1e6
    return result


def _fmt_us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def _print_run(work: str, server: str, r: dict[str, Any]) -> None:
    print(
        f"   {work:<8} {server:<5} {r['rps']:>9,.0f} {_fmt_us(r['p50_us']):>10} {_fmt_us(r['p99_us']):>10}"
        f" {r['errors']:>6} {r['server_cpu_us_per_req']:>9.1f} µs"
    )


def run(report: Report, settings: Settings, *, profile: bool) -> None:
    title = (
        f"2. TCP throughput and latency ({settings.connections} connections x {settings.window} pipelined,"
        f" {settings.duration:g} s after {settings.warmup:g} s warm-up)"
    )
    with report.section("tcp", title) as out, tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp:
        out["settings"] = vars(settings)
        log_path = Path(tmp) / "hsmd.log"
        answers = key_answers()
        work_list = workloads(answers)
        hsmd, hsmd_port = start_hsmd(log_path)
        bare, bare_port = start_bare(answers=answers)
        try:
            time.sleep(0.5)  # let start-up allocations settle before the idle reading
            out["hsmd_rss_idle_start_mib"] = rss_mib(hsmd.pid)
            out["bare_rss_idle_start_mib"] = rss_mib(bare.pid)
            print(f"   {'workload':<8} {'server':<5} {'req/s':>9} {'p50':>10} {'p99':>10} {'errors':>6} {'server CPU/req':>12}")
            for work in work_list:
                h = load(hsmd_port, hsmd.pid, work, settings)
                _print_run(work.name, "hsmd", h)
                b = load(bare_port, bare.pid, work, settings)
                _print_run(work.name, "bare", b)
                ratio = h["rps"] / b["rps"] if b["rps"] else 0.0
                if work.target_rps is None:
                    ok = ratio >= THROUGHPUT_TARGET and h["errors"] == 0
                    target = f"≥ {THROUGHPUT_TARGET:.0%}"
                    headline = f"hsmd/bare throughput {ratio:.1%} (target {target}): {verdict(ok)}"
                else:
                    ok = h["rps"] >= work.target_rps and h["errors"] == 0
                    target = f"≥ {work.target_rps:,.0f} req/s"
                    headline = f"{h['rps']:,.0f} req/s (target {target}): {verdict(ok)}; {ratio:.1%} of bare"
                print(
                    f"   {work.name:<8} {headline};"
                    f" p50 latency {h['p50_us'] / b['p50_us']:.1f}x bare;"
                    f" server CPU/req {h['server_cpu_us_per_req'] / b['server_cpu_us_per_req']:.1f}x bare"
                )
                out[work.name] = {"hsmd": h, "bare": b, "throughput_ratio": ratio, "target": target, "target_met": ok}
                h_cpu, b_cpu = h["server_cpu_us_per_req"], b["server_cpu_us_per_req"]
                report.row(Row(f"TCP {work.name} req/s", f"{h['rps']:,.0f}", f"bare {b['rps']:,.0f}", f"{ratio:.1%}", target, verdict(ok)))
                latency = f"{_fmt_us(h['p50_us'])} / {_fmt_us(h['p99_us'])}"
                bare_latency = f"bare {_fmt_us(b['p50_us'])} / {_fmt_us(b['p99_us'])}"
                report.row(Row(f"TCP {work.name} p50 / p99", latency, bare_latency, f"{h['p50_us'] / b['p50_us']:.1f}x"))
                report.row(Row(f"TCP {work.name} server CPU/req", f"{h_cpu:.0f} µs", f"bare {b_cpu:.0f} µs", f"{h_cpu / b_cpu:.1f}x"))
            time.sleep(0.5)
            out["hsmd_rss_idle_after_mib"] = rss_mib(hsmd.pid)
            out["bare_rss_idle_after_mib"] = rss_mib(bare.pid)
        finally:
            out["hsmd_exit_code"] = stop(hsmd)
            stop(bare)
        answered = sum(out[w.name]["hsmd"]["requests_total"] for w in work_list)
        log_bytes = log_path.stat().st_size
        lines = log_path.read_bytes().count(b"\n")
        out["hsmd_log_lines"] = lines
        out["hsmd_log_bytes_per_request"] = log_bytes / max(1, answered)
        print(f"   hsmd logged {lines:,} lines, {log_bytes / max(1, answered):.0f} bytes per request; exit code {out['hsmd_exit_code']}")
        print(
            f"   idle RSS: hsmd {out['hsmd_rss_idle_start_mib']:.1f} MiB at start, {out['hsmd_rss_idle_after_mib']:.1f} MiB after load;"
            f" bare {out['bare_rss_idle_after_mib']:.1f} MiB"
        )
        if profile:
            out["profile"] = _profile(Path(tmp), settings)


def _profile(tmp: Path, settings: Settings, top: int = 18) -> dict[str, Any]:
    """hsmd under cProfile with the NC load: where a request's time goes (inflated by the profiler)."""
    stats_path = tmp / "hsmd.pstats"
    proc, port = start_hsmd(tmp / "profile.log", str(PYTHON), "-m", "cProfile", "-o", str(stats_path), "-m", "hsmd", "serve")
    try:
        result = load(port, proc.pid, workloads()[0], settings)
    finally:
        code = stop(proc)  # cProfile writes its file when hsmd returns from SIGTERM
    if code != 0 or not stats_path.exists():
        print(f"   profile: hsmd exited {code} without writing stats")
        return {}
    requests = max(1, result["requests_total"])
    stats = pstats.Stats(str(stats_path))
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = f"{Path(filename).name}:{line}({name})" if line else name
        per_req = {
            "calls_per_req": calls / requests,
            "self_us_per_req": tottime / requests * 1e6,
            "cum_us_per_req": cumtime / requests * 1e6,
        }
        rows.append({"function": short, **per_req})
    # The idle epoll wait is not work; shown anyway so the reader sees how busy the server was.
    rows.sort(key=lambda r: r["self_us_per_req"], reverse=True)
    print(f"\n   cProfile of hsmd under NC load ({result['rps']:,.0f} req/s with the profiler on), top {top} by self time per request:")
    print(f"   {'self µs/req':>11} {'cum µs/req':>10} {'calls/req':>9}  function")
    for r in rows[:top]:
        print(f"   {r['self_us_per_req']:11.1f} {r['cum_us_per_req']:10.1f} {r['calls_per_req']:9.2f}  {r['function']}")
    return {"rps_profiled": result["rps"], "requests": requests, "top": rows[:40]}


VARIANTS: list[tuple[str, list[str]]] = [
    ("bare, one send per answer", ["bench.bare_server", "--per-frame"]),
    ("hsmd Server + stub dispatch, no log", ["bench.variant_server", "--dispatch", "stub", "--log-level", "warning"]),
    ("hsmd Server + stub dispatch, JSON log", ["bench.variant_server", "--dispatch", "stub", "--log-level", "info"]),
    ("hsmd Server + plugins, no log", ["bench.variant_server", "--dispatch", "plugins", "--log-level", "warning"]),
]


def breakdown(report: Report, settings: Settings) -> None:
    """NC through variants between the bare server and `hsmd serve`: which layer costs what."""
    main = report.data.get("tcp", {}).get("NC")
    if not main:
        return
    with (
        report.section("tcp_breakdown", "2b. Where the TCP time goes (NC, same load; server CPU per request)") as out,
        tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp,
    ):
        work = workloads()[0]
        rows = [("bare trio server (baseline)", main["bare"])]
        for i, (name, module_args) in enumerate(VARIANTS):
            port = free_port()
            argv = [str(PYTHON), "-m", *module_args, "--port", str(port), "--header-len", str(len(HEADER))]
            if module_args[0] == "bench.bare_server":
                argv += ["--nc-fields", nc_fields().decode("ascii")]
            with (Path(tmp) / f"variant-{i}.log").open("wb") as log:
                proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_listening(port, proc, timeout=120)
                rows.append((name, load(port, proc.pid, work, settings)))
            finally:
                stop(proc)
        rows.append(("hsmd serve (JSON log at info)", main["hsmd"]))
        base = main["bare"]["server_cpu_us_per_req"]
        print(f"   {'server':<40} {'req/s':>9} {'p50':>10} {'CPU/req':>9} {'vs bare':>8}")
        for name, r in rows:
            cpu = r["server_cpu_us_per_req"]
            print(f"   {name:<40} {r['rps']:>9,.0f} {_fmt_us(r['p50_us']):>10} {cpu:>7.1f}µs {cpu / base:>7.1f}x")
            out[name] = r
