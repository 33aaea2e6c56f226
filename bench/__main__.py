"""hsmd benchmark suite: `python -m bench [--quick] [--json PATH]`.

Sections, each printed with the baseline it is measured against in the same run:
  1. plugin call overhead    wasm call vs. the same logic called natively, in-process
                             (NC, B2, and the key-management commands A0, BU, FA)
  1b. host crypto share      A0, BU, FA: time in the host's key operations / whole call
  1c. metrics cost           UnitStatus.record (the counters behind /metrics, J2, J4, J8) per
                             request: alone, and in place against the pre-metrics record
  1d. key blocks, AES, RSA   A0 and BU on key blocks vs. their variant forms, M6/M0/G0/GW with AES keys,
                             EW (RSA-2048 sign) and EI (RSA-2048 generate): wasm vs. native, CPU per call
  1e. C/C++ plugins          B2, BU (C) and NC (C++) against their Python plugins and the native logic:
                             call p50 and overhead, component sizes; NC and BU req/s over TCP
  2. TCP throughput/latency  `hsmd serve` vs. a bare trio server with the same framing
                             (NC, B2; A0, BU, FA against an absolute req/s target)
  2c. large payloads         M0 32 KiB through `hsmd serve`, beside B2 32 KiB on hsmd and on the bare server
  2d. host ports             NC over TLS and UDP beside TCP on the same server, one request at a time
  2e. worker processes       NC and CA req/s and server CPU/req with 0, 1 and N workers; NC p99 on one
                             connection while another runs deadline-bound requests (ZF L), 0 and N workers
  2b. TCP breakdown          hsmd's Server with parts stubbed out (full mode or --breakdown)
  3. warm restart            spawn -> READY=1 (sd_notify) vs. importing hsmd; SIGTERM -> exit
  4. cold build + compile    per plugin, vs. loading the compiled artifact (full mode or --cold)
  5. RSS                     per live plugin instance; idle server vs. the bare server

The default run takes about 10 minutes on 2 cores: 6 without section 4 (it builds
every plugin; --no-cold skips it), --quick about 2.5. Figures are only
as good as the machine is quiet: the load average at start is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import blocks, calls, cold, cplugins, metrics_cost, payload, ports, restart, rss, tcp, workers
from bench.common import KEY_COMMANDS, PLUGINS, PYTHON, ROOT, Report, machine


def _ensure_plugins() -> None:
    if all((PLUGINS / f"{cmd}.wasm").exists() for cmd in ("NC", "B2", *(c for c, _ in KEY_COMMANDS), *blocks.COMMANDS)):
        return
    print("building plugins (python -m plugingen.build) ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "plugingen.build"], cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs, no cold build (about 2.5 minutes)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH")
    cold_group = parser.add_mutually_exclusive_group()
    cold_group.add_argument("--cold", dest="cold", action="store_true", default=None, help="run section 4 even with --quick")
    cold_group.add_argument("--no-cold", dest="cold", action="store_false", help="skip section 4")
    parser.add_argument("--connections", type=int, default=8, help="section 2: concurrent connections (default 8)")
    parser.add_argument("--window", type=int, default=16, help="section 2: pipelined requests per connection (default 16)")
    parser.add_argument("--duration", type=float, help="section 2: measured seconds per run (default 5, 2 with --quick)")
    breakdown_group = parser.add_mutually_exclusive_group()
    breakdown_group.add_argument(
        "--breakdown", dest="breakdown", action="store_true", default=None, help="run section 2b even with --quick"
    )
    breakdown_group.add_argument("--no-breakdown", dest="breakdown", action="store_false", help="skip section 2b")
    parser.add_argument("--profile", action="store_true", help="section 2: also profile hsmd (cProfile) under NC load")
    args = parser.parse_args(argv)
    run_cold = args.cold if args.cold is not None else not args.quick
    run_breakdown = args.breakdown if args.breakdown is not None else not args.quick

    started = time.monotonic()
    report = Report()
    info = machine()
    info["loadavg_at_start"] = os.getloadavg()[0]
    info["mode"] = "quick" if args.quick else "full"
    report.data["machine"] = info
    print(
        f"hsmd bench ({info['mode']}): {info['nproc']} CPUs ({info['cpu']}), {info['implementation']} {info['python']},"
        f" wasmtime {info['wasmtime']}, trio {info['trio']}, load average {info['loadavg_at_start']:.2f}"
    )
    if info["loadavg_at_start"] > 0.5:
        print("   warning: the machine is busy; figures will be noisy")
    _ensure_plugins()

    # Section 1 also fills build/cache if a plugin changed, which section 3 relies on.
    calls.run(report, iterations=2000 if args.quick else 5000)
    blocks.run(report, iterations=500 if args.quick else 2000)
    metrics_cost.run(report, repeats=50_000 if args.quick else 100_000, requests=12_000 if args.quick else 30_000)
    duration = args.duration if args.duration is not None else (2.0 if args.quick else 5.0)
    settings = tcp.Settings(args.connections, args.window, duration, warmup=0.5 if args.quick else 1.0)
    tcp.run(report, settings, profile=args.profile)
    cplugins.run(report, iterations=2000 if args.quick else 5000, settings=settings)
    payload.run(report, requests=100 if args.quick else 300)
    ports.run(report, requests=500 if args.quick else 2000)
    workers.run(report, settings, latency_seconds=2.0 if args.quick else 5.0)
    if run_breakdown:
        tcp.breakdown(report, settings)
    restart.run(report, runs=3)
    if run_cold:
        cold.run(report)
    rss.run(report)

    report.data["total_seconds"] = round(time.monotonic() - started, 1)
    print(f"\n== Summary ({report.data['total_seconds']:.0f} s) ==")
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps(report.data, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
