"""Closed-loop load generator: N connections, each keeping W requests in flight.

Run as its own process (`python -m bench.load ...`, JSON on stdout) so it never
shares an interpreter with the server it measures. It shares the CPUs, though,
so the hot loop works per received chunk, not per request: one clock read per
recv, one send per batch of replacement requests, and a correct chunk of k
answers is verified with one comparison against k precomputed answers.
Latency is recorded as (latency, count) pairs for the same reason.

An answer that differs per request (A0's key is random) is checked with
`--expect-prefix-hex` and `--expect-len` instead of `--expect-hex`: each frame
must start with the prefix (header, response code, error code) and have the
expected length.
"""

from __future__ import annotations

import argparse
import collections
import json
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

_NS = 1_000_000_000


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


@dataclass
class _Conn:
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    # (send time, number of requests) per send, oldest first: answers arrive in request order.
    batches: collections.deque[list[int]] = field(default_factory=collections.deque)
    outstanding: int = 0


class _Checker:
    """Counts complete answers in a receive buffer and how many of them are wrong."""

    def __init__(self, expect: bytes, window: int) -> None:
        self.expect = expect
        self.size = len(expect) + 2
        self.runs = [_frame(expect) * k for k in range(window + 1)]

    def take(self, buf: bytearray) -> tuple[int, int]:
        k = min(len(buf) // self.size, len(self.runs) - 1)
        if k and buf[: k * self.size] == self.runs[k]:
            del buf[: k * self.size]
            return k, 0
        # Something differs (an error answer has another length): walk the frames one by one.
        pos = done = bad = 0
        while len(buf) - pos >= 2:
            end = pos + 2 + int.from_bytes(buf[pos : pos + 2], "big")
            if end > len(buf):
                break
            done += 1
            bad += buf[pos + 2 : end] != self.expect
            pos = end
        del buf[:pos]
        return done, bad


class _PrefixChecker:
    """Like _Checker for answers that vary: every frame must start with `prefix` and be `length` bytes long."""

    def __init__(self, prefix: bytes, length: int) -> None:
        self.prefix = prefix
        self.length = length

    def take(self, buf: bytearray) -> tuple[int, int]:
        pos = done = bad = 0
        prefix, n = self.prefix, len(self.prefix)
        while len(buf) - pos >= 2:
            size = int.from_bytes(buf[pos : pos + 2], "big")
            end = pos + 2 + size
            if end > len(buf):
                break
            done += 1
            bad += size != self.length or buf[pos + 2 : pos + 2 + n] != prefix
            pos = end
        del buf[:pos]
        return done, bad


def run(
    port: int, request: bytes, checker: _Checker | _PrefixChecker, conns: int, window: int, duration: float, warmup: float
) -> dict[str, Any]:
    wire = _frame(request)
    selector = selectors.DefaultSelector()
    connections = []
    for _ in range(conns):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock)
        selector.register(sock, selectors.EVENT_READ, conn)
        connections.append(conn)

    clock = time.perf_counter_ns
    started = clock()
    window_start = started + int(warmup * _NS)
    window_end = window_start + int(duration * _NS)
    for conn in connections:
        conn.batches.append([clock(), window])
        conn.outstanding = window
        conn.sock.sendall(wire * window)

    answered = errors = measured = 0
    latencies: list[tuple[int, int]] = []  # (ns, count)
    sending = True
    deadline = window_end + 10 * _NS  # drain limit: a wedged server must not hang the bench
    while True:
        for key, _ in selector.select(timeout=0.5):
            conn = key.data
            data = conn.sock.recv(262144)
            now = clock()
            if not data:
                raise ConnectionError("server closed a connection")
            conn.buf += data
            n, bad = checker.take(conn.buf)
            if not n:
                continue
            answered += n
            errors += bad
            conn.outstanding -= n
            in_window = window_start <= now < window_end
            if in_window:
                measured += n
            left = n
            batches = conn.batches
            while left:
                batch = batches[0]
                take = batch[1] if batch[1] <= left else left
                if in_window:
                    latencies.append((now - batch[0], take))
                batch[1] -= take
                left -= take
                if not batch[1]:
                    batches.popleft()
            if sending:
                batches.append([clock(), n])
                conn.outstanding += n
                conn.sock.sendall(wire * n)
        now = clock()
        if sending and now >= window_end:
            sending = False  # stop replacing answers; drain what is in flight
        if not sending and (not any(c.outstanding for c in connections) or now > deadline):
            break
    unanswered = sum(c.outstanding for c in connections)
    for conn in connections:
        selector.unregister(conn.sock)
        conn.sock.close()
    p50, p99, p999 = _percentiles(latencies, (50, 99, 99.9))
    return {
        "connections": conns,
        "window": window,
        "duration_s": duration,
        "requests": measured,
        "requests_total": answered,
        "rps": measured / duration,
        "p50_us": p50 / 1000,
        "p99_us": p99 / 1000,
        "p999_us": p999 / 1000,
        "errors": errors + unanswered,
        "unanswered": unanswered,
    }


def _percentiles(pairs: list[tuple[int, int]], qs: tuple[float, ...]) -> list[float]:
    # Kept local (not bench.common) so this process imports nothing but the stdlib.
    ordered = sorted(pairs)
    total = sum(count for _, count in ordered)
    out = []
    for q in qs:
        needed = max(1, min(total, round(q / 100 * total + 0.5)))
        seen = 0
        value = float("nan")
        for latency, count in ordered:
            seen += count
            if seen >= needed:
                value = float(latency)
                break
        out.append(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request-hex", required=True, help="request message without the length prefix")
    expect = parser.add_mutually_exclusive_group(required=True)
    expect.add_argument("--expect-hex", help="the exact answer message expected")
    expect.add_argument("--expect-prefix-hex", help="what every answer message starts with (needs --expect-len)")
    parser.add_argument("--expect-len", type=int, help="the answer message's length, with --expect-prefix-hex")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    checker: _Checker | _PrefixChecker
    if args.expect_hex is not None:
        checker = _Checker(bytes.fromhex(args.expect_hex), args.window)
    elif args.expect_len is None:
        parser.error("--expect-prefix-hex needs --expect-len")
    else:
        checker = _PrefixChecker(bytes.fromhex(args.expect_prefix_hex), args.expect_len)
    result = run(
        args.port,
        bytes.fromhex(args.request_hex),
        checker,
        args.connections,
        args.window,
        args.duration,
        args.warmup,
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
