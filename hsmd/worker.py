"""A worker process: its own host (it loads the LMKs), runtime and plugins; runs the main
process's requests one at a time. Started by hsmd.workers as ``python -m hsmd.worker FD``, FD
being its end of the channel (a Unix SOCK_SEQPACKET socket; messages in hsmd.channel).

    receive Start        configure logging (every line carries ``worker``), build the host,
                         load the plugin directory, answer Ready (or exit 1 with a log line);
                         exit 2 with a log line if the server's channel code is not this
                         worker's (hsmd upgraded under a running server)
    receive Request      install its status snapshot if it has one (the status commands report
                         the whole unit, counted in the main process), run
                         Dispatcher.handle_sync, answer Answer: the message and what to count
    receive Reload       load the plugin directory again, swap, answer Reloaded
    end of the channel   the main process closed it or died: close the plugins, exit 0

The worker ignores SIGINT, SIGTERM and SIGHUP: signals are the main process's business (a
terminal's Ctrl-C and systemd's stop reach the whole process group), and a stop must not cost
the requests the main process is draining. It makes itself non-dumpable before it reads a key.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import time
from pathlib import Path

import structlog

from hsmd.channel import (
    ALONE_POLL,
    DONTWAIT,
    MAIN_TO_WORKER,
    PACKET_MAX,
    Answer,
    ChannelDecoder,
    LoadedPlugin,
    Message,
    ProtocolMismatch,
    Ready,
    Reload,
    Reloaded,
    Request,
    Start,
    encode,
    receive_packet,
)
from hsmd.config import LoggingConfig
from hsmd.dispatch import Dispatcher
from hsmd.hardening import forbid_core_dumps
from hsmd.host import Host
from hsmd.host.status import UnitStatus
from hsmd.logging import REQUEST_ID, configure_logging
from hsmd.runtime import Plugin, Runtime
from hsmd.unit import StartupError, build_host, runtime_limits

log = structlog.get_logger("hsmd.worker")


class _Outcome(UnitStatus):
    """Where the worker's Dispatcher counts: only the last request's outcome, sent back with its
    answer for the main process to count in the unit's UnitStatus."""

    def __init__(self) -> None:
        super().__init__()
        self.start()

    def start(self) -> None:
        """Before each request: what is answered if nothing gets recorded (the dispatcher failed)."""
        self.code, self.busy, self.refused_now = "41", 0.0, False

    def record(self, command: str, busy: float, code: str = "00") -> None:
        self.code, self.busy = code, busy

    def refuse(self, command: bytes) -> None:
        self.code, self.refused_now = "68", True


class _Channel:
    """The blocking end of the channel: whole messages in and out.

    The main process may take back a request this worker has not received yet (to give it to a
    free worker): whatever is received here is this worker's to answer."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._decoder = ChannelDecoder(MAIN_TO_WORKER)
        self._buffer = bytearray(PACKET_MAX)

    def receive(self, linger: bool = False) -> Message | None:
        """The next message; None at the end of the channel.

        `linger`: poll for it for up to ALONE_POLL before sleeping. The main process asks for this
        in a request it held alone with one client connected (Request.linger): that client's next
        request comes sooner than a sleeping process wakes up on a virtual machine, and a poll in
        vain costs at most ALONE_POLL of this worker's CPU."""
        while (message := self._decoder.next_message()) is None:
            data = self._poll(time.perf_counter() + ALONE_POLL) if linger else None
            if data is None:
                data = receive_packet(self._sock, self._buffer)
            if not data:
                return None
            self._decoder.receive_data(data)
        return message

    def _poll(self, until: float) -> bytes | None:
        """A message received before `until` (tried at least once), else None."""
        while True:
            try:
                return receive_packet(self._sock, self._buffer, DONTWAIT)
            except BlockingIOError:
                if time.perf_counter() >= until:
                    return None

    def send(self, message: Message) -> None:
        self._sock.sendall(encode(message))


def _loaded(plugins: dict[str, Plugin]) -> tuple[LoadedPlugin, ...]:
    return tuple(LoadedPlugin(p.command, p.meta.version, p.contract, p.meta.description, p.loaded_at) for _, p in sorted(plugins.items()))


def _run(dispatcher: Dispatcher, outcome: _Outcome, host: Host, request: Request) -> Answer:
    frame = request.frame
    if request.snapshot:
        host.status = pickle.loads(request.snapshot)
    outcome.start()
    dispatcher.faults.clear()
    token = REQUEST_ID.set(request.request_id)
    try:
        message = dispatcher.handle_sync(frame)
    except Exception:  # logged with traceback
        # As in the server: a dispatcher bug costs one request (41), not the worker.
        log.exception("dispatcher failed", command=frame.command.decode("ascii", "replace"))
        message = frame.reply(b"41")
    finally:
        REQUEST_ID.reset(token)
    fault = next(iter(dispatcher.faults), "")
    return Answer(request.call, message, outcome.code, outcome.busy, outcome.refused_now, fault)


def _reload(dispatcher: Dispatcher, runtime: Runtime, directory: Path) -> Reloaded:
    """As the in-process reload (hsmd.app): unchanged files keep their instances; on failure keep the current set."""
    current = dispatcher.plugins
    if not directory.is_dir():
        return Reloaded(False, _loaded(current), 0, "plugin directory is missing")
    try:
        fresh, refusals = runtime.load_dir(directory, reuse=current)
    except Exception as exc:  # logged with traceback
        log.exception("reload failed; still serving the previous plugins")
        return Reloaded(False, _loaded(current), 0, f"{type(exc).__name__}: {exc}")
    old = dispatcher.swap(fresh)
    for command, plugin in old.items():
        if fresh.get(command) is not plugin:
            plugin.close()
    return Reloaded(True, _loaded(fresh), len(refusals))


def serve(sock: socket.socket, *, non_dumpable: bool = True) -> int:
    """Serve the main process on `sock` until it closes the channel; the exit code.

    `non_dumpable`: whether forbid_core_dumps() succeeded (said in a log line once logging is set up)."""
    channel = _Channel(sock)
    try:
        start = channel.receive()
    except ProtocolMismatch as exc:
        # Files upgraded under a running server: this code cannot read its messages. Said with the
        # default logging (the server's settings came in the Start it cannot read); exit before Ready.
        defaults = LoggingConfig()
        configure_logging(defaults.format, defaults.level)
        log.error("worker code differs from the server's: restart hsmd to run the installed version", reason=str(exc))
        return 2
    if not isinstance(start, Start):
        return 2
    config = start.config
    configure_logging(config.logging.format, config.logging.level)
    structlog.contextvars.bind_contextvars(worker=start.index)
    if not non_dumpable:
        log.warning("could not make the process non-dumpable: a core dump would hold the LMKs")
    try:
        host = build_host(config)
    except StartupError as exc:
        log.error("cannot start", reason=str(exc))
        return 1
    with Runtime(host, runtime_limits(config), config.plugins.cache_dir, c_plugins=config.plugins.c_files()) as runtime:
        plugins, refusals = runtime.load_dir(config.plugins.dir)
        outcome = _Outcome()
        dispatcher = Dispatcher(runtime, plugins, status=outcome)
        try:
            channel.send(Ready(os.getpid(), _loaded(plugins), len(refusals)))
            linger = False
            while (message := channel.receive(linger)) is not None:
                linger = isinstance(message, Request) and message.linger
                if isinstance(message, Request):
                    channel.send(_run(dispatcher, outcome, host, message))
                elif isinstance(message, Reload):
                    channel.send(_reload(dispatcher, runtime, config.plugins.dir))
                else:
                    log.error("unexpected message from the main process", kind=type(message).__name__)
                    return 2
        except (BrokenPipeError, ConnectionResetError):
            pass  # the main process is gone: nobody is left to answer
        finally:
            for plugin in dispatcher.plugins.values():
                plugin.close()
    return 0


def main(argv: list[str]) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    non_dumpable = forbid_core_dumps()  # first thing: exec made this process dumpable again
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m hsmd.worker FD (started by hsmd serve, not by hand)", file=sys.stderr)
        return 2
    with socket.socket(fileno=int(argv[0])) as sock:
        try:
            return serve(sock, non_dumpable=non_dumpable)
        except Exception:  # logged with traceback, through the redacting pipeline
            log.exception("worker failed")
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
