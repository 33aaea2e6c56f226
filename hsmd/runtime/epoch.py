"""The wall-clock deadline of plugin calls: wasmtime's epoch, bumped by a ticker thread.

Each entry into a guest (instantiation, metadata, init, execute, cleanup) is armed
with a deadline `ticks` epochs ahead of the current one, and wasmtime traps the
guest once the engine's epoch reaches it. Something has to bump the epoch while
the guest runs, and it cannot be the thread running the guest: hence a thread.

The thread rests when nothing can need it: no entry in flight (each is bracketed
by `enter()` before it arms its deadline and `leave()` once it returns) and none
for `ticks + 1` ticks, a hysteresis that keeps a steady trickle of requests from
waking it on every call. An idle server then spends no CPU on ticks (measured
before: 10-12 ms of CPU a second per idle worker process). `enter()` wakes a
resting ticker before the entry arms anything, so no deadline is ever armed
without the ticker running.
"""

from __future__ import annotations

import math
import threading
from typing import Final

import wasmtime

TICK_SECONDS: Final = 0.01


class EpochClock:
    """Bumps `engine`'s epoch every TICK_SECONDS while a guest entry is in flight or was, lately.

    `ticks` is how many epochs a call may run: its deadline in ticks, plus one for the
    partly elapsed tick it starts in. `close()` stops the thread (idempotent).
    """

    def __init__(self, engine: wasmtime.Engine, deadline_ms: int) -> None:
        self.ticks = max(1, math.ceil(deadline_ms / 1000 / TICK_SECONDS)) + 1
        self.entries = 0  # bumped by every enter(): the ticker only reads it, to see that one happened
        # One item per entry in flight. A reload's thread and the serving thread may both enter: list
        # append and pop are each one step under the GIL, where `active += 1` could lose an update.
        self._flights: list[None] = []
        self.asleep = False
        self._engine = engine
        self._awake = threading.Event()  # set by enter() and close(): the resting ticker goes on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hsmd-epoch", daemon=True)
        self._thread.start()

    @property
    def active(self) -> int:
        """Entries in flight."""
        return len(self._flights)

    def enter(self) -> None:
        """Before arming a deadline: the ticker runs until this entry has left and `ticks` more ticks."""
        self._flights.append(None)
        self.entries += 1  # a lost update still changes it
        if self.asleep:
            self._awake.set()

    def leave(self) -> None:
        """After the guest returned (or trapped)."""
        self._flights.pop()

    def _idle(self, seen: int) -> bool:
        return not self._flights and self.entries == seen

    def _run(self) -> None:
        seen, quiet = self.entries, 0
        while not self._stop.wait(TICK_SECONDS):
            self._engine.increment_epoch()
            if not self._idle(seen):
                seen, quiet = self.entries, 0
                continue
            quiet += 1
            if quiet <= self.ticks:
                continue
            self._awake.clear()
            self.asleep = True
            if self._idle(seen):  # else an entry came between the check above and here
                self._awake.wait()
            self.asleep = False
            seen, quiet = self.entries, 0

    def close(self) -> None:
        self._stop.set()
        self._awake.set()
        self._thread.join()
