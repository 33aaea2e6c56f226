"""Section 1e: C and C++ plugins against Python ones and the native logic, in the same run.

For the commands shipped in both languages (B2 and BU in C, NC in C++): the
call p50 through each component and natively in-process, the overhead each
adds, and requests/s over TCP from `hsmd serve` with the C implementations
selected (`HSMD_PLUGINS_C`) against the default Python ones; then the size of
each component and of its compiled native code.

Target (issue 11): a C plugin's call overhead (p50 minus native) at most a
third of the Python plugin's.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from hsmd_sdk.response import respond

from bench import tcp
from bench.calls import KIB_DATA, time_calls
from bench.common import CACHE, FIRMWARE, HSMD, PLUGINS, ROOT, Report, Row, free_port, hsmd_env, key_answers, stop, verdict, wait_listening
from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.native import NativeHsm
from hsmd.runtime import Limits, Runtime
from logic import b2, bu, nc

C_PLUGINS = ROOT / "build" / "plugins-c"
COMMANDS = ("B2", "BU", "NC")
OVERHEAD_TARGET = 1 / 3  # C overhead / Python overhead
CASES: list[tuple[str, str, bytes, Callable[..., Any]]] = [
    ("NC", "NC", b"", nc.execute),
    ("B2 5 B", "B2", b"0005hello", b2.execute),
    ("B2 1 KiB", "B2", b"0400" + KIB_DATA, b2.execute),
    ("BU", "BU", b"011U1EF828AA8F6B80EB83E19FBC373F3A85", bu.execute),
]


def run(report: Report, iterations: int, settings: tcp.Settings) -> None:
    if not all((C_PLUGINS / f"{cmd}.wasm").exists() for cmd in COMMANDS):
        print("\n== 1e. C plugins: skipped (build/plugins-c is incomplete: python -m plugingen.build) ==")
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    warmup = max(200, iterations // 10)
    with Runtime(host, Limits(), CACHE) as runtime, report.section("c_plugins", "1e. C/C++ plugins vs Python vs native") as out:
        python = {cmd: runtime.load(PLUGINS / f"{cmd}.wasm") for cmd in COMMANDS}
        c = {cmd: runtime.load(C_PLUGINS / f"{cmd}.wasm") for cmd in COMMANDS}
        print(f"   {'case':<9} {'native':>8} {'Python':>8} {'C':>8} | {'overhead Py':>11} {'C':>8} {'C/Py':>6}")
        for name, cmd, body, execute in CASES:

            def native(execute: Callable[..., Any] = execute, body: bytes = body) -> bytes:
                return respond(execute, body, NativeHsm(host, RequestScope("bench")))

            def in_py(cmd: str = cmd, body: bytes = body) -> bytes:
                return runtime.execute(python[cmd], body, RequestScope("bench"))

            def in_c(cmd: str = cmd, body: bytes = body) -> bytes:
                return runtime.execute(c[cmd], body, RequestScope("bench"))

            if not in_c() == in_py() == native():
                raise RuntimeError(f"{name}: the C, Python and native answers differ")
            n, p, k = (time_calls(f, iterations, warmup)["median_us"] for f in (native, in_py, in_c))
            share = (k - n) / (p - n)
            out[name] = {"native_us": n, "python_us": p, "c_us": k, "c_over_python_overhead": share}
            print(f"   {name:<9} {n:7.1f}µ {p:7.1f}µ {k:7.1f}µ | {p - n:10.1f}µ {k - n:7.1f}µ {share:5.2f}")
            report.row(Row(f"C call overhead {name} (p50)", f"{k - n:.1f} µs", f"Python {p - n:.1f} µs", f"{share:.2f}x",
                           "≤ 0.33x", verdict(share <= OVERHEAD_TARGET)))  # fmt: skip
        sizes = {
            cmd: {"python_kb": (PLUGINS / f"{cmd}.wasm").stat().st_size / 1e3, "c_kb": (C_PLUGINS / f"{cmd}.wasm").stat().st_size / 1e3}
            for cmd in COMMANDS
        }
        out["component_kb"] = sizes
        out["c_build_s"] = _c_build_times()
        print("   C/C++ build (zig's libc already compiled): " + ", ".join(f"{cmd} {t:.1f} s" for cmd, t in out["c_build_s"].items()))
        for cmd, seconds in out["c_build_s"].items():
            report.row(Row(f"build {cmd} (C/C++)", f"{seconds:.1f} s", "Python: section 4"))
        listed = ", ".join(f"{cmd} Python {s['python_kb']:,.0f} kB / C {s['c_kb']:,.0f} kB" for cmd, s in sizes.items())
        print(f"   component size: {listed}")
        out["tcp"] = _tcp(report, settings)
    structlog.reset_defaults()


def _tcp(report: Report, settings: tcp.Settings) -> dict[str, Any]:
    """NC and BU over TCP with the Python and with the C/C++ implementations selected."""
    results: dict[str, Any] = {}
    work = {w.name: w for w in tcp.workloads(key_answers())}
    for label, extra in (("Python", {}), ("C", {"HSMD_PLUGINS_C": ",".join(COMMANDS)})):
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "hsmd.log").open("wb") as log:
            env = hsmd_env(port, HSMD_PLUGINS_C_DIR=str(C_PLUGINS), **extra)
            argv = [str(HSMD), "serve"]
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_listening(port, proc, timeout=120)
                for name in ("NC", "BU"):
                    r = tcp.load(port, proc.pid, work[name], settings)
                    results[f"{name} {label}"] = r
                    cpu = r["server_cpu_us_per_req"]
                    print(f"   TCP {name:<3} {label:<6} {r['rps']:>9,.0f} req/s  p50 {r['p50_us']:.0f} µs  CPU {cpu:.1f} µs/req")
            finally:
                stop(proc)
    for name in ("NC", "BU"):
        py, cc = results[f"{name} Python"], results[f"{name} C"]
        ratio = f"{cc['rps'] / py['rps']:.2f}x"
        report.row(Row(f"TCP {name} with the C plugin", f"{cc['rps']:,.0f} req/s", f"Python {py['rps']:,.0f} req/s", ratio))
    return results


def _c_build_times() -> dict[str, float]:
    """Each C/C++ plugin built alone into a temporary directory (the Python plugins' build times are section 4's)."""
    import io
    import time

    from plugingen import build

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hsmd-bench-c-") as tmp:
        for target in build.discover_native(build.NATIVE_DIR, Path(tmp) / "out", stage_dir=Path(tmp) / "stage"):
            started = time.monotonic()
            build.build([target], jobs=1, stream=io.StringIO())
            times[target.command] = time.monotonic() - started
    return times
