"""The worker pool: plugins run in N worker processes, this (main) process keeps the sockets.

    main process (trio): listeners, framing, request        worker processes (hsmd.worker), x N:
    lines, the unit's UnitStatus                             own host (LMKs), runtime, plugins
      WorkerPool.handle(frame) ──── Request (hsmd.channel) ──▶ Dispatcher.handle_sync(frame)
                               ◀──────────────────── Answer ── answer, error code, busy time, fault

A worker runs one request at a time, in the order its channel delivers them. `handle` sends a
frame to a free worker if there is one (one still lingering, below, else the one that answered
last: its process is the one most likely awake), else to a busy one with fewer than DEPTH
requests whose current request has run less than STUCK (so a worker that
answers finds its next request waiting instead of sleeping until this process sends it: on a
virtual machine each such wake-up costs tens of µs of CPU on both sides), else the request
waits here, first come, first served. The event loop serves every other connection meanwhile;
the frames one connection pipelines run on several workers at once (hsmd.server keeps their
answers in order).

When the pool holds one request only and the event loop is about to sleep (every task has run),
it polls that request's worker channel until the answer is there, for up to ALONE_POLL (0.3 ms),
then sleeps as usual: on a virtual machine the wake-up that ends such a sleep costs more than
the poll, and a client sending one request at a time, as most test rigs do, waits for it (NC
one at a time: p50 about 20% lower). There is no poll with more than one request in the pool,
a task to run, more than one host connection open (another client's request must not wait
for this one's answer), one CPU, or for a request that has run longer than a poll already.
Such a lone request (one TCP or TLS connection open, a UDP port with a datagram in the last
UDP_ACTIVE counting as many; more than one CPU) also asks its worker to linger
(Request.linger): once it has answered, the worker polls its channel for the next request for
up to ALONE_POLL before it sleeps, since that client's next request comes sooner than a
sleeping worker wakes up (NC one at a time: p50 about 30% lower again, in interleaved runs
against this process's poll alone). A poll in vain costs at most ALONE_POLL of CPU per lone
request, on each side.

A request queued in a busy worker's channel does not stay stuck behind a slow one: the channel
is a SOCK_SEQPACKET socket pair and this process keeps the worker's end open too, so it can
take back a message the worker has not received yet (one receive: either this process gets the
message or the worker does, never both). When a worker answers, what is queued behind a worker
whose request has run STUCK goes to the front of the queue here; a worker that runs out of work
takes back the oldest request queued at another; a reload takes back all of its worker's.
This process counts each answer in the unit's UnitStatus from what the worker sends
back (error code, busy time, refused, fault kind); a status command (NO NI J2 J4 J8 JK) carries
a StatusSnapshot of it, so it reports the whole unit whichever worker runs it.

A worker's life, kept by the supervisor task of its slot::

    starting ──Ready──▶ serving (free, or running requests; reserved by a reload) ──exits──▶ dead ──▶ a new one starts

A worker that dies (SIGKILL, a native crash, the OOM killer) costs one 41 answer (fault kind
"worker") for the request it had received, never the connection; the answers it sent before
dying are delivered, and the requests still in its channel go to the other workers. Its slot
logs "worker died" (how, and the request it held), counts a restart (`restarts`) and starts a
new worker; a start that fails is retried after 1 s, doubling up to 30 s. At start-up every
worker must load its plugins or the unit does not start (StartupError).

Reload (SIGHUP): each worker in turn, once it has answered what it received, loads the plugin
directory again while the others serve. Closing, once the ports have drained: a free worker gets
the end of its channel and exits; a starting or busy one (a reload cut short by SIGTERM) is
killed; any left after 5 s too.
"""

from __future__ import annotations

import errno
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
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Final

import structlog
import trio

from hsmd.channel import (
    ALONE_POLL,
    DONTWAIT,
    PACKET_MAX,
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
    receive_packet,
    request_call,
)
from hsmd.config import Config
from hsmd.cpus import cpu_count
from hsmd.host.status import StatusSnapshot, UnitStatus
from hsmd.logging import current_request_id
from hsmd.protocol import Frame
from hsmd.runtime.plugin import Metadata
from hsmd.unit import StartupError

__all__ = ["DEPTH", "STATUS_COMMANDS", "PluginView", "ReloadFailed", "WorkerPool", "open_worker_pool"]

# The commands whose plugins read the unit's counters (host functions unit-status, command-counts,
# unit-loading, host-connections, host-traffic): they get a snapshot of this process's UnitStatus.
STATUS_COMMANDS: Final = frozenset({b"NO", b"NI", b"J2", b"J4", b"J8", b"JK"})
WORKER_FAULT: Final = "worker"  # fault kind of a request whose worker died
DEPTH: Final = 3  # sent to one worker, not answered: the one it runs and two next (2 workers, NC: 9,500 req/s at 2, 11,700 at 3)
# SO_SNDBUF of each end; the kernel caps it at twice net.core.wmem_max (416 KiB by default):
# room for the largest message, and for DEPTH requests of a 64 KiB frame each.
_CHANNEL_BUFFER: Final = 2 * PACKET_MAX
# A worker whose request has run this long is stuck for now: nothing more is queued behind it,
# and what is queued already goes to the next worker that answers (the bound on how long a
# request waits behind a slow one while another worker serves).
STUCK: Final = 0.002
# A UDP port counts as clients sending (no poll, no linger) for this long after its last datagram.
UDP_ACTIVE: Final = 1.0
_PEEK: Final = int(socket.MSG_PEEK) | DONTWAIT
_RESTART_DELAY: Final = 1.0
_RESTART_DELAY_MAX: Final = 30.0
_CLOSE_GRACE: Final = 5.0

log = structlog.get_logger("hsmd.workers")


class WorkerLost(Exception):
    """The worker could not be started, or did not answer its Start with Ready."""


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


def _too_large(call: _Call) -> None:
    """Settle `call` unsent (answered 41): no worker could read it whole."""
    log.error("request too large for a worker's channel", bytes=len(call.message))
    call.done.set()


@dataclass(eq=False)
class _Call:
    number: int  # the call id, echoed in its Answer
    request_id: str
    message: bytes  # the encoded Request, as sent (and as taken back)
    done: trio.Event = field(default_factory=trio.Event)
    answer: Answer | None = None  # still None once done: its worker died with it
    linger: bool = False  # sent with Request.linger: its worker polls for the next request after it


class _Worker:
    """One worker process and the two ends of its channel."""

    def __init__(self, index: int, process: trio.Process, sock: socket.socket, queue: socket.socket) -> None:
        sock.setblocking(False)
        self.index = index
        self.process = process
        self.sock = sock  # this end: requests out, answers in (non-blocking; trio waits on it)
        # The worker's end, kept to take back requests it has not received. Read with MSG_DONTWAIT
        # only: O_NONBLOCK belongs to the open file, which the worker shares and reads blocking.
        self.queue = queue
        self.decoder = ChannelDecoder(WORKER_TO_MAIN)
        self.pending: dict[int, _Call] = {}  # sent and not answered, in the order sent: it runs the first
        self.since = 0.0  # perf_counter() when the first of `pending` started (about: when it was sent or the one before answered)
        self.lingers_until = 0.0  # perf_counter() until which it polls for its next request (Request.linger)
        self.ready = False  # its plugins are loaded
        self.dead = False  # exited, or being killed: never sent anything again
        self.reserved = False  # a reload has it: it gets no request
        self.drained: trio.Event | None = None  # set once a reserved worker has answered everything
        self.reply: Reloaded | None = None  # the reload's reply, when `replied` is set
        self.replied: trio.Event | None = None

    @property
    def held(self) -> str | None:
        """The request id of the request it runs (or is about to)."""
        return next(iter(self.pending.values())).request_id if self.pending else None

    async def exchange(self, message: bytes, buffer: bytearray) -> Message:
        """Send one message and read the reply, before anything else is sent (Start, then Ready).
        WorkerLost if the channel breaks; a worker that exits meanwhile is noticed by its supervisor."""
        try:
            self.sock.send(message)
            while (reply := self.decoder.next_message()) is None:
                await trio.lowlevel.wait_readable(self.sock)
                with suppress(BlockingIOError):
                    self.decoder.receive_data(receive_packet(self.sock, buffer))
        except (OSError, trio.ClosedResourceError, ChannelError) as exc:
            raise WorkerLost(str(exc) or type(exc).__name__) from exc
        return reply

    def close_channel(self) -> None:
        """End the channel: the worker reads end of file and exits."""
        if self.sock.fileno() != -1:
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()
        self.queue.close()

    def kill(self) -> None:
        """Never send it anything again, and SIGKILL it; its supervisor reaps it and settles its requests."""
        self.dead = True
        with suppress(ProcessLookupError):
            self.process.kill()


class _LoneAnswerPoll(trio.abc.Instrument):
    """Just before the event loop sleeps (every task has run), poll for the answer to the one
    request the pool holds, if it holds one: see the module docstring."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool

    def before_io_wait(self, timeout: float) -> None:
        if timeout > 0:
            self._pool.poll_lone_answer(min(timeout, ALONE_POLL))


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
        # With one CPU (or a quota of less than two), polling would only keep from running the process polled for (the worker this
        # process waits for, or this process, which has a lingering worker's next request to send).
        self.lingering = cpu_count(whole=True) > 1  # lone requests: this process polls for the answer, the worker lingers
        self._config = config
        self._status = status
        self._env = _worker_env()
        self._slots: list[_Worker | None] = [None] * self.size  # the current worker of each slot
        self._processes: set[_Worker] = set()  # every worker started and not reaped yet
        self._free: deque[_Worker] = deque()  # serving, nothing pending, not reserved; the last to answer first
        self._waiting: deque[_Call] = deque()  # calls no worker could take yet
        self._calls = itertools.count(1)
        self._buffer = bytearray(PACKET_MAX)  # every receive copies out of it at once
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
        """The complete answer message to `frame`, from a worker; 41 if the worker that received
        it dies (a request sent and not received yet goes to another worker)."""
        request_id = current_request_id() or ""
        snapshot = pickle.dumps(StatusSnapshot(self._status)) if frame.command in STATUS_COMMANDS else b""
        number = next(self._calls)
        linger = self._lone()
        call = _Call(number, request_id, encode(Request(number, request_id, frame, snapshot, linger)), linger=linger)
        started = time.perf_counter()
        if len(call.message) > PACKET_MAX:  # never: a frame is 64 KiB, a snapshot at most about 100 KiB
            _too_large(call)
        else:
            self._dispatch(call)
        try:
            await call.done.wait()
        except BaseException:  # cancelled (a second stop signal): no one is left to answer
            with suppress(ValueError):
                self._waiting.remove(call)
            raise
        answer = call.answer
        command = frame.command.decode("latin-1")
        if answer is None:
            self.faults[WORKER_FAULT] += 1
            self._status.record(command, time.perf_counter() - started, "41")
            return frame.reply(b"41")
        if answer.refused:
            self._status.refuse(frame.command)
        else:
            self._status.record(command, answer.busy, answer.code)
            if answer.fault:
                self.faults[answer.fault] += 1
                if (view := self.plugins.get(command)) is not None:
                    view.faults += 1
        return answer.message

    def poll_lone_answer(self, limit: float) -> bool | None:
        """If the pool holds exactly one request, poll its worker's channel for up to `limit`
        seconds until the answer is there to read (it is left there: the reader task takes it).
        True once it is there, False if the time ran out, None if the pool does not hold one
        request only, or that request has run longer than ALONE_POLL already, or more than one
        host connection is open, or its worker's channel is closed."""
        if self._waiting or self._connections() > 1:
            return None  # another connection's request may be waiting to be read: it must not wait for this one
        holder = None
        for worker in self._slots:
            if worker is not None and worker.pending:
                if holder is not None or len(worker.pending) > 1:
                    return None
                holder = worker
        now = time.perf_counter()
        if holder is None or holder.dead or now - holder.since > ALONE_POLL:
            return None  # (a request that has run longer than a poll is slow: not polled for again)
        sock = holder.sock
        deadline = now + limit
        while time.perf_counter() < deadline:
            try:
                sock.recv(1, _PEEK)
            except BlockingIOError:
                continue
            except OSError:  # closed or broken: the reader task finds out
                return None
            return True
        return False

    def _connections(self) -> int:
        """Host clients that may send a request now: the connections open on the TCP and TLS ports,
        and a UDP port that received a datagram in the last UDP_ACTIVE seconds counted as two (any
        number of clients can send to it)."""
        quiet = time.monotonic() - UDP_ACTIVE
        return sum(port.connections if port.kind != "udp" else 2 * (port.last_datagram > quiet) for port in self._status.ports)

    def _lone(self) -> bool:
        """Whether a request sent now is the only one the pool holds, with at most one host connection
        open and more than one CPU: its worker then lingers for the next (Request.linger)."""
        if not self.lingering or self._waiting or any(worker is not None and worker.pending for worker in self._slots):
            return False
        return self._connections() <= 1

    def _pick(self) -> _Worker | None:
        """A free worker (one still polling for its next request first), else the serving worker
        with the fewest requests under DEPTH, else None."""
        now = time.perf_counter()
        for worker in self._free:
            if worker.lingers_until > now and not worker.dead and not worker.reserved:
                self._free.remove(worker)
                return worker
        while self._free:
            worker = self._free.popleft()
            if not worker.dead and not worker.reserved:
                return worker
        best: _Worker | None = None
        stuck = time.perf_counter() - STUCK
        for busy in self._slots:
            if busy is None or not busy.ready or busy.dead or busy.reserved or len(busy.pending) >= DEPTH or busy.since < stuck:
                continue
            if best is None or len(busy.pending) < len(best.pending):
                best = busy
        return best

    def _send(self, worker: _Worker, call: _Call) -> bool:
        """Send `call` to `worker`; False (and the worker killed) if its channel takes no more."""
        try:
            worker.sock.send(call.message)
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:  # over this system's socket buffer limit: the call fails, not the worker
                _too_large(call)
                return True
            worker.kill()  # full (never, at DEPTH requests) or broken: either way it is no use
            return False
        if not worker.pending:
            worker.since = time.perf_counter()
        worker.pending[call.number] = call
        return True

    def _dispatch(self, call: _Call) -> None:
        if not self._waiting:
            while (worker := self._pick()) is not None:
                if self._send(worker, call):
                    return
        self._waiting.append(call)

    def _feed(self) -> None:
        """Hand the waiting calls to whichever workers can take them."""
        while self._waiting and (worker := self._pick()) is not None:
            call = self._waiting.popleft()
            if not self._send(worker, call):
                self._waiting.appendleft(call)

    def _refill(self, worker: _Worker) -> None:
        """`worker` answered a request: give it waiting calls up to DEPTH; once it has nothing,
        the oldest request another worker has not received, else it is free."""
        if worker.dead or not worker.ready:
            return
        if worker.reserved:
            if not worker.pending and worker.drained is not None:
                worker.drained.set()
            return
        self._rescue(worker)
        while self._waiting and len(worker.pending) < DEPTH:
            call = self._waiting.popleft()
            if not self._send(worker, call):
                self._waiting.appendleft(call)
                return
        if worker.pending:
            return
        for other in self._slots:
            if other is not None and other is not worker and len(other.pending) >= 2 and not other.dead:
                taken = self._take_back(other, limit=1)
                if taken:
                    if not self._send(worker, taken[0]):
                        self._waiting.appendleft(taken[0])
                    return
        if worker not in self._free:
            self._free.appendleft(worker)  # the next request goes to it: its process is awake, maybe lingering

    def _requeue(self, worker: _Worker) -> None:
        """What `worker` has not received, to the front of the queue: it is older than anything there
        (first come, first served)."""
        self._waiting.extendleft(reversed(self._take_back(worker)))

    def _rescue(self, serving: _Worker) -> None:
        """Requeue what waits behind a stuck worker."""
        stuck = time.perf_counter() - STUCK
        for other in self._slots:
            if other is not None and other is not serving and len(other.pending) >= 2 and other.since < stuck and not other.dead:
                self._requeue(other)
        if self._free:  # one that had received none of what it was sent
            self._feed()

    def _take_back(self, worker: _Worker, limit: int | None = None) -> list[_Call]:
        """Up to `limit` of the requests `worker` has not received, oldest first, out of its channel."""
        out: list[_Call] = []
        while (limit is None or len(out) < limit) and worker.queue.fileno() != -1:
            try:
                packet = receive_packet(worker.queue, self._buffer, DONTWAIT)
            except (BlockingIOError, ChannelError, OSError):
                break
            if not packet:
                break
            with suppress(ChannelError):
                if (call := worker.pending.pop(request_call(packet), None)) is not None:
                    out.append(call)
        if out and not worker.pending and worker.ready and not worker.dead and not worker.reserved:
            self._free.append(worker)  # it had received none of them: nothing will come back from it to refill it
        return out

    def _received(self, worker: _Worker, message: Message) -> bool:
        """Settle what `worker` sent; False (and the worker killed) if it is not what was asked."""
        if isinstance(message, Answer) and (call := worker.pending.pop(message.call, None)) is not None:
            call.answer = message
            call.done.set()
            worker.since = time.perf_counter()  # the next one, if any, starts now
            if call.linger:
                worker.lingers_until = worker.since + ALONE_POLL
            return True
        if isinstance(message, Reloaded) and worker.replied is not None and worker.reply is None:
            worker.reply = message
            worker.replied.set()
            return True
        log.error("worker sent what was not asked", worker=worker.index, message=type(message).__name__)
        worker.kill()
        return False

    def _settle(self, worker: _Worker, packet: bytes) -> bool:
        """Settle the messages of one packet from `worker`; False once it sent what was not asked."""
        worker.decoder.receive_data(packet)
        while (message := worker.decoder.next_message()) is not None:
            if not self._received(worker, message):
                return False
        return True

    async def _read(self, worker: _Worker) -> None:
        """Settle `worker`'s answers as they come, until its channel closes or breaks."""
        while not worker.dead:
            try:
                packet = receive_packet(worker.sock, self._buffer)
            except BlockingIOError:
                try:
                    await trio.lowlevel.wait_readable(worker.sock)
                except trio.ClosedResourceError:
                    return
                continue
            except (OSError, ChannelError) as exc:
                log.error("worker channel broken", worker=worker.index, reason=str(exc) or type(exc).__name__)
                worker.kill()
                return
            try:
                if not self._settle(worker, packet):
                    return
            except ChannelError as exc:
                log.error("worker channel broken", worker=worker.index, reason=str(exc))
                worker.kill()
                return
            self._refill(worker)

    # --- reload ---

    async def reload(self) -> tuple[list[str], int]:
        """Each worker in turn, once it has answered what it received, loads the plugin directory
        again (the others keep serving); the commands served now and the files refused. ReloadFailed
        if a worker could not reload (it serves its previous plugins) or died (its replacement
        loads the directory)."""
        failures: list[str] = []
        refused = 0
        for index in range(self.size):
            worker = self._slots[index]
            if worker is None or worker.dead:
                continue  # a worker starting now loads the directory as it is
            await self._reserve(worker)
            try:
                reply = None if worker.dead else await self._reload_one(worker)
            except BaseException:  # cut short (a stop signal): its replacement loads the directory
                worker.kill()
                raise
            if reply is None:
                worker.kill()
                failures.append(f"worker {index} died")
                continue
            worker.reserved = False
            self._refill(worker)
            if reply.ok:
                self._set_plugins(reply.plugins)
                refused = reply.refused
            else:
                failures.append(f"worker {index}: {reply.reason}")
        if failures:
            raise ReloadFailed("; ".join(failures))
        return sorted(self.plugins), refused

    async def _reserve(self, worker: _Worker) -> None:
        """Send `worker` nothing more, give what it has not received to the others, and wait until it
        has answered the rest."""
        worker.reserved = True
        with suppress(ValueError):
            self._free.remove(worker)
        self._requeue(worker)
        self._feed()
        if worker.pending and not worker.dead:
            worker.drained = trio.Event()
            try:
                await worker.drained.wait()
            except BaseException:  # cut short before it reloads: it serves on
                worker.reserved = False
                self._refill(worker)
                raise
            finally:
                worker.drained = None

    async def _reload_one(self, worker: _Worker) -> Reloaded | None:
        """Its Reloaded, or None if it died first."""
        worker.reply, worker.replied = None, trio.Event()
        try:
            worker.sock.send(encode(Reload()))
        except OSError:
            return None
        await worker.replied.wait()
        reply, worker.reply, worker.replied = worker.reply, None, None
        return reply

    def _set_plugins(self, loaded: tuple[LoadedPlugin, ...]) -> None:
        faults = {command: view.faults for command, view in self.plugins.items()}
        self.plugins = {
            p.command: PluginView(Metadata(p.command, p.version, p.description), p.contract, p.loaded_at, faults.get(p.command, 0))
            for p in loaded
        }

    # --- the workers' lives ---

    async def _spawn(self, index: int) -> _Worker:
        """Start the process of slot `index`; WorkerLost if it cannot be."""
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as exc:
            raise WorkerLost(f"cannot make its channel: {exc.strerror or exc}") from None
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _CHANNEL_BUFFER)
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "hsmd.worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=self._env,
            )
        except OSError as exc:
            ours.close()
            theirs.close()
            raise WorkerLost(f"cannot start a process: {exc.strerror or exc}") from None
        worker = _Worker(index, process, ours, theirs)
        self._processes.add(worker)
        return worker

    async def _run(self, worker: _Worker) -> tuple[int, str]:
        """Serve with `worker` until its process exits: Start, Ready, then its answers as they come.
        Its exit code, and what went wrong before Ready if something did."""
        failure = "its process exited"

        async def serve() -> None:
            nonlocal failure
            try:
                ready = await worker.exchange(encode(Start(worker.index, self._config)), self._buffer)
                if not isinstance(ready, Ready):
                    raise WorkerLost(f"answered {type(ready).__name__} to Start")
            except WorkerLost as exc:
                failure = str(exc)
                worker.kill()
                return
            self._ready(worker, ready)
            await self._read(worker)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            returncode = await worker.process.wait()
            nursery.cancel_scope.cancel()
        return returncode, failure

    def _ready(self, worker: _Worker, ready: Ready) -> None:
        worker.ready = True
        self._slots[worker.index] = worker
        self._set_plugins(ready.plugins)
        log.info("worker started", worker=worker.index, pid=ready.pid, plugins=len(ready.plugins), refused=ready.refused)
        if self.alive == self.size:
            self._started.set()
        self._refill(worker)

    def _gone(self, worker: _Worker) -> str | None:
        """`worker` has exited (and been reaped): settle its calls; the request id it held."""
        worker.dead = True
        self._processes.discard(worker)
        with suppress(ValueError):
            self._free.remove(worker)
        # What it answered before it died is delivered; what it never received goes to the others.
        with suppress(BlockingIOError, ChannelError, OSError):
            while (packet := receive_packet(worker.sock, self._buffer, DONTWAIT)) and self._settle(worker, packet):
                pass
        self._requeue(worker)
        held = worker.held
        for call in worker.pending.values():
            call.done.set()  # no answer: 41
        worker.pending.clear()
        for event in (worker.drained, worker.replied):
            if event is not None:
                event.set()
        worker.close_channel()
        if self._closing:  # the ports have drained: what is left was cancelled, and no worker takes it
            for call in self._waiting:
                call.done.set()
            self._waiting.clear()
        else:
            self._feed()
        return held

    async def _supervise(self, index: int) -> None:
        """Keep slot `index` served by a live worker until the pool closes."""
        delay = _RESTART_DELAY
        while not self._closing:
            try:
                worker = await self._spawn(index)
            except WorkerLost as exc:
                failure = str(exc)
            else:
                returncode, reason = await self._run(worker)
                held = self._gone(worker)
                if worker.ready:
                    delay = _RESTART_DELAY
                    if self._closing:
                        return
                    log.error("worker died", worker=index, pid=worker.process.pid, how=_how(returncode), request_id=held)
                    self.restarts += 1
                    continue
                failure = f"{_how(returncode)} before loading its plugins ({reason})"
            if not self._started.is_set():
                self._start_failure = f"worker {index}: {failure}"
                self._started.set()
                return
            if self._closing:
                return
            log.error("worker failed to start", worker=index, reason=failure, retry_in=delay)
            await trio.sleep(delay)
            delay = min(2 * delay, _RESTART_DELAY_MAX)

    async def _close(self) -> None:
        """Stop every worker: end the channel of a free one (it exits), kill the others; kill what is left after the grace time."""
        self._closing = True
        self._free.clear()
        for worker in list(self._processes):
            if worker.ready and not worker.pending and not worker.reserved:
                worker.dead = True  # never sent anything again
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
    poll = _LoneAnswerPoll(pool) if pool.lingering else None
    async with trio.open_nursery() as nursery:
        for index in range(pool.size):
            nursery.start_soon(pool._supervise, index)
        try:
            await pool._started.wait()
            if pool._start_failure is None:
                if poll is not None:
                    trio.lowlevel.add_instrument(poll)
                try:
                    yield pool
                except Exception as exc:  # noqa: BLE001 -- re-raised below, outside the nursery
                    error = exc
        finally:
            if poll is not None:
                with suppress(KeyError):
                    trio.lowlevel.remove_instrument(poll)
            with trio.CancelScope(shield=True):
                await pool._close()
            nursery.cancel_scope.cancel()
    if pool._start_failure is not None:
        raise StartupError(f"{pool._start_failure}; see its log lines")
    if error is not None:
        raise error
