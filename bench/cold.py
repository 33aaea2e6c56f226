"""Section 4: what a cold machine pays per plugin: componentize-py build, then wasmtime compile.

Everything goes to temporary directories, so build/plugins and build/cache are
left alone. Builds run one at a time (jobs=1) to time each plugin on its own;
the compile uses wasmtime's parallel compilation, i.e. both cores. The warm
load from the cache just filled is the baseline the compile is compared with.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
from pathlib import Path

import structlog

from bench.common import FIRMWARE, ROOT, Report, Row
from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.runtime import Limits, Runtime
from plugingen import build

_MB = 1e6


def run(report: Report) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with (
        report.section("cold", "4. Cold build + compile per plugin (temporary out, stage and cache dirs)") as out,
        tempfile.TemporaryDirectory(prefix="hsmd-bench-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        cache_dir = tmp / "cache"
        targets = build.discover(ROOT / "commands", tmp / "plugins", stage_dir=tmp / "stage")
        host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
        rows: dict[str, dict[str, float]] = {}
        for target in targets:
            started = time.monotonic()
            build.build([target], jobs=1, stream=io.StringIO())  # its progress lines would clutter the report
            rows[target.command] = {"build_s": time.monotonic() - started, "component_mb": target.out.stat().st_size / _MB}
        with Runtime(host, Limits(), cache_dir) as runtime:
            for target in targets:
                before = set(cache_dir.glob("*.cwasm"))
                started = time.monotonic()
                runtime.load(target.out).close()
                rows[target.command]["compile_s"] = time.monotonic() - started
                (artifact,) = set(cache_dir.glob("*.cwasm")) - before
                rows[target.command]["cwasm_mb"] = artifact.stat().st_size / _MB
        # A fresh Runtime, as after a restart: nothing in memory, everything from the cache.
        with Runtime(host, Limits(), cache_dir) as runtime:
            for target in targets:
                started = time.monotonic()
                runtime.load(target.out).close()
                rows[target.command]["warm_load_ms"] = (time.monotonic() - started) * 1000
        print(f"   {'plugin':<6} {'build':>7} {'compile':>8} {'warm load':>10} {'compile/warm':>12} {'component':>10} {'cwasm':>8}")
        for command, r in rows.items():
            r["compile_over_warm"] = r["compile_s"] * 1000 / r["warm_load_ms"]
            print(
                f"   {command:<6} {r['build_s']:6.1f}s {r['compile_s']:7.1f}s {r['warm_load_ms']:8.0f}ms {r['compile_over_warm']:11.0f}x"
                f" {r['component_mb']:8.1f}MB {r['cwasm_mb']:6.1f}MB"
            )
            report.row(
                Row(
                    f"cold {command}: build + compile",
                    f"{r['build_s']:.1f} s + {r['compile_s']:.1f} s",
                    f"warm load {r['warm_load_ms']:.0f} ms",
                    f"{r['compile_over_warm']:.0f}x",
                )
            )
        out["plugins"] = rows
    structlog.reset_defaults()
