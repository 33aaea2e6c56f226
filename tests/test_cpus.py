"""The CPU count behind `workers = "auto"` and the poll rule: the affinity mask, capped by a cgroup CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import hsmd.cpus
from hsmd.cpus import cpu_count, cpu_quota


def _membership(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "self-cgroup"
    path.write_text(text)
    return path


def _write(directory: Path, **files: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / (name.replace("_", ".", 1) if name == "cpu_max" else name)).write_text(text)


def test_a_v2_quota_is_read_from_the_process_cgroup_and_its_parents_the_smallest_counting(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    _write(root / "system.slice", cpu_max="max 100000\n")
    _write(root / "system.slice" / "hsmd.service", cpu_max="150000 100000\n")  # systemd CPUQuota=150%
    membership = _membership(tmp_path, "0::/system.slice/hsmd.service\n")
    assert cpu_quota(root, membership) == 1.5
    _write(root / "system.slice", cpu_max="50000 100000\n")  # a parent's quota limits its children
    assert cpu_quota(root, membership) == 0.5


def test_no_quota_is_none_max_or_unset_or_unreadable(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    _write(root / "a", cpu_max="max 100000\n")
    assert cpu_quota(root, _membership(tmp_path, "0::/a\n")) is None
    assert cpu_quota(root, _membership(tmp_path, "0::/not/mounted/here\n")) is None  # a container's view of the host's path
    assert cpu_quota(root, tmp_path / "missing") is None
    _write(root / "b", cpu_max="garbage\n")
    assert cpu_quota(root, _membership(tmp_path, "0::/b\n")) is None


def test_a_v1_quota_under_a_plain_cpu_mount_is_found_too(tmp_path: Path) -> None:
    # Controllers "cpu,cpuacct" mounted as /sys/fs/cgroup/cpu (the joined name absent).
    root = tmp_path / "cg"
    _write(root / "cpu" / "job", **{"cpu.cfs_quota_us": "250000\n", "cpu.cfs_period_us": "100000\n"})
    assert cpu_quota(root, _membership(tmp_path, "3:cpu,cpuacct:/job\n")) == 2.5


def test_a_v1_quota_is_read_from_the_cpu_controller_hierarchy(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    _write(root / "cpu,cpuacct" / "docker" / "abc", **{"cpu.cfs_quota_us": "100000\n", "cpu.cfs_period_us": "100000\n"})
    _write(root / "cpu,cpuacct" / "docker", **{"cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n"})
    membership = _membership(tmp_path, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert cpu_quota(root, membership) == 1.0  # docker --cpus=1
    _write(root / "cpu,cpuacct" / "docker" / "abc", **{"cpu.cfs_quota_us": "-1\n"})
    assert cpu_quota(root, membership) is None


def test_the_count_is_the_affinity_capped_by_the_quota_rounded_up_or_for_polling_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    for quota, expected, whole in ((None, 4, 4), (1.0, 1, 1), (1.5, 2, 1), (0.2, 1, 1), (2.5, 3, 2), (16.0, 4, 4)):
        monkeypatch.setattr(hsmd.cpus, "cpu_quota", lambda quota=quota: quota)
        assert (cpu_count(), cpu_count(whole=True)) == (expected, whole), quota
