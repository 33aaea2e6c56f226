"""Micro-benchmark: the cost of one JSON request log line, and write syscalls per line.

Run with ``python -m bench.log_line [--lines N] [--repeats R] [--breakdown]``.

Emits the line the server writes per request (event ``request`` with ``conn_id`` and
``peer`` bound through contextvars) through ``hsmd.logging.configure_logging("json", ...)``
into ``os.devnull``, and prints microseconds per line (best and median of R runs of N
lines): each line on its own, as a lone request's, and 16 to a ``one_write()`` block, as
the server writes a pipelined batch's lines. As a reference in the same run it times structlog's stock pipeline with the same
processors and hsmd's ``redact_secrets`` (PrintLogger, TimeStamper(fmt="iso"),
JSONRenderer): what hsmd used before it had its own output stage.

Write syscalls per line are counted at the raw-file level (every ``FileIO.write`` is one
``write(2)``) for the three shapes stderr takes in practice: ``PYTHONUNBUFFERED=1``
(text layer straight on the raw file, write-through), Python's default stderr
(line-buffered), and a plain ``open(os.devnull, "w")`` (block-buffered).

``--breakdown`` also times each processor of the configured chain on its own.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import structlog

from hsmd.logging import configure_logging, one_write, redact_secrets

TARGET_US = 8.0
BATCH = 16  # a pipelined batch: the server writes a connection batch's request lines in one_write()
CONN_ID = 7
PEER = "127.0.0.1:54321"


class CountingFileIO(io.FileIO):
    """A raw file that counts its write calls: each one is exactly one write(2)."""

    writes = 0

    def write(self, data: Any, /) -> int:
        self.writes += 1
        return super().write(data)


def _streams() -> dict[str, tuple[TextIO, CountingFileIO]]:
    """Text streams shaped like stderr in its three usual configurations, over counting raw files."""
    shapes: dict[str, tuple[TextIO, CountingFileIO]] = {}
    # PYTHONUNBUFFERED=1 / -u: CPython puts the text layer directly on the raw file, write-through.
    raw = CountingFileIO(os.devnull, "w")
    shapes["PYTHONUNBUFFERED=1"] = (io.TextIOWrapper(raw, encoding="utf-8", write_through=True), raw)
    # Default stderr since Python 3.9: buffered, line-buffered text layer.
    raw = CountingFileIO(os.devnull, "w")
    shapes["line-buffered (default stderr)"] = (io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=True), raw)
    # What open(os.devnull, "w") gives: block-buffered.
    raw = CountingFileIO(os.devnull, "w")
    shapes["block-buffered (open())"] = (io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8"), raw)
    return shapes


def _configure_stock(stream: TextIO) -> None:
    """structlog's stock pieces around hsmd's redaction: the pre-optimisation shape."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger("info"),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )


def _emit_lines(lines: int, batch: int = 1) -> float:
    """Log `lines` request lines through the current configuration, `batch` per one_write() block
    (1: none, each line on its own as a lone request's); returns µs per line."""
    log = structlog.get_logger("hsmd.server")
    info = log.info
    gc.collect()
    t0 = time.perf_counter_ns()
    if batch == 1:
        for i in range(lines):
            info("request", request_id=f"{CONN_ID}-{i}", command="NC", error_code="00", duration_us=123)
    else:
        for start in range(0, lines, batch):
            with one_write():
                for i in range(start, min(lines, start + batch)):
                    info("request", request_id=f"{CONN_ID}-{i}", command="NC", error_code="00", duration_us=123)
    return (time.perf_counter_ns() - t0) / lines / 1000


def _time_config(configure: Callable[[TextIO], None], lines: int, repeats: int, batch: int = 1) -> tuple[float, float]:
    with open(os.devnull, "w") as stream:
        configure(stream)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(conn_id=CONN_ID, peer=PEER)
        try:
            _emit_lines(max(1000, lines // 10), batch)  # warm-up: caches, first-use logger binding
            runs = sorted(_emit_lines(lines, batch) for _ in range(repeats))
        finally:
            structlog.contextvars.clear_contextvars()
            structlog.reset_defaults()
    return runs[0], statistics.median(runs)


def _writes_per_line(configure: Callable[[TextIO], None], stream: TextIO, raw: CountingFileIO, lines: int, batch: int = 1) -> float:
    configure(stream)
    structlog.contextvars.bind_contextvars(conn_id=CONN_ID, peer=PEER)
    try:
        _emit_lines(10)
        stream.flush()
        before = raw.writes
        _emit_lines(lines, batch)
        after = raw.writes  # no flush here: only what the logger itself caused
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
    return (after - before) / lines


def _breakdown(lines: int) -> None:
    """Each processor of the configured JSON chain, timed alone on a fresh request event."""
    with open(os.devnull, "w") as stream:
        configure_logging("json", "info", stream=stream)
        structlog.contextvars.bind_contextvars(conn_id=CONN_ID, peer=PEER)
        try:
            config = structlog.get_config()
            processors: list[Any] = config["processors"]
            logger = config["logger_factory"]()
            # Feed each processor what the previous one produced, as the chain would.
            events: list[Any] = []
            event: Any = {"event": "request", "request_id": "7-1", "command": "NC", "error_code": "00", "duration_us": 123}
            for proc in processors:
                events.append(event)
                event = proc(logger, "info", dict(event) if isinstance(event, dict) else event)
            print(f"   {'processor':<44} {'µs/call':>8}")
            for proc, sample in zip(processors, events, strict=True):
                gc.collect()
                fresh = [dict(sample) for _ in range(lines)] if isinstance(sample, dict) else [sample] * lines
                t0 = time.perf_counter_ns()
                for item in fresh:
                    proc(logger, "info", item)
                per = (time.perf_counter_ns() - t0) / lines / 1000
                print(f"   {_name(proc):<44} {per:8.2f}")
            gc.collect()
            t0 = time.perf_counter_ns()
            for _ in range(lines):
                logger.info(event)
            print(f"   {'output: ' + type(logger).__name__ + '.info':<44} {(time.perf_counter_ns() - t0) / lines / 1000:8.2f}")
        finally:
            structlog.contextvars.clear_contextvars()
            structlog.reset_defaults()


def _name(proc: object) -> str:
    name = getattr(proc, "__qualname__", None) or type(proc).__qualname__
    return f"{getattr(proc, '__module__', None) or type(proc).__module__}.{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.log_line", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=100_000, help="lines per timed run (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per configuration (default 5)")
    parser.add_argument("--breakdown", action="store_true", help="also time each processor alone")
    args = parser.parse_args(argv)

    def hsmd_json(stream: TextIO) -> None:
        configure_logging("json", "info", stream=stream)

    configs: list[tuple[str, Callable[[TextIO], None], int]] = [
        ("hsmd configure_logging('json')", hsmd_json, 1),
        (f"hsmd, {BATCH} lines per one_write()", hsmd_json, BATCH),
        ("reference: structlog stock pipeline", _configure_stock, 1),
    ]
    print(f"JSON request line, {args.lines} lines x {args.repeats} runs into os.devnull (loadavg {os.getloadavg()[0]:.2f})")
    print(f"   {'configuration':<38} {'best µs':>8} {'median':>8}")
    results: dict[str, float] = {}
    for name, configure, batch in configs:
        best, med = _time_config(configure, args.lines, args.repeats, batch)
        results[name] = med
        print(f"   {name:<38} {best:8.2f} {med:8.2f}")
    hsmd_us = results[configs[0][0]]
    ok = hsmd_us <= TARGET_US
    print(f"   target <= {TARGET_US:.0f} µs per line (median): {'met' if ok else 'MISSED'}")

    print("write(2) calls per line, by stream shape")
    print(f"   {'configuration':<38} " + " ".join(f"{shape:>32}" for shape in _streams()))
    whole_lines = True
    for name, configure, batch in configs:
        counts = []
        for stream, raw in _streams().values():
            with stream:
                per_line = _writes_per_line(configure, stream, raw, 1024, batch)
            counts.append(per_line)
            if configure is hsmd_json and per_line != 1.0 / batch:  # a batch of 16 ~200-byte lines fits PIPE_BUF
                whole_lines = False
        print(f"   {name:<38} " + " ".join(f"{count:>32.3f}" for count in counts))
    print(f"   hsmd: exactly one write(2) per line, or per {BATCH}-line batch, on every stream shape: {'yes' if whole_lines else 'NO'}")

    if args.breakdown:
        print(f"per-processor breakdown ({args.lines} calls each)")
        _breakdown(args.lines)
    return 0 if ok and whole_lines else 1


if __name__ == "__main__":
    sys.exit(main())
