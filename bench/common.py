"""Shared helpers: paths, statistics, subprocess plumbing and the report every section fills."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "build" / "plugins"
CACHE = ROOT / "build" / "cache"
PYTHON = Path(sys.executable)
# The console script next to the interpreter: what an operator actually runs.
HSMD = PYTHON.parent / "hsmd"
FIRMWARE = "0007-E000"
HEADER = b"HEAD"
LOCALHOST = "127.0.0.1"

# Key-management, PIN and card requests (command, body), all valid under the public test LMK (the default);
# the PIN and CVV requests are ThalesSim's published vectors (tests/test_cmd_ca.py, _cc, _ec, _cw).
KEY_COMMANDS: tuple[tuple[str, bytes], ...] = (
    ("A0", b"0001U"),  # generate a double-length ZPK, mode 0: a random key every time
    ("BU", b"011U1EF828AA8F6B80EB83E19FBC373F3A85"),  # check value of a ZPK under the LMK
    ("FA", b"U1457FF6ADF6250C66C368416B4C9D3832B930A07119F93A8"),  # ZPK from under a ZMK to under the LMK
    # PIN from a TPK (ISO 0) to a ZPK (ISO 0)
    ("CA", b"U8463435FC4B4DAA0C49025272C29B12CU1EF828AA8F6B80EB83E19FBC373F3A85126428EB94035AF53B0101550000025321"),
    # PIN from one ZPK (IBM 3624 format) to another (ISO 0)
    ("CC", b"BAB32D775A38E4ABU1EF828AA8F6B80EB83E19FBC373F3A8512F7808F2CBEC631680301550000025321"),
    # verify an interchange PIN by Visa PVV
    ("EC", b"U1EF828AA8F6B80EB83E19FBC373F3A85X367930344805B1FAD6146EF4ED7502B391DDDA0A7C12CFAA0155000002532114402"),
    # generate a CVV
    ("CW", b"U9B4934384B19946B040CD702B4D581454123456789012345;8701101"),
    # an ISO 9797-1 MAC, algorithm 3, 32 bytes as hex (ThalesSim's M6 vector; tests/test_cmd_m6.py)
    ("M6", b"01032003U19D25F349FD03CC3556BB05F65283CA10040" + b"72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"),
    # encrypt 8 bytes (16 hex) under a DEK, ECB (tests/test_cmd_m0.py)
    ("M0", b"00" + b"1" + b"1" + b"00B" + b"UA5F7447E8D9068513B94C51EF06E64EF" + b"0010" + b"0011223344556677"),
    # verify a Visa ARQC (binary fields; tests/test_cmd_kq.py)
    (
        "KQ",
        bytes.fromhex(
            "303055373437353633364343333042393342343933434635454135333739394542434361739001010010010001123456783237"
            "000000001000000000000000084000000000000840230101003412345678380000010203a0b8003b08a3f7861db29926"
        ),
    ),
    # a PIN from a single-DES DUKPT terminal to a ZPK (jPOS's block, ThalesSim's keys; tests/test_cmd_ci.py)
    ("CI", b"U8E3D3E2FD5919657F05A1AA90D32A014U9D961F6AF1D24B38AB37B320022FF57D605FFFF9876543210E000016B1431D0D9B2309301401234567890"),
)
RANDOM_ANSWERS = frozenset({"A0"})  # commands whose answer differs per call: check code and length only


# --- statistics ---


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def weighted_percentiles(pairs: Iterable[tuple[int, int]], qs: Sequence[float]) -> list[float]:
    """Percentiles of (value, count) pairs, without expanding them into one item per sample."""
    ordered = sorted(pairs)
    total = sum(count for _, count in ordered)
    if total == 0:
        return [float("nan")] * len(qs)
    out = []
    for q in qs:
        needed = max(1, min(total, round(q / 100 * total + 0.5)))
        seen = 0
        for value, count in ordered:
            seen += count
            if seen >= needed:
                out.append(float(value))
                break
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- processes and sockets ---


def free_port() -> int:
    # The kernel picks; the tiny race until the server binds is acceptable on a bench host.
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        port: int = s.getsockname()[1]
    return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    """Poll-connect until `port` accepts; returns seconds waited. Fails fast if `proc` died."""
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), timeout=0.5):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"nothing listening on {port} after {timeout:.0f} s")
        time.sleep(0.02)


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM, wait, and SIGKILL only if the process ignores it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size from /proc (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def hsmd_env(port: int, **extra: str) -> dict[str, str]:
    """Environment for `hsmd serve`: realistic JSON logging at info, absolute plugin paths."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HSMD_") and k != "NOTIFY_SOCKET"}
    env.update(
        HSMD_SERVER_PORT=str(port),
        HSMD_SERVER_HOST=LOCALHOST,
        HSMD_SERVER_HEADER_LEN=str(len(HEADER)),
        HSMD_LOGGING_FORMAT="json",
        HSMD_LOGGING_LEVEL="info",
        HSMD_PLUGINS_DIR=str(PLUGINS),
        HSMD_PLUGINS_CACHE_DIR=str(CACHE),
        HSMD_HSM_FIRMWARE_NUMBER=FIRMWARE,
    )
    env.update(extra)
    return env


def nc_fields() -> bytes:
    """What NC answers after the error code with the public test LMK: check value + firmware."""
    from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope

    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    return (host.lmk_check_value(RequestScope("bench"), None) + FIRMWARE).encode("ascii")


def key_answers() -> dict[str, bytes]:
    """Error code + fields each of KEY_COMMANDS answers, computed natively (A0: one random key)."""
    import importlib

    from hsmd_sdk.response import respond

    from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
    from hsmd.host.native import NativeHsm

    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    out = {}
    for command, body in KEY_COMMANDS:
        execute = importlib.import_module(f"logic.{command.lower()}").execute
        answer = respond(execute, body, NativeHsm(host, RequestScope("bench")))
        if not answer.startswith(b"00"):
            raise RuntimeError(f"{command} {body!r} answers {answer!r}, not 00")
        out[command] = answer
    return out


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "wasmtime": metadata.version("wasmtime"),
        "trio": metadata.version("trio"),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# --- the report ---


@dataclass
class Row:
    """One line of the summary table."""

    metric: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "ok", "MISSED" or "" when there is no target


@dataclass
class Report:
    data: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    @contextlib.contextmanager
    def section(self, key: str, title: str) -> Iterator[dict[str, Any]]:
        print(f"\n== {title} ==", flush=True)
        started = time.monotonic()
        result: dict[str, Any] = {}
        self.data[key] = result
        try:
            yield result
        finally:
            result["section_seconds"] = round(time.monotonic() - started, 2)
            print(f"   ({time.monotonic() - started:.1f} s)", flush=True)

    def row(self, row: Row) -> None:
        self.rows.append(row)

    def summary(self) -> str:
        header = Row("metric", "value", "baseline", "ratio", "target", "")
        table = [header, *self.rows]
        columns = ("metric", "value", "baseline", "ratio", "target", "verdict")
        widths = [max(len(getattr(r, c)) for r in table) for c in columns]
        lines = []
        for i, r in enumerate(table):
            lines.append("  ".join(getattr(r, c).ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"
