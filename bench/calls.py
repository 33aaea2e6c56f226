"""Section 1: the cost of one plugin call, against the same logic called natively in-process.

1b, for the key-management commands A0, BU and FA: the share of a request's
`runtime.execute` time spent inside the host's key operations (the
`hsmd.host.services.Host` key methods, timed by wrapping them on the Host
instance), and where that host time goes: DES operations (each one builds a
`cryptography` Cipher and its context) or the Python around them.
"""

from __future__ import annotations

import collections
import gc
import importlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from hsmd_sdk.response import respond

from bench.common import CACHE, FIRMWARE, KEY_COMMANDS, PLUGINS, RANDOM_ANSWERS, Report, Row, percentile, verdict
from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope, des, keys
from hsmd.host.native import NativeHsm
from hsmd.runtime import Limits, Runtime
from logic import b2, nc

NC_OVERHEAD_TARGET_US = 60.0
KIB_DATA = bytes(ord("A") + i % 26 for i in range(1024))
CASES: list[tuple[str, str, bytes, Callable[..., Any]]] = [
    ("NC", "NC", b"", nc.execute),
    ("B2 5 B", "B2", b"0005hello", b2.execute),
    ("B2 1 KiB", "B2", b"0400" + KIB_DATA, b2.execute),
    *[(cmd, cmd, body, importlib.import_module(f"logic.{cmd.lower()}").execute) for cmd, body in KEY_COMMANDS],
]
KEY_CASES = frozenset(cmd for cmd, _ in KEY_COMMANDS)
HOST_SHARE_TARGET = 0.20
HOST_KEY_METHODS = (
    "key_from_lmk",
    "key_to_lmk",
    "key_from_kek",
    "key_to_kek",
    "key_generate",
    "key_combine",
    "key_check_value",
    "key_describe",
)
LMK_SIDE = frozenset({"key_from_lmk", "key_to_lmk"})  # DES under an LMK pair (+ variant): a fixed key


def time_calls(call: Callable[[], object], iterations: int, warmup: int) -> dict[str, float]:
    """Wall-clock median, p99 and mean of `iterations` calls after `warmup`, and this process's CPU per call."""
    for _ in range(warmup):
        call()
    gc.collect()  # start each series with no garbage owed by the previous one
    clock = time.perf_counter_ns
    samples = []
    cpu_started = time.process_time_ns()
    for _ in range(iterations):
        t0 = clock()
        call()
        samples.append(clock() - t0)
    cpu_us = (time.process_time_ns() - cpu_started) / iterations / 1000
    samples.sort()
    return {
        "median_us": percentile(samples, 50) / 1000,
        "p99_us": percentile(samples, 99) / 1000,
        # The mean includes the instance recycle every `recycle_after` calls, which the median hides.
        "mean_us": sum(samples) / len(samples) / 1000,
        "cpu_us": cpu_us,
    }


def _same_answer(name: str, wasm: bytes, native: bytes) -> None:
    """Fail loudly on a wrong answer: a fast wrong answer is no result at all."""
    if name in KEY_CASES and not (wasm.startswith(b"00") and native.startswith(b"00")):
        raise RuntimeError(f"{name}: answers {wasm!r} (wasm) / {native!r} (native), not 00")
    if name in RANDOM_ANSWERS:  # a fresh random key each call: same code and length is all that can match
        if wasm[:2] != native[:2] or len(wasm) != len(native):
            raise RuntimeError(f"{name}: wasm {wasm!r} and native {native!r} answers differ in code or length")
    elif wasm != native:
        raise RuntimeError(f"{name}: wasm and native answers differ")


def run(report: Report, iterations: int) -> None:
    # The plugin's log calls and instance recycling log at debug: keep them out of the timings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warmup = max(200, iterations // 10)
    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    limits = Limits()
    with Runtime(host, limits, CACHE) as runtime:
        with report.section("calls", f"1. Plugin call overhead (in-process, {iterations} calls after {warmup} warm-up)") as out:
            out["iterations"] = iterations
            out["recycle_after"] = limits.recycle_after
            plugins = {cmd: runtime.load(PLUGINS / f"{cmd}.wasm") for cmd in {case[1] for case in CASES}}
            print(f"   {'case':<9} {'wasm p50':>9} {'p99':>8} {'mean':>8} | {'native p50':>10} {'p99':>7} | {'overhead':>9} {'ratio':>6}")
            for name, cmd, body, execute in CASES:
                plugin = plugins[cmd]

                def wasm(plugin: Any = plugin, body: bytes = body) -> bytes:
                    return runtime.execute(plugin, body, RequestScope("bench"))

                def native(execute: Callable[..., Any] = execute, body: bytes = body) -> bytes:
                    return respond(execute, body, NativeHsm(host, RequestScope("bench")))

                _same_answer(name, wasm(), native())
                w = time_calls(wasm, iterations, warmup)
                n = time_calls(native, iterations, warmup)
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
        host_share(report, runtime, host, plugins, iterations, warmup)
    structlog.reset_defaults()


# --- 1b: how much of a key-management request is the host's crypto ---


class _Meter:
    """perf_counter_ns accumulators around callables, by name.

    With a `parent`, time is filed under "<the parent's running call>/<name>", so
    the DES operations inside key_to_lmk are told from those inside key_check_value.
    """

    def __init__(self, parent: _Meter | None = None) -> None:
        self.parent = parent
        self.running = ""  # the call in progress, for a child meter's keys
        self.ns: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.perf_counter_ns
        parent = self.parent

        def timed(*args: Any, **kwargs: Any) -> Any:
            key = f"{parent.running}/{name}" if parent is not None else name
            self.running = name
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ns[key] += clock() - t0
                self.calls[key] += 1

        return timed

    def reset(self) -> None:
        self.ns.clear()
        self.calls.clear()


# Module attributes replaced while the breakdown runs: everything in hsmd.host reaches them
# through the module (keys calls `des.encrypt_ecb(...)`, des.key_check_value the global
# encrypt_ecb, services `keys.odd_parity(...)`, keys.generate the global force_odd_parity).
_INNER: tuple[tuple[Any, str, str], ...] = (
    (des, "encrypt_ecb", "DES"),
    (des, "decrypt_ecb", "DES"),
    (keys, "odd_parity", "parity"),
    (keys, "force_odd_parity", "parity"),
)


@contextmanager
def _metered(host: Host, *, inner: bool) -> Iterator[tuple[_Meter, _Meter]]:
    """Time the Host key methods (on this instance only; `inner`: also DES operations and parity).

    Everything is put back on exit; nothing under hsmd/ is changed on disk.
    """
    methods = _Meter()
    parts = _Meter(parent=methods)
    for name in HOST_KEY_METHODS:
        setattr(host, name, methods.wrap(name, getattr(host, name)))
    saved = [(module, attr, getattr(module, attr)) for module, attr, _ in _INNER] if inner else []
    for (module, attr, original), (_, _, label) in zip(saved, _INNER, strict=False):
        setattr(module, attr, parts.wrap(label, original))
    try:
        yield methods, parts
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)
        for name in HOST_KEY_METHODS:
            delattr(host, name)


def _meter_cost_us(repeats: int = 50000) -> float:
    """What one timed call costs over a plain one (µs): taken out of the breakdown's 'other'."""
    plain: Callable[..., Any] = _noop
    timed = _Meter().wrap("noop", _noop)
    clock = time.perf_counter_ns
    best = {}
    for name, fn in (("plain", plain), ("timed", timed)):
        best[name] = float("inf")
        for _ in range(5):
            t0 = clock()
            for _ in range(repeats // 5):
                fn(1, 2)
            best[name] = min(best[name], (clock() - t0) / (repeats // 5))
    return max(0.0, best["timed"] - best["plain"]) / 1000


def _noop(*args: Any) -> None:
    return None


def _des_op_parts(repeats: int = 20000) -> dict[str, float]:
    """One DES operation as hsmd.host.des does it, split into its steps (µs each, best of 5)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    key, block = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), bytes(8)
    tdes_key = key + key[:8]
    algorithm = TripleDES(tdes_key)
    cipher = Cipher(algorithm, modes.ECB())
    ready = cipher.encryptor()

    def context_update_finalize() -> bytes:
        enc = cipher.encryptor()
        return enc.update(block) + enc.finalize()

    steps: dict[str, Callable[[], object]] = {
        "TripleDES(key)": lambda: TripleDES(tdes_key),
        "Cipher(algorithm, ECB())": lambda: Cipher(algorithm, modes.ECB()),
        ".encryptor(): context + key schedule": cipher.encryptor,
        ".encryptor() + update(8 bytes) + finalize()": context_update_finalize,
        "update(8 bytes) on a ready context": lambda: ready.update(block),
        "des.encrypt_ecb, all of it": lambda: des.encrypt_ecb(key, block),
    }
    clock = time.perf_counter_ns
    out = {}
    for name, step in steps.items():
        best = float("inf")
        for _ in range(5):
            t0 = clock()
            for _ in range(repeats // 5):
                step()
            best = min(best, (clock() - t0) / (repeats // 5))
        out[name] = best / 1000
    return out


def _run_metered(runtime: Runtime, plugin: Any, body: bytes, iterations: int, warmup: int, *meters: _Meter) -> float:
    """Total runtime.execute ns over `iterations` calls, checking every answer; `meters` are zeroed after the warm-up."""
    for _ in range(warmup):
        runtime.execute(plugin, body, RequestScope("bench"))
    for meter in meters:
        meter.reset()
    gc.collect()
    clock = time.perf_counter_ns
    total = 0
    for _ in range(iterations):
        t0 = clock()
        answer = runtime.execute(plugin, body, RequestScope("bench"))
        total += clock() - t0
        if not answer.startswith(b"00"):
            raise RuntimeError(f"answered {answer!r}")
    return total


def host_share(report: Report, runtime: Runtime, host: Host, plugins: dict[str, Any], iterations: int, warmup: int) -> None:
    title = f"1b. Host crypto share of a key-management request (wasm, {iterations} calls each after {warmup} warm-up)"
    with report.section("host_crypto", title) as out:
        out["target_share"] = HOST_SHARE_TARGET
        out["host_methods"] = list(HOST_KEY_METHODS)
        cost = _meter_cost_us()
        out["meter_cost_us_per_timed_call"] = cost
        print(f"   time inside Host.{{{','.join(m.removeprefix('key_') for m in HOST_KEY_METHODS)}}} / runtime.execute time")
        print(f"   {'case':<4} {'execute':>9} {'host key ops':>12} {'calls':>5} {'share':>6}   target ≤ {HOST_SHARE_TARGET:.0%}")
        with _metered(host, inner=False) as (methods, _):
            for cmd, body in KEY_COMMANDS:
                total = _run_metered(runtime, plugins[cmd], body, iterations, warmup, methods)
                # The meter's own cost is counted inside each timed call: take it out of the host time.
                host_ns = max(0.0, sum(methods.ns.values()) - cost * 1000 * sum(methods.calls.values()))
                share = host_ns / total
                ok = share <= HOST_SHARE_TARGET
                r: dict[str, Any] = {
                    "execute_us": total / iterations / 1000,
                    "host_us": host_ns / iterations / 1000,
                    "host_calls_per_request": sum(methods.calls.values()) / iterations,
                    "share": share,
                    "target_met": ok,
                    "host_us_by_method": {k: v / iterations / 1000 for k, v in methods.ns.items()},
                }
                out[cmd] = r
                print(
                    f"   {cmd:<4} {r['execute_us']:8.1f}µ {r['host_us']:11.1f}µ {r['host_calls_per_request']:5.0f}"
                    f" {share:6.1%}   {verdict(ok)}"
                )
                row = Row(
                    f"host crypto share {cmd}",
                    f"{share:.1%}",
                    f"{r['host_us']:.1f} of {r['execute_us']:.1f} µs",
                    "",
                    f"≤ {HOST_SHARE_TARGET:.0%}",
                    verdict(ok),
                )
                report.row(row)
        over = [cmd for cmd, _ in KEY_COMMANDS if not out[cmd]["target_met"]]
        print(f"   (the meter's own {cost:.2f} µs per timed host call is measured and subtracted from the host time)")
        if not over:
            print(f"   target: host crypto ≤ {HOST_SHARE_TARGET:.0%} of the request for A0, BU, FA: ok")
            return
        print(f"   target: host crypto ≤ {HOST_SHARE_TARGET:.0%} of the request: MISSED for {', '.join(over)}")
        out["breakdown"] = _breakdown(runtime, host, plugins, over, iterations, warmup, cost, out)


def _breakdown(
    runtime: Runtime,
    host: Host,
    plugins: dict[str, Any],
    over: list[str],
    iterations: int,
    warmup: int,
    cost: float,
    shares: dict[str, Any],
) -> dict[str, Any]:
    """Second run with DES operations and parity timed too, then one DES operation step by step."""
    bodies = dict(KEY_COMMANDS)
    result: dict[str, Any] = {}
    print(f"\n   where the host time goes (second run, DES operations and parity also timed; {cost:.2f} µs per inner timed call taken out)")
    print(f"   {'case':<4} {'host method':<16} {'µs':>6} {'DES ops':>7} {'DES µs':>7} {'parity µs':>9} {'other µs':>8}")
    with _metered(host, inner=True) as (methods, parts):
        for cmd in over:
            total = _run_metered(runtime, plugins[cmd], bodies[cmd], iterations, warmup, methods, parts)
            per: dict[str, Any] = {}
            for method, ns in sorted(methods.ns.items(), key=lambda kv: -kv[1]):
                n_des = parts.calls[f"{method}/DES"] / iterations
                n_parity = parts.calls[f"{method}/parity"] / iterations
                m = {
                    "us": ns / iterations / 1000,
                    "des_ops": n_des,
                    "des_us": parts.ns[f"{method}/DES"] / iterations / 1000,
                    "parity_us": parts.ns[f"{method}/parity"] / iterations / 1000,
                }
                m["other_us"] = m["us"] - m["des_us"] - m["parity_us"] - (n_des + n_parity) * cost
                per[method] = m
                print(f"   {cmd:<4} {method:<16} {m['us']:6.1f} {n_des:7.0f} {m['des_us']:7.1f} {m['parity_us']:9.1f} {m['other_us']:8.1f}")
            host_us = sum(m["us"] for m in per.values())
            des_us = sum(m["des_us"] for m in per.values())
            des_ops = sum(m["des_ops"] for m in per.values())
            parity_us = sum(m["parity_us"] for m in per.values())
            other_us = sum(m["other_us"] for m in per.values())
            print(
                f"   {cmd:<4} {'all':<16} {host_us:6.1f} {des_ops:7.0f} {des_us:7.1f} {parity_us:9.1f} {other_us:8.1f}"
                f"   ({des_us / host_us:.0%} DES, {parity_us / host_us:.0%} parity, {other_us / host_us:.0%} other;"
                f" execute {total / iterations / 1000:.1f} µs)"
            )
            result[cmd] = {"by_method": per, "host_us": host_us, "des_ops": des_ops, "des_us": des_us, "parity_us": parity_us}
    print("   other = Python around them: key field parsing, LMK pair and scheme variants, key type lookup, handles, hex")
    steps = _des_op_parts()
    result["des_op_steps_us"] = steps
    whole = steps["des.encrypt_ecb, all of it"]
    work = steps["update(8 bytes) on a ready context"]
    print("\n   one DES operation in hsmd.host.des, step by step (µs, best of 5; a new Cipher and context for every 8-byte block):")
    for name, us in steps.items():
        print(f"   {us:7.2f}  {name}")
    print(
        f"   -> the encryption itself is {work:.2f} of {whole:.2f} µs ({work / whole:.0%}); {1 - work / whole:.0%} is building"
        f" the TripleDES/Cipher objects and the context with its key schedule, every operation."
    )
    # Projection, from the share run's totals and the breakdown run's proportions (ratios survive a noisy
    # machine better than absolute µs across two runs): the DES part of the host time, scaled by the
    # micro-benchmark's encryption/whole ratio, is what reused contexts would have cost. Only the
    # LMK-side operations have a fixed key (an LMK pair + type variant) to keep a context for.
    print("   projected share if DES operations cost only the encryption (a context reused instead of built per block):")
    for cmd in over:
        a, b = shares[cmd], result[cmd]
        lmk_des = sum(m["des_us"] for name, m in b["by_method"].items() if name in LMK_SIDE)
        projected = {}
        for label, des_us in (("LMK-side ops", lmk_des), ("every DES op (a bound)", b["des_us"])):
            saved = a["host_us"] * des_us / b["host_us"] * (1 - work / whole)
            projected[label] = (a["host_us"] - saved) / (a["execute_us"] - saved)
        b["projected_share"] = projected
        print(f"   {cmd:<4} now {a['share']:.1%}; " + "; ".join(f"{k} with reused contexts: {v:.1%}" for k, v in projected.items()))
    in_situ = sum(result[c]["des_us"] for c in over) / sum(result[c]["des_ops"] for c in over)
    print(
        f"   (a DES operation took {in_situ:.1f} µs inside a request, meter included, against {whole:.1f} µs in the tight loop"
        f" above; most likely colder caches after the wasm guest has run)"
    )
    return result
