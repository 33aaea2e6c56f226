"""The wall-clock deadline of plugin calls: wasmtime's epoch, bumped by a ticker thread.

Each entry into a guest (instantiation, metadata, init, execute, cleanup) is armed
with a deadline `ticks` epochs ahead of the current one, and wasmtime traps the
guest once the engine's epoch reaches it. Something has to bump the epoch while
the guest runs, and it cannot be the thread running the guest: hence a thread.

The thread rests when nothing needs it. Every entry calls `wake()` just before it
arms its deadline; once `ticks + 1` ticks have passed with no entry, every deadline
armed has been reached (a guest still running traps at its next check without
further ticks), so the ticker waits for the next `wake()` instead of waking 100
times a second in an idle server (measured before: 10-12 ms of CPU a second per
idle worker process). It waits at most IDLE_SECONDS, ticking once after each: a
thread descheduled between its `wake()` and its arming (more than a tick) could
arm a deadline after the ticker decided to rest, and that call's deadline is then
late by at most this much (fuel still bounds its work).
"""

from __future__ import annotations

import math
import threading
from typing import Final

import wasmtime

TICK_SECONDS: Final = 0.01
IDLE_SECONDS: Final = 1.0


class EpochClock:
    """Bumps `engine`'s epoch every TICK_SECONDS while a deadline armed since may still be pending.

    `ticks` is how many epochs a call may run: its deadline in ticks, plus one for the
    partly elapsed tick it starts in. `close()` stops the thread (idempotent).
    """

    def __init__(self, engine: wasmtime.Engine, deadline_ms: int) -> None:
        self.ticks = max(1, math.ceil(deadline_ms / 1000 / TICK_SECONDS)) + 1
        self.entries = 0  # bumped by every wake(): the ticker only reads it, to see that one happened
        self.asleep = False
        self._engine = engine
        self._awake = threading.Event()  # set by wake() and close(): the sleeping ticker goes on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hsmd-epoch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Before arming a deadline: the ticker runs for at least `ticks` more ticks."""
        self.entries += 1
        if self.asleep:
            self._awake.set()

    def _run(self) -> None:
        seen, quiet = self.entries, 0
        while not self._stop.wait(TICK_SECONDS):
            self._engine.increment_epoch()
            if self.entries != seen:
                seen, quiet = self.entries, 0
                continue
            quiet += 1
            if quiet <= self.ticks:
                continue
            # Every deadline armed before the last entry seen is behind us: sleep until the next.
            self._awake.clear()
            self.asleep = True
            if self.entries == seen:  # else an entry came between the check above and here
                self._awake.wait(IDLE_SECONDS)
            self.asleep = False
            if self.entries == seen:
                quiet = self.ticks  # woken by the timeout: one tick, then rest again
            else:
                seen, quiet = self.entries, 0

    def close(self) -> None:
        self._stop.set()
        self._awake.set()
        self._thread.join()
