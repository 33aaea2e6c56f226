"""Section 1: the cost of one plugin call, against the same logic called natively in-process."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

import structlog
from hsmd_sdk.response import respond

from bench.common import CACHE, FIRMWARE, PLUGINS, Report, Row, percentile, verdict
from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.native import NativeHsm
from hsmd.runtime import Limits, Runtime
from logic import b2, nc

NC_OVERHEAD_TARGET_US = 60.0
KIB_DATA = bytes(ord("A") + i % 26 for i in range(1024))
CASES: list[tuple[str, str, bytes, Callable[..., Any]]] = [
    ("NC", "NC", b"", nc.execute),
    ("B2 5 B", "B2", b"0005hello", b2.execute),
    ("B2 1 KiB", "B2", b"0400" + KIB_DATA, b2.execute),
]


def _time(call: Callable[[], object], iterations: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        call()
    gc.collect()  # start each series with no garbage owed by the previous one
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        t0 = clock()
        call()
        samples.append(clock() - t0)
    samples.sort()
    return {
        "median_us": percentile(samples, 50) / 1000,
        "p99_us": percentile(samples, 99) / 1000,
        # The mean includes the instance recycle every `recycle_after` calls, which the median hides.
        "mean_us": sum(samples) / len(samples) / 1000,
    }


def run(report: Report, iterations: int) -> None:
    # The plugin's log calls and instance recycling log at debug: keep them out of the timings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warmup = max(200, iterations // 10)
    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    with report.section("calls", f"1. Plugin call overhead (in-process, {iterations} calls after {warmup} warm-up)") as out:
        limits = Limits()
        out["iterations"] = iterations
        out["recycle_after"] = limits.recycle_after
        with Runtime(host, limits, CACHE) as runtime:
            plugins = {cmd: runtime.load(PLUGINS / f"{cmd}.wasm") for cmd in ("NC", "B2")}
            print(f"   {'case':<9} {'wasm p50':>9} {'p99':>8} {'mean':>8} | {'native p50':>10} {'p99':>7} | {'overhead':>9} {'ratio':>6}")
            for name, cmd, body, execute in CASES:
                plugin = plugins[cmd]

                def wasm(plugin: Any = plugin, body: bytes = body) -> bytes:
                    return runtime.execute(plugin, body, RequestScope("bench"))

                def native(execute: Callable[..., Any] = execute, body: bytes = body) -> bytes:
                    return respond(execute, body, NativeHsm(host, RequestScope("bench")))

                if wasm() != native():  # a fast wrong answer would be no result at all
                    raise RuntimeError(f"{name}: wasm and native answers differ")
                w = _time(wasm, iterations, warmup)
                n = _time(native, iterations, warmup)
                overhead = w["median_us"] - n["median_us"]
                ratio = w["median_us"] / n["median_us"]
                out[name] = {"wasm": w, "native": n, "overhead_us": overhead, "ratio": ratio}
                print(
                    f"   {name:<9} {w['median_us']:8.1f}µ {w['p99_us']:7.1f}µ {w['mean_us']:7.1f}µ |"
                    f" {n['median_us']:9.1f}µ {n['p99_us']:6.1f}µ | {overhead:8.1f}µ {ratio:5.1f}x"
                )
                target = ""
                ok = True
                if name == "NC":
                    ok = overhead <= NC_OVERHEAD_TARGET_US
                    target = f"≤ {NC_OVERHEAD_TARGET_US:.0f} µs"
                    out["target_overhead_us"] = NC_OVERHEAD_TARGET_US
                    out["target_met"] = ok
                report.row(
                    Row(
                        f"call overhead {name} (p50)",
                        f"{overhead:.1f} µs",
                        f"native {n['median_us']:.1f} µs",
                        f"{ratio:.1f}x",
                        target,
                        verdict(ok) if target else "",
                    )
                )
        nc_overhead = out["NC"]["overhead_us"]
        ok = nc_overhead <= NC_OVERHEAD_TARGET_US
        print(f"   target: NC overhead ≤ {NC_OVERHEAD_TARGET_US:.0f} µs median -> {nc_overhead:.1f} µs: {verdict(ok)}")
    structlog.reset_defaults()
