"""How many CPUs this process can use: the default worker count, and whether polling pays.

Two limits narrow the machine's CPUs, and a container or a systemd unit may set either:
the affinity mask (cpusets, `taskset`, systemd's CPUAffinity=) and a CFS bandwidth quota
(`docker --cpus`, Kubernetes CPU limits, systemd's CPUQuota=). The quota is the CPU time the
kernel lets the cgroup use per period: 150000 µs per 100000 µs is 1.5 CPUs, rounded up to 2
workers. Starting one worker per host CPU under a 1-CPU quota would only add processes that
wait for their share, and poll loops burn the quota they wait for: polling asks for two
whole CPUs (`whole=True`). A quota set on a parent
cgroup limits its children too, so the smallest on the path up to the root counts.

cgroup v2 keeps the quota in `cpu.max` ("QUOTA PERIOD", "max PERIOD" for none) of the
process's cgroup (`0::/path` in /proc/self/cgroup); cgroup v1 in `cpu.cfs_quota_us` (-1 for
none) and `cpu.cfs_period_us` of its cpu controller's hierarchy.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["cpu_count", "cpu_quota"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_SELF = Path("/proc/self/cgroup")


def cpu_count(*, whole: bool = False) -> int:
    """The CPUs this process may run on (its affinity mask), at most its cgroup's CPU quota: rounded
    up (a worker for a part of a CPU), or with `whole` down (whether a second CPU is there to poll on)."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        affinity = os.cpu_count() or 1
    quota = cpu_quota()
    if quota is None:
        return affinity
    return max(1, min(affinity, math.floor(quota) if whole else math.ceil(quota)))


def cpu_quota(root: Path = _CGROUP_ROOT, membership: Path = _SELF) -> float | None:
    """CPUs' worth of time the process's cgroup and its ancestors allow (the smallest), or None
    if none sets a quota or the cgroup files cannot be read (not Linux, no cgroup mounted)."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:  # v2: the unified hierarchy
            quotas += [q for d in _ancestors(root, path) if (q := _v2_quota(d)) is not None]
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own hierarchy
            base = root / controllers if (root / controllers).is_dir() else root / "cpu"
            quotas += [q for d in _ancestors(base, path) if (q := _v1_quota(d)) is not None]
    return min(quotas, default=None)


def _ancestors(base: Path, path: str) -> list[Path]:
    """The cgroup directory of `path` under `base` and each parent up to `base` itself. (Inside a
    container the path may name the host's hierarchy, which is not mounted: what exists counts.)"""
    parts = [p for p in path.split("/") if p and p != ".."]
    return [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def _v2_quota(directory: Path) -> float | None:
    try:
        quota, period = (directory / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else _ratio(quota, period)


def _v1_quota(directory: Path) -> float | None:
    try:
        quota = (directory / "cpu.cfs_quota_us").read_text().strip()
        period = (directory / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return None if quota.startswith("-") else _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None
