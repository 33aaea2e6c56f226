"""hsmd.systemd: sd_notify datagrams, received on a real AF_UNIX socket."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hsmd.systemd
from hsmd import systemd


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd, named in $NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_public_api_is_pinned() -> None:
    assert sorted(hsmd.systemd.__all__) == [
        "notify",
        "ready",
        "reloading",
        "status",
        "stopping",
    ]


def test_without_notify_socket_every_call_is_a_silent_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    assert systemd.ready("up") is False
    assert systemd.stopping() is False
    assert systemd.reloading() is False
    assert systemd.status("x") is False


def test_notify_sends_the_state_as_one_datagram(manager: socket.socket) -> None:
    assert systemd.notify("READY=1\nSTATUS=hi") is True
    assert received(manager) == "READY=1\nSTATUS=hi"


def test_ready_without_status(manager: socket.socket) -> None:
    assert systemd.ready() is True
    assert received(manager) == "READY=1"


def test_ready_with_status(manager: socket.socket) -> None:
    assert systemd.ready("listening on 127.0.0.1:1500") is True
    assert received(manager) == "READY=1\nSTATUS=listening on 127.0.0.1:1500"


def test_stopping(manager: socket.socket) -> None:
    assert systemd.stopping() is True
    assert received(manager) == "STOPPING=1"


def test_status(manager: socket.socket) -> None:
    assert systemd.status("12 plugins") is True
    assert received(manager) == "STATUS=12 plugins"


def test_status_text_cannot_inject_another_assignment(manager: socket.socket) -> None:
    systemd.status("x\nREADY=1")
    assert received(manager) == "STATUS=x READY=1"


def test_reloading_carries_the_monotonic_clock_in_microseconds(
    manager: socket.socket,
) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.reloading() is True
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = received(manager).split("\n")
    assert first == "RELOADING=1"
    name, _, value = second.partition("=")
    assert name == "MONOTONIC_USEC"
    assert before <= int(value) <= after


@pytest.mark.skipif(sys.platform != "linux", reason="abstract sockets are Linux-only")
def test_leading_at_sign_means_the_abstract_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"hsmd-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("READY=1") is True
        assert received(sock) == "READY=1"


def test_unreachable_socket_returns_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "absent.sock"))
    assert systemd.notify("READY=1") is False


def test_unsupported_address_family_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert systemd.notify("READY=1") is False
