"""The worker pool: plugins run in N worker processes, this (main) process keeps the sockets.

    main process (trio): listeners, framing, request        worker processes (hsmd.worker), x N:
    lines, the unit's UnitStatus                             own host (LMKs), runtime, plugins
      WorkerPool.handle(frame) ──── Request (hsmd.channel) ──▶ Dispatcher.handle_sync(frame)
                               ◀──────────────────── Answer ── answer, error code, busy time, fault

A worker runs one request at a time. `handle` takes a free worker (first come, first served;
the free workers in turn), sends it the frame and reads the answer with trio socket I/O, so the
event loop serves every other connection meanwhile; the frames one connection pipelines run on
several workers at once (hsmd.server keeps their answers in order). A request waits only when
every worker is busy. This process counts each answer in the unit's UnitStatus from what the
worker sends back (error code, busy time, refused, fault kind); a status command (NO NI J2 J4
J8 JK) carries a StatusSnapshot of it, so it reports the whole unit whichever worker runs it.

A worker's life, kept by the supervisor task of its slot::

    starting ──Ready──▶ free ◀──▶ busy (a request or a reload) ──exits──▶ dead ──▶ a new one starts

A worker that dies (SIGKILL, a native crash, the OOM killer) while busy costs its request one
41 answer (counted as fault kind "worker"), never the connection; one that dies while free costs
nothing (a request sent to it before its death was noticed, which it never read, goes to
another worker). Either way its slot logs "worker died" (how, and the request it held), counts a restart
(`restarts`) and starts a new worker; a start that fails is retried after 1 s, doubling up to
30 s. At start-up every worker must load its plugins or the unit does not start (StartupError).

Reload (SIGHUP): each worker in turn, once free, loads the plugin directory again while the
others serve. Closing, once the ports have drained: a free worker gets the end of its channel and
exits; a starting or busy one (a reload cut short by SIGTERM) is killed; any left after 5 s too.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import structlog
import trio

from hsmd.channel import (
    WORKER_TO_MAIN,
    Answer,
    ChannelDecoder,
    ChannelError,
    LoadedPlugin,
    Message,
    Ready,
    Reload,
    Reloaded,
    Request,
    Start,
    encode,
)
from hsmd.config import Config
from hsmd.host.status import StatusSnapshot, UnitStatus
from hsmd.logging import current_request_id
from hsmd.protocol import Frame
from hsmd.runtime.plugin import Metadata
from hsmd.unit import StartupError

__all__ = ["STATUS_COMMANDS", "PluginView", "ReloadFailed", "WorkerPool", "open_worker_pool"]

# The commands whose plugins read the unit's counters (host functions unit-status, command-counts,
# unit-loading, host-connections, host-traffic): they get a snapshot of this process's UnitStatus.
STATUS_COMMANDS: Final = frozenset({b"NO", b"NI", b"J2", b"J4", b"J8", b"JK"})
WORKER_FAULT: Final = "worker"  # fault kind of a request whose worker died
_RECEIVE_SIZE: Final = 64 * 1024
_RESTART_DELAY: Final = 1.0
_RESTART_DELAY_MAX: Final = 30.0
_CLOSE_GRACE: Final = 5.0

log = structlog.get_logger("hsmd.workers")


class WorkerLost(Exception):
    """The worker's channel ended or broke, or it sent something that is not the reply expected.

    `delivered` is False when the worker never read the message (it was dead or dying as it was
    sent: the send failed, or the worker closed with the message unread): it can go to another."""

    def __init__(self, reason: str, *, delivered: bool = True) -> None:
        super().__init__(reason)
        self.delivered = delivered


class ReloadFailed(Exception):
    """A worker could not reload; it serves its previous plugins. The message says which and why."""


@dataclass(eq=False)
class PluginView:
    """A plugin the workers serve, as /plugins and /metrics show it (this process holds no instance)."""

    meta: Metadata
    contract: str
    loaded_at: float
    faults: int = 0  # its calls that faulted, counted here from the workers' answers


def _how(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _worker_env() -> dict[str, str]:
    """This process's environment without systemd's notify socket: only the main process tells
    systemd anything. (`python -m hsmd.worker` finds hsmd as this process did: installed, or
    from the same working directory or PYTHONPATH.)"""
    return {key: value for key, value in os.environ.items() if key != "NOTIFY_SOCKET"}


class _Worker:
    """One worker process and this end of its channel (a non-blocking socket trio waits on)."""

    def __init__(self, index: int, process: trio.Process, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.index = index
        self.process = process
        self.sock = sock
        self._decoder = ChannelDecoder(WORKER_TO_MAIN)
        self.ready = False  # its plugins are loaded
        self.dead = False  # exited, or being killed: never handed out again
        self.held: str | None = None  # the request id of the request it runs
        self.wanted: trio.Event | None = None  # a reload waits to take it once free

    async def call(self, message: bytes) -> Message:
        """Send one message and read the worker's reply; WorkerLost if the channel ends or breaks.

        Plain socket calls around trio's wait_readable/wait_writable: the reply takes a plugin
        call to come, so trying to read before waiting would only cost a system call."""
        sock, view = self.sock, memoryview(message)
        try:
            while view:
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(sock)
        except (OSError, trio.ClosedResourceError) as exc:
            raise WorkerLost(str(exc) or type(exc).__name__, delivered=len(view) < len(message)) from exc
        try:
            while (reply := self._decoder.next_message()) is None:
                await trio.lowlevel.wait_readable(sock)
                try:
                    data = sock.recv(_RECEIVE_SIZE)
                except BlockingIOError:
                    continue
                if not data:
                    raise WorkerLost("its channel ended")
                self._decoder.receive_data(data)
        except ConnectionResetError as exc:
            # It closed with the message unread in its socket (it was dying as it was sent).
            raise WorkerLost(str(exc), delivered=False) from exc
        except (OSError, trio.ClosedResourceError, ChannelError) as exc:
            raise WorkerLost(str(exc) or type(exc).__name__) from exc
        return reply

    def close_channel(self) -> None:
        """End the channel: the worker reads end of file and exits; a task waiting on it gets WorkerLost."""
        if self.sock.fileno() != -1:
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()

    def kill(self) -> None:
        """Never use it again: SIGKILL it and close the channel; its slot's supervisor reaps it."""
        self.dead = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.close_channel()


@dataclass(eq=False)
class _Waiter:
    event: trio.Event
    worker: _Worker | None = None


class WorkerPool:
    """Dispatches frames to the worker processes: `handle` as hsmd.dispatch.Dispatcher's, from
    any number of tasks at once. Made and closed by `open_worker_pool`."""

    def __init__(self, config: Config, status: UnitStatus) -> None:
        if config.server.workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = config.server.workers
        self.faults: Counter[str] = Counter()  # fault kind -> count, as Dispatcher.faults
        self.plugins: dict[str, PluginView] = {}  # what the workers serve (the last one to report)
        self.restarts = 0  # workers started again after one died
        self._config = config
        self._status = status
        self._env = _worker_env()
        self._slots: list[_Worker | None] = [None] * self.size  # the current worker of each slot
        self._processes: set[_Worker] = set()  # every worker started and not reaped yet
        self._free: deque[_Worker] = deque()
        self._waiters: deque[_Waiter] = deque()
        self._calls = itertools.count(1)
        self._started = trio.Event()  # every slot's first worker is ready, or one failed
        self._start_failure: str | None = None
        self._closing = False

    def running(self) -> dict[int, str | None]:
        """pid -> the request id of the request it runs (None: free), for each worker ready to serve."""
        return {w.process.pid: w.held for w in self._slots if w is not None and w.ready and not w.dead}

    @property
    def alive(self) -> int:
        """Workers ready to serve, free or busy."""
        return sum(1 for worker in self._slots if worker is not None and worker.ready and not worker.dead)

    # --- requests ---

    async def handle(self, frame: Frame) -> bytes:
        """The complete answer message to `frame`, from a free worker; 41 if that worker dies
        once it has the request (one that had died before it is sent goes to another worker)."""
        request_id = current_request_id() or ""
        snapshot = pickle.dumps(StatusSnapshot(self._status)) if frame.command in STATUS_COMMANDS else b""
        call = next(self._calls)
        message = encode(Request(call, request_id, frame, snapshot))
        while True:
            worker = await self._acquire()
            worker.held = request_id
            started = time.perf_counter()
            try:
                answer = await worker.call(message)
            except WorkerLost as exc:
                if not exc.delivered:
                    worker.held = None  # it died free, before its supervisor noticed: it held nothing
                    worker.kill()
                    continue
                answer = None
            except BaseException:  # cancelled (a second stop signal): the channel's state is unknown
                worker.kill()
                raise
            break
        command = frame.command.decode("latin-1")
        if not isinstance(answer, Answer) or answer.call != call:
            worker.kill()  # its supervisor logs how it ended and starts another
            self.faults[WORKER_FAULT] += 1
            self._status.record(command, time.perf_counter() - started, "41")
            return frame.reply(b"41")
        worker.held = None
        self._release(worker)
        if answer.refused:
            self._status.refuse(frame.command)
        else:
            self._status.record(command, answer.busy, answer.code)
            if answer.fault:
                self.faults[answer.fault] += 1
                if (view := self.plugins.get(command)) is not None:
                    view.faults += 1
        return answer.message

    async def _acquire(self) -> _Worker:
        """A free worker, once there is one (first come, first served)."""
        while True:
            if self._free:
                worker = self._free.popleft()
            else:
                waiter = _Waiter(trio.Event())
                self._waiters.append(waiter)
                try:
                    await waiter.event.wait()
                except BaseException:
                    if waiter.worker is None:
                        self._waiters.remove(waiter)
                    else:  # handed one just as it was cancelled: pass it on
                        self._release(waiter.worker)
                    raise
                assert waiter.worker is not None
                worker = waiter.worker
            if not worker.dead:
                return worker

    def _release(self, worker: _Worker) -> None:
        """`worker` is free: to a reload waiting for it, else to the first request waiting, else to the free list."""
        if worker.dead:
            return
        if worker.wanted is not None:
            worker.wanted.set()
        elif self._waiters:
            waiter = self._waiters.popleft()
            waiter.worker = worker
            waiter.event.set()
        else:
            self._free.append(worker)

    async def _take(self, worker: _Worker) -> None:
        """Take this very worker out of service once it is free (or dead)."""
        if worker in self._free:
            self._free.remove(worker)
            return
        if worker.dead:
            return
        wanted = worker.wanted = trio.Event()
        try:
            await wanted.wait()
        except BaseException:
            worker.wanted = None
            if wanted.is_set():  # handed over just as it was cancelled: pass it on
                self._release(worker)
            raise
        worker.wanted = None

    # --- reload ---

    async def reload(self) -> tuple[list[str], int]:
        """Each worker in turn, once free, loads the plugin directory again (the others keep
        serving); the commands served now and the files refused. ReloadFailed if a worker could
        not reload (it serves its previous plugins) or died (its replacement loads the directory)."""
        failures: list[str] = []
        refused = 0
        for index in range(self.size):
            worker = self._slots[index]
            if worker is None or worker.dead:
                continue  # a worker starting now loads the directory as it is
            await self._take(worker)
            if worker.dead:
                continue
            try:
                reply = await worker.call(encode(Reload()))
            except WorkerLost:
                reply = None
            except BaseException:  # cut short (a stop signal): its replacement loads the directory
                worker.kill()
                raise
            if not isinstance(reply, Reloaded):
                worker.kill()
                failures.append(f"worker {index} died")
                continue
            self._release(worker)
            if reply.ok:
                self._set_plugins(reply.plugins)
                refused = reply.refused
            else:
                failures.append(f"worker {index}: {reply.reason}")
        if failures:
            raise ReloadFailed("; ".join(failures))
        return sorted(self.plugins), refused

    def _set_plugins(self, loaded: tuple[LoadedPlugin, ...]) -> None:
        faults = {command: view.faults for command, view in self.plugins.items()}
        self.plugins = {
            p.command: PluginView(Metadata(p.command, p.version, p.description), p.contract, p.loaded_at, faults.get(p.command, 0))
            for p in loaded
        }

    # --- the workers' lives ---

    async def _start(self, index: int) -> _Worker:
        """Start the worker of slot `index` and wait until it has loaded its plugins; WorkerLost if it cannot."""
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError as exc:
            raise WorkerLost(f"cannot make its channel: {exc.strerror or exc}") from None
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "hsmd.worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=self._env,
            )
        except OSError as exc:
            ours.close()
            raise WorkerLost(f"cannot start a process: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        worker = _Worker(index, process, ours)
        self._processes.add(worker)
        try:
            ready = await worker.call(encode(Start(index, self._config)))
            if not isinstance(ready, Ready):
                raise WorkerLost(f"answered {type(ready).__name__} to Start")
        except WorkerLost as exc:
            worker.kill()
            with trio.CancelScope(shield=True):
                returncode = await process.wait()
            self._gone(worker)
            raise WorkerLost(f"{_how(returncode)} before loading its plugins ({exc})") from None
        except BaseException:
            worker.kill()
            raise
        worker.ready = True
        self._slots[index] = worker
        self._set_plugins(ready.plugins)
        log.info("worker started", worker=index, pid=ready.pid, plugins=len(ready.plugins), refused=ready.refused)
        self._release(worker)
        return worker

    def _gone(self, worker: _Worker) -> None:
        """`worker` has exited (and been reaped)."""
        worker.dead = True
        self._processes.discard(worker)
        if worker in self._free:
            self._free.remove(worker)
        if worker.wanted is not None:
            worker.wanted.set()
        if worker.held is None:  # else the request's task reads the end of the channel, then closes it
            worker.close_channel()

    async def _supervise(self, index: int) -> None:
        """Keep slot `index` served by a live worker until the pool closes."""
        delay = _RESTART_DELAY
        while not self._closing:
            try:
                worker = await self._start(index)
            except WorkerLost as exc:
                if not self._started.is_set():
                    self._start_failure = f"worker {index}: {exc}"
                    self._started.set()
                    return
                if self._closing:
                    return
                log.error("worker failed to start", worker=index, reason=str(exc), retry_in=delay)
                await trio.sleep(delay)
                delay = min(2 * delay, _RESTART_DELAY_MAX)
                continue
            delay = _RESTART_DELAY
            if self.alive == self.size:
                self._started.set()
            returncode = await worker.process.wait()
            self._gone(worker)
            if self._closing:
                return
            log.error("worker died", worker=index, pid=worker.process.pid, how=_how(returncode), request_id=worker.held)
            self.restarts += 1

    async def _close(self) -> None:
        """Stop every worker: end the channel of a free one (it exits), kill the others; kill what is left after the grace time."""
        self._closing = True
        for worker in list(self._processes):
            if worker in self._free:
                worker.close_channel()
            else:
                worker.kill()
        with trio.move_on_after(_CLOSE_GRACE):
            for worker in list(self._processes):
                await worker.process.wait()
        for worker in list(self._processes):
            worker.kill()
            await worker.process.wait()


@asynccontextmanager
async def open_worker_pool(config: Config, status: UnitStatus) -> AsyncIterator[WorkerPool]:
    """Start `config.server.workers` workers and yield the pool once every one has loaded its
    plugins (StartupError if one cannot); on leaving the block, stop them all.

    An exception of the block leaves as it came (not in an ExceptionGroup of the pool's nursery).
    """
    pool = WorkerPool(config, status)
    error: Exception | None = None
    async with trio.open_nursery() as nursery:
        for index in range(pool.size):
            nursery.start_soon(pool._supervise, index)
        try:
            await pool._started.wait()
            if pool._start_failure is None:
                try:
                    yield pool
                except Exception as exc:  # noqa: BLE001 -- re-raised below, outside the nursery
                    error = exc
        finally:
            with trio.CancelScope(shield=True):
                await pool._close()
            nursery.cancel_scope.cancel()
    if pool._start_failure is not None:
        raise StartupError(f"{pool._start_failure}; see its log lines")
    if error is not None:
        raise error
