"""Prometheus exposition of the unit's own counters, read at scrape time.

The request path only bumps plain counters (`UnitStatus.record` / `refuse`, the servers'
`PortStatus`, `Dispatcher.faults`); this collector turns them into metric families when
/metrics is scraped, in the event loop's thread, so it reads them between two requests.

| metric                                   | type      | labels               | from                        |
|------------------------------------------|-----------|----------------------|-----------------------------|
| hsmd_requests_total                      | counter   | command, code        | record() + refuse() (68)    |
| hsmd_request_duration_seconds            | histogram | command              | record(): the plugin call   |
| hsmd_plugin_faults_total                 | counter   | kind                 | Dispatcher.faults (workers: |
|                                          |           |                      | their answers; "worker":    |
|                                          |           |                      | the worker died)            |
| hsmd_plugin_info                         | gauge (1) | command, version,    | the live plugin set         |
|                                          |           | contract             |                             |
| hsmd_port_connections                    | gauge     | kind, host, port     | PortStatus (tcp, tls)       |
| hsmd_port_accepted_total                 | counter   | kind, host, port     | PortStatus (tcp, tls)       |
| hsmd_port_handshake_failures_total       | counter   | kind, host, port     | PortStatus (tls)            |
| hsmd_port_datagrams_total                | counter   | kind, host, port     | PortStatus (udp)            |
| hsmd_port_malformed_total                | counter   | kind, host, port     | PortStatus: short frames    |
|                                          |           |                      | (ZZ51/ZZ15), bad datagrams  |
| hsmd_port_{received,sent}_frames_total   | counter   | kind, host, port     | PortStatus (what NI reports)|
| hsmd_port_{received,sent}_bytes_total    | counter   | kind, host, port     | PortStatus (what NI reports)|
| hsmd_pin_verifications                   | gauge     | window (minute/hour) | what J8 reports             |
| hsmd_reloads_total                       | counter   | result (ok/failed)   | SIGHUP reloads              |
| hsmd_workers                             | gauge     |                      | worker processes alive (1:  |
|                                          |           |                      | in-process, workers = 0)    |
| hsmd_worker_restarts_total               | counter   |                      | workers replaced after dying|
| hsmd_ready                               | gauge     |                      | 1 when /readyz answers 200  |

Plus the process collector's ``process_*`` (CPU seconds, resident memory, open files, start
time). Summed over ``code``, ``hsmd_requests_total`` without code 68 is J4's volume per
command: J4 counts only commands a plugin answered. A frame too short to hold a command code
is no request: it counts in ``hsmd_port_malformed_total`` of its port.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import accumulate
from typing import Final

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from hsmd.host.status import LATENCY_BOUNDS
from hsmd.ops import Ops
from hsmd.workers import WorkerPool

__all__ = ["UnitCollector", "registry"]

_LE: Final = (*(floatToGoString(bound) for bound in LATENCY_BOUNDS), "+Inf")  # type: ignore[no-untyped-call]
_ALL: Final = ("tcp", "tls", "udp")
# PortStatus counters: (field, metric, help, the port kinds it means something for).
_PORT_METRICS: Final = (
    ("connections", "hsmd_port_connections", "Connections open now, by host port.", ("tcp", "tls")),
    ("accepted", "hsmd_port_accepted", "Connections accepted since start, by host port.", ("tcp", "tls")),
    ("handshake_failures", "hsmd_port_handshake_failures", "TLS handshakes that failed or timed out.", ("tls",)),
    ("datagrams", "hsmd_port_datagrams", "Datagrams received, by UDP host port.", ("udp",)),
    (
        "malformed",
        "hsmd_port_malformed",
        "Frames too short for header and command (answered ZZ51/ZZ15); on UDP also datagrams dropped as not one frame.",
        _ALL,
    ),
    ("frames_received", "hsmd_port_received_frames", "Frames (UDP: datagrams holding one frame) received, by host port.", _ALL),
    ("frames_sent", "hsmd_port_sent_frames", "Answers sent, by host port.", _ALL),
    ("bytes_received", "hsmd_port_received_bytes", "Bytes received, by host port.", _ALL),
    ("bytes_sent", "hsmd_port_sent_bytes", "Bytes sent, by host port.", _ALL),
)


class UnitCollector(Collector):
    """hsmd's counters as metric families, built afresh at every scrape."""

    def __init__(self, ops: Ops) -> None:
        self._ops = ops

    def collect(self) -> Iterable[Metric]:
        ops, status = self._ops, self._ops.status

        requests = CounterMetricFamily(
            "hsmd_requests",
            "Requests answered, by command code and error code (68: no plugin serves the command).",
            labels=["command", "code"],
        )
        answered: Counter[tuple[str, str]] = Counter(status.answers)
        for command, count in status.refused.items():
            answered[command, "68"] += count
        for (command, code), count in sorted(answered.items()):
            requests.add_metric([command, code], count)
        yield requests

        latency = HistogramMetricFamily(
            "hsmd_request_duration_seconds", "Time in the plugin call, by command (what J2's load bands add up).", labels=["command"]
        )
        for command, histogram in sorted(status.latency.items()):
            latency.add_metric([command], list(zip(_LE, accumulate(histogram.buckets), strict=True)), histogram.sum)
        yield latency

        faults = CounterMetricFamily("hsmd_plugin_faults", "Plugin calls that faulted (answered 41), by kind.", labels=["kind"])
        for kind, count in sorted(ops.dispatcher.faults.items()):
            faults.add_metric([kind], count)
        yield faults

        info = GaugeMetricFamily(
            "hsmd_plugin_info", "The loaded plugins (always 1): version and WIT contract.", labels=["command", "version", "contract"]
        )
        for command, plugin in sorted(ops.plugins().items()):
            info.add_metric([command, plugin.meta.version, plugin.contract], 1)
        yield info

        for field, name, documentation, kinds in _PORT_METRICS:
            port_family = GaugeMetricFamily if field == "connections" else CounterMetricFamily
            family = port_family(name, documentation, labels=["kind", "host", "port"])
            for port in status.ports:
                if port.kind in kinds:
                    family.add_metric([port.kind, port.host, str(port.port)], getattr(port, field))
            yield family

        per_minute, per_hour = status.verifications()
        verifications = GaugeMetricFamily(
            "hsmd_pin_verifications", "PIN verifications in the last minute and hour (J8).", labels=["window"]
        )
        verifications.add_metric(["minute"], per_minute)
        verifications.add_metric(["hour"], per_hour)
        yield verifications

        reloads = CounterMetricFamily("hsmd_reloads", "Plugin reloads (SIGHUP), by result.", labels=["result"])
        for result in ("ok", "failed"):
            reloads.add_metric([result], status.reloads[result])
        yield reloads

        pool = ops.dispatcher if isinstance(ops.dispatcher, WorkerPool) else None
        yield GaugeMetricFamily(
            "hsmd_workers",
            "Worker processes serving host commands, alive now (1 when the server runs them itself: [server] workers = 0).",
            value=1 if pool is None else pool.alive,
        )
        restarts = 0 if pool is None else pool.restarts
        yield CounterMetricFamily("hsmd_worker_restarts", "Worker processes started again after one died.", value=restarts)
        yield GaugeMetricFamily(
            "hsmd_ready", "1 while /readyz answers 200: plugins loaded, host ports listening, not stopping.", value=int(ops.ready)
        )


def registry(ops: Ops) -> CollectorRegistry:
    """A registry of its own (not the process-global one): this unit's counters and the process's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(UnitCollector(ops))
    ProcessCollector(registry=registry)
    return registry
