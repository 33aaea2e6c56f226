"""Section 5: resident memory per live plugin instance, and of the idle server.

The measurement runs in a fresh interpreter (`python -m bench.rss --child`,
JSON on stdout) so nothing the bench itself allocated is counted. Each extra
instance serves one real request through Runtime.execute, so the pages a call
touches are resident too, not just the instantiated image.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import subprocess
import sys
from typing import Any

from bench.common import CACHE, FIRMWARE, PLUGINS, PYTHON, ROOT, Report, Row, rss_mib

EXTRA_INSTANCES = 20


def child() -> dict[str, Any]:
    import structlog

    from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
    from hsmd.runtime import Limits, Runtime

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    gc.collect()
    imported = rss_mib()
    with Runtime(host, Limits(), CACHE) as runtime:
        plugin = runtime.load(PLUGINS / "NC.wasm")
        expected = runtime.execute(plugin, b"", RequestScope("rss"))
        gc.collect()
        loaded = rss_mib()
        first = plugin._instance
        instances = []
        for i in range(EXTRA_INSTANCES):
            instance = plugin._factory()
            instance.init()
            # Swapped in so the call takes the production path (scope, fuel, epoch) on this instance.
            plugin._instance = instance
            if runtime.execute(plugin, b"", RequestScope(f"rss-{i}")) != expected:
                raise RuntimeError("an extra instance answered differently")
            instances.append(instance)
        plugin._instance = first
        gc.collect()
        full = rss_mib()
        plugin.close()
    return {"imported_mib": imported, "nc_loaded_mib": loaded, "with_extra_mib": full, "extra_instances": len(instances)}


def run(report: Report) -> None:
    with report.section("rss", f"5. RSS per plugin instance (fresh interpreter, NC + {EXTRA_INSTANCES} extra live instances)") as out:
        done = subprocess.run([str(PYTHON), "-m", "bench.rss", "--child"], cwd=ROOT, capture_output=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"rss child failed:\n{done.stderr.decode(errors='replace')}")
        r = json.loads(done.stdout)
        per_instance = (r["with_extra_mib"] - r["nc_loaded_mib"]) / r["extra_instances"]
        first_load = r["nc_loaded_mib"] - r["imported_mib"]
        out.update(r, per_instance_mib=per_instance, nc_first_load_mib=first_load)
        print(f"   after imports {r['imported_mib']:.1f} MiB; NC loaded + 1 call {r['nc_loaded_mib']:.1f} MiB (+{first_load:.1f})")
        print(
            f"   with {r['extra_instances']} extra instances {r['with_extra_mib']:.1f} MiB -> {per_instance:.2f} MiB per instance"
            f" ({per_instance / first_load:.0%} of loading NC: compiled code is shared, each instance has its own memory)"
        )
        report.row(
            Row("RSS per extra instance", f"{per_instance:.2f} MiB", f"NC load {first_load:.1f} MiB", f"{per_instance / first_load:.0%}")
        )
        tcp = report.data.get("tcp", {})
        if "hsmd_rss_idle_after_mib" in tcp:
            hsmd, bare = tcp["hsmd_rss_idle_after_mib"], tcp["bare_rss_idle_after_mib"]
            out.update(hsmd_idle_mib=hsmd, bare_idle_mib=bare)
            print(
                f"   idle server from section 2: hsmd {tcp['hsmd_rss_idle_start_mib']:.1f} MiB at start, {hsmd:.1f} MiB after load;"
                f" bare trio server {bare:.1f} MiB -> {hsmd / bare:.1f}x"
            )
            report.row(Row("RSS idle hsmd (after load)", f"{hsmd:.1f} MiB", f"bare {bare:.1f} MiB", f"{hsmd / bare:.1f}x"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rss")
    parser.add_argument("--child", action="store_true", required=True)
    parser.parse_args(argv)
    json.dump(child(), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
