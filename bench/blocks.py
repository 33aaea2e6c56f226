"""Section 1d: key-block, AES and RSA commands, in-process: each through its component and natively.

Issue 8's figures (A0 and BU on key blocks against their variant forms, EW
signing and EI generating RSA-2048 keys) and the AES forms of issue 7's MAC,
data and DUKPT commands. Every case runs in this process on one core, so the
CPU time per call is the server's cost of the command without the framing
(section 2 shows the framing); the native run of the same logic in the same
process is the baseline. Keys are made once up front under the public test
LMKs: 00 variant, 01 3DES key block, 02 AES key block.

Targets (issue 8): a key-block command within 1.5x the CPU of its variant
counterpart; EW at least 500 RSA-2048 signatures/s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from hsmd_sdk.response import respond

from bench.calls import time_calls
from bench.common import CACHE, FIRMWARE, PLUGINS, Report, Row, verdict
from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES
from hsmd.host.native import NativeHsm
from hsmd.runtime import Limits, Runtime
from logic import a0, bu, ei, ew, g0, gw, m0, m6

BLOCK_CPU_TARGET = 1.5  # key-block CPU per call / variant CPU per call
EW_RATE_TARGET = 500.0  # RSA-2048 signatures per second
MESSAGE = b"The quick brown fox jumps over the lazy dog"
TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # tests/test_cmd_m6.py
MAC_DATA = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
COMMANDS = ("A0", "BU", "M6", "M0", "G0", "GW", "EW", "EI")


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    body: bytes
    execute: Callable[..., Any]
    random: bool = False  # a fresh key (or random fill) each call: check code and length only
    iterations: int | None = None  # fewer for slow commands


def _host() -> Host:
    return Host(LmkSet({0: TEST_LMK, 1: TEST_KEYBLOCK_LMK_3DES, 2: TEST_KEYBLOCK_LMK_AES}), FIRMWARE)


def _native(host: Host, execute: Callable[..., Any], body: bytes) -> bytes:
    return respond(execute, body, NativeHsm(host, RequestScope("bench")))


def _ok(host: Host, execute: Callable[..., Any], body: bytes) -> bytes:
    answer = _native(host, execute, body)
    if answer[:2] != b"00":
        raise RuntimeError(f"setting up the bench: answer {answer[:2]!r} to {body[:24]!r}")
    return answer[2:]


def cases(host: Host) -> list[Case]:
    """The requests, with keys made once under the test LMKs."""
    zpk_block = _ok(host, a0.execute, b"0FFFS%01#P0T2B00N00")[:-6].decode()
    zpk_variant = _ok(host, a0.execute, b"0001U")[:-6].decode()
    aes_mac = _ok(host, a0.execute, b"0FFFS%02#M6A1C00N00")[:-6].decode()
    aes_zek = _ok(host, a0.execute, b"0FFFS%02#D0A1B00N00")[:-6].decode()
    aes_bdk = _ok(host, a0.execute, b"0FFFS%02#B0A1X00N00")[:-6].decode()
    aes_zpk = _ok(host, a0.execute, b"0FFFS%02#P0A1B00N00")[:-6].decode()
    pair = _ok(host, ei.execute, b"0204801")
    private = _private_key(pair)
    sign = b"060101" + f"{len(MESSAGE):04d}".encode() + MESSAGE + b";99" + f"{len(private):04d}".encode() + private
    pin_block = _iso4_block(host, aes_bdk, aes_zpk)
    return [
        Case("A0 variant", "A0", b"0001U", a0.execute, random=True),
        Case("A0 key block", "A0", b"0FFFS%01#P0T2B00N00", a0.execute, random=True),
        Case("BU variant", "BU", b"011" + zpk_variant.encode(), bu.execute),
        Case("BU key block", "BU", f"FFF{zpk_block};FFF%01".encode(), bu.execute),
        Case("M6 TDES X9.19", "M6", f"01032003{TAK_U}0040{MAC_DATA}".encode(), m6.execute),
        Case("M6 AES CMAC", "M6", f"01062FFF{aes_mac}0040{MAC_DATA}%02".encode(), m6.execute),
        Case("M0 AES 16 B", "M0", f"0011FFF{aes_zek}0020{'00' * 16}%02".encode(), m0.execute),
        Case("G0 AES DUKPT", "G0", pin_block, g0.execute, random=True),
        Case("GW AES CMAC", "GW", f"45{aes_bdk}A05123456789012345600000005".encode() + b"0024" + b"4321ABCD" * 3 + b"%02", gw.execute),
        Case("EW RSA-2048", "EW", sign, ew.execute, iterations=300),
        Case("EI RSA-2048", "EI", b"0204801", ei.execute, random=True, iterations=20),
    ]


def _der_length(data: bytes) -> int:
    """The length of the DER element at the start of `data` (EJ's public key: its own length says where it ends)."""
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def _private_key(pair: bytes) -> bytes:
    """EJ after the error code: public key DER · private key length (4 N) · private key."""
    at = _der_length(pair)
    length = int(pair[at : at + 4])
    return pair[at + 4 : at + 4 + length]


def _iso4_block(host: Host, bdk: str, zpk: str) -> bytes:
    """A G0 request: a terminal's format 48 PIN block under its AES DUKPT PIN key (made with the host's own functions)."""
    from hsmd.host import dukpt, pins

    scope = RequestScope("bench")
    held = host.key_from_lmk(scope, "FFF", bdk, 2)
    ksn = "123456789012345600000005"
    pin_key = dukpt.aes_key(scope.key(held).clear, ksn, "pin")
    block = pins.encrypt_iso4(pin_key, "246813", "4111111111111111")
    return f"{bdk}{zpk}A05{ksn}{block}48484111111111111111;%02".encode()


def run(report: Report, iterations: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    host = _host()
    with Runtime(host, Limits(), CACHE) as runtime, report.section("blocks", "1d. Key blocks, AES and RSA (in-process, one core)") as out:
        plan = cases(host)
        plugins = {cmd: runtime.load(PLUGINS / f"{cmd}.wasm") for cmd in {case.command for case in plan}}
        print(f"   {'case':<15} {'wasm p50':>9} {'p99':>9} {'CPU/call':>9} {'calls/s':>8} | {'native CPU':>10} {'ratio':>6}")
        for case in plan:

            def wasm(case: Case = case) -> bytes:
                return runtime.execute(plugins[case.command], case.body, RequestScope("bench"))

            def native(case: Case = case) -> bytes:
                return _native(host, case.execute, case.body)

            w_answer, n_answer = wasm(), native()
            same = (w_answer[:2] == n_answer[:2] and len(w_answer) == len(n_answer)) if case.random else w_answer == n_answer
            if w_answer[:2] != b"00" or not same:
                raise RuntimeError(f"{case.name}: wasm {w_answer[:24]!r} / native {n_answer[:24]!r}")
            count = case.iterations or iterations
            warmup = max(3, count // 10)
            w, n = time_calls(wasm, count, warmup), time_calls(native, count, warmup)
            out[case.name] = {"wasm": w, "native": n, "iterations": count}
            print(
                f"   {case.name:<15} {w['median_us']:8.1f}µ {w['p99_us']:8.1f}µ {w['cpu_us']:8.1f}µ {1e6 / w['mean_us']:8.0f} |"
                f" {n['cpu_us']:9.1f}µ {w['cpu_us'] / n['cpu_us']:5.1f}x"
            )
            ratio = w["cpu_us"] / n["cpu_us"]
            report.row(Row(f"{case.name} CPU/call", f"{w['cpu_us']:.0f} µs", f"native {n['cpu_us']:.0f} µs", f"{ratio:.1f}x"))
        for kind in ("A0", "BU"):
            block, variant = out[f"{kind} key block"]["wasm"]["cpu_us"], out[f"{kind} variant"]["wasm"]["cpu_us"]
            ok = block <= BLOCK_CPU_TARGET * variant
            out[f"{kind} block/variant"] = block / variant
            baseline, ratio_text = f"variant {variant:.0f} µs", f"{block / variant:.2f}x"
            target = f"≤ {BLOCK_CPU_TARGET}x"
            report.row(Row(f"{kind} key block vs variant CPU", f"{block:.0f} µs", baseline, ratio_text, target, verdict(ok)))
        rate = 1e6 / out["EW RSA-2048"]["wasm"]["mean_us"]
        target = f"≥ {EW_RATE_TARGET:.0f}"
        report.row(Row("EW RSA-2048 signatures/s (one core)", f"{rate:.0f}", "", "", target, verdict(rate >= EW_RATE_TARGET)))
    structlog.reset_defaults()
