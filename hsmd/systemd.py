"""The sd_notify protocol, without libsystemd.

systemd passes a datagram socket in ``$NOTIFY_SOCKET``; the service reports state changes
as newline-separated ``KEY=value`` assignments in one datagram. Without systemd the
variable is unset and every call here is a cheap no-op returning False, so the server runs
unchanged from a shell or under another supervisor.
"""

from __future__ import annotations

import os
import socket
import time

__all__ = ["notify", "ready", "reloading", "status", "stopping"]

# A notification is a few bytes; systemd reads it at once. The bound only matters if the
# manager is wedged, and then the start/stop timeout will report it anyway.
_SEND_TIMEOUT = 1.0


def notify(state: str) -> bool:
    """Send *state* (e.g. ``"READY=1"``) to systemd.

    Returns True if the datagram was sent; False if ``$NOTIFY_SOCKET`` is unset, names an
    unsupported address family, or the send failed (notification is best-effort: a
    missed one shows up as a systemd timeout, not as a crash of the HSM).
    """
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        # Abstract namespace socket (Linux): the name starts with a NUL byte.
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        return False  # unset, or e.g. "vsock:..." which only VMs use
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.settimeout(_SEND_TIMEOUT)
            s.sendto(state.encode(), address)
    except OSError:
        return False
    return True


def _one_line(text: str) -> str:
    # A newline would start a new assignment: STATUS must not be able to inject READY=1.
    return " ".join(text.splitlines())


def ready(status: str = "") -> bool:
    """Tell systemd start-up (or a reload) is complete; optionally set the status line."""
    return notify(f"READY=1\nSTATUS={_one_line(status)}" if status else "READY=1")


def stopping() -> bool:
    """Tell systemd a graceful shutdown has begun."""
    return notify("STOPPING=1")


def reloading() -> bool:
    """Tell systemd a reload has begun; send `ready` when it is done.

    ``Type=notify-reload`` requires ``MONOTONIC_USEC`` (CLOCK_MONOTONIC in microseconds)
    with ``RELOADING=1`` so it can match the reload to the later ``READY=1``.
    """
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")


def status(text: str) -> bool:
    """Set the free-form status line shown by ``systemctl status``."""
    return notify(f"STATUS={_one_line(text)}")
