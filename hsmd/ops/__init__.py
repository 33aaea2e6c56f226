"""The HTTP ops listener: what operators and their monitoring see of a running unit.

``[http]`` in hsmd.toml turns it on (off by default, loopback by default). `http` serves the
routes (starlette, on hypercorn's trio worker, in the app's own event loop), `metrics` turns
the unit's counters into Prometheus exposition at scrape time, `token` reads POST /run's
bearer token. `Ops` is the state they share with the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hsmd.dispatch import Dispatcher
from hsmd.host.status import UnitStatus
from hsmd.runtime import Metadata
from hsmd.workers import WorkerPool

__all__ = ["Ops", "ServedPlugin"]


class ServedPlugin(Protocol):
    """A plugin as the ops routes show it: a loaded Plugin (in-process) or a workers' PluginView."""

    @property
    def meta(self) -> Metadata: ...
    @property
    def contract(self) -> str: ...
    @property
    def loaded_at(self) -> float: ...
    @property
    def faults(self) -> int: ...


@dataclass(eq=False)
class Ops:
    """What the ops listener reads and acts on; the app owns it and flips `ready`."""

    dispatcher: Dispatcher | WorkerPool  # in-process ([server] workers = 0), or the worker processes
    status: UnitStatus
    header_len: int  # [server] header_len: POST /run's request counts against the frame size with it
    # Plugins loaded and every host port listening; False again from the first stop signal.
    ready: bool = False

    def plugins(self) -> dict[str, ServedPlugin]:
        """The plugins served now, by command code."""
        return dict(self.dispatcher.plugins)
