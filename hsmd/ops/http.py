"""The ops routes (starlette) and their listener (hypercorn's trio worker, in the app's loop).

| route         | answers                                                                        |
|---------------|--------------------------------------------------------------------------------|
| GET /healthz  | 200 {"status": "ok"} while the process serves                                  |
| GET /readyz   | 200 {"status": "ready"} once plugins are loaded and every host port listens;  |
|               | 503 {"status": "not ready"} before that and from the first stop signal on      |
| GET /metrics  | 200, Prometheus exposition (see hsmd.ops.metrics)                              |
| GET /plugins  | 200, JSON list: command, version, contract, description, loaded_at, faults    |
| POST /run     | a host command through the host ports' dispatcher (below)                      |

Errors are JSON ``{"error": "<what>"}``; an unknown path is 404 and a wrong method 405.

POST /run takes ``{"command": "NC", "request": "<fields as ASCII text>"}`` or, for binary
fields, ``"request_hex"`` instead of ``"request"`` (neither: no fields), and answers 200
``{"response": ..., "response_hex": ..., "error_code": "00"}``: the answer (response code,
error code, fields, and the trailer if the request had one), as text when it is printable
ASCII (else null) and always as hex. The request goes through `hsmd.protocol.parse_message`
and `Dispatcher.handle` exactly as a TCP frame does (the same trailer rule, 68, 41, counters,
request ids: ``http-<n>``). Checked in this order:

    no token_file configured                            404 (the route does not exist)
    Authorization is not "Bearer <the token>"           401, WWW-Authenticate: Bearer
    not ready (starting or stopping)                    503
    Content-Length or the body read so far > max_body   413 (nothing more is read)
    body not JSON, not an object, an unknown key,       400
      command not two ASCII letters or digits,
      request not ASCII / request_hex not hex, both
    command + fields + header longer than a frame       413

Nothing here logs a token or a request's or answer's content (they can carry keys and PINs):
/run logs one "request" line as the TCP port does (command, error code, duration, peer).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Final

import hypercorn.config
import hypercorn.trio
import structlog
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hsmd.config import HttpConfig
from hsmd.logging import REQUEST_ID
from hsmd.ops import Ops, metrics
from hsmd.ops.token import token_matches
from hsmd.ports import PortError
from hsmd.protocol import MAX_FRAME_LEN, Frame, FrameTooLarge, parse_message

__all__ = ["bind_http", "http_listener", "make_app"]

log = structlog.get_logger("hsmd.http")

_COMMAND: Final = re.compile(r"[0-9A-Za-z]{2}")
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_RUN_KEYS: Final = frozenset({"command", "request", "request_hex"})
_GRACEFUL_TIMEOUT: Final = 5.0  # seconds a request in progress gets to finish once the listener stops
_READ_TIMEOUT: Final = 10  # seconds a connection may wait between two reads (slow headers or body) before it is closed
_ids = itertools.count(1)


class _BadRequest(Exception):
    """A /run body hsmd will not dispatch; ``status`` and ``str()`` make the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _peer(request: Request) -> str:
    client = request.client
    return "unknown" if client is None else f"{client.host}:{client.port}"


class _Routes:
    def __init__(self, ops: Ops, token: bytes | None, max_body: int, registry: CollectorRegistry) -> None:
        self._ops = ops
        self._token = token
        self._max_body = max_body
        self._registry = registry

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self._ops.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    async def metrics(self, request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(self._registry), headers={"Content-Type": content_type})

    async def plugins(self, request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "command": command,
                    "version": plugin.meta.version,
                    "contract": plugin.contract,
                    "description": plugin.meta.description,
                    "loaded_at": datetime.fromtimestamp(plugin.loaded_at, UTC).isoformat(timespec="seconds"),
                    "faults": plugin.faults,
                }
                for command, plugin in sorted(self._ops.plugins().items())
            ]
        )

    async def run(self, request: Request) -> Response:
        assert self._token is not None  # the route exists only with a token
        if not token_matches(request.headers.get("authorization"), self._token):
            log.warning("http request refused", reason="missing or wrong bearer token", path=request.url.path, peer=_peer(request))
            return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        if not self._ops.ready:
            return _error(503, "not ready")
        try:
            frame = self._frame(await self._body(request))
        except _BadRequest as exc:
            return _error(exc.status, str(exc))
        message = await self._dispatch(frame, _peer(request))
        text = message.decode("latin-1")
        return JSONResponse(
            {
                "response": text if text.isascii() and text.isprintable() else None,
                "response_hex": message.hex().upper(),
                "error_code": text[2:4],
            }
        )

    async def _body(self, request: Request) -> bytes:
        """The body, read only while it stays within max_body."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._max_body:
            raise _BadRequest(413, f"body over {self._max_body} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body:
                raise _BadRequest(413, f"body over {self._max_body} bytes")
        return bytes(body)

    def _frame(self, body: bytes) -> Frame:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: a body of deeply nested arrays
            raise _BadRequest(400, "body is not JSON") from None
        if not isinstance(data, dict):
            raise _BadRequest(400, "body must be a JSON object")
        unknown = sorted(set(data) - _RUN_KEYS)
        if unknown:
            raise _BadRequest(400, f"unknown key {unknown[0]!r}; expected command, request or request_hex")
        command = data.get("command")
        if not isinstance(command, str) or not _COMMAND.fullmatch(command):
            raise _BadRequest(400, "command must be a string of two ASCII letters or digits")
        if "request" in data and "request_hex" in data:
            raise _BadRequest(400, "give request or request_hex, not both")
        if "request_hex" in data:
            fields_hex = data["request_hex"]
            if not isinstance(fields_hex, str) or not _HEX.fullmatch(fields_hex):
                raise _BadRequest(400, "request_hex must be a string of hex digit pairs")
            fields = bytes.fromhex(fields_hex)
        else:
            text = data.get("request", "")
            if not isinstance(text, str) or not text.isascii():
                raise _BadRequest(400, "request must be a string of ASCII characters (request_hex for other bytes)")
            fields = text.encode("ascii")
        if self._ops.header_len + 2 + len(fields) > MAX_FRAME_LEN:
            raise _BadRequest(413, f"header, command and fields over {MAX_FRAME_LEN} bytes: more than a frame holds")
        # Header length 0: the header only travels on the wire; the trailer rule applies as on TCP.
        frame = parse_message(command.encode("ascii") + fields, 0)
        assert isinstance(frame, Frame)  # two command bytes are always there
        return frame

    async def _dispatch(self, frame: Frame, peer: str) -> bytes:
        """As `hsmd.server` does it: a request id, the dispatcher, 41 for its bugs, one log line."""
        token = REQUEST_ID.set(f"http-{next(_ids)}")
        started = time.perf_counter_ns()
        try:
            try:
                message = await self._ops.dispatcher.handle(frame)
                if len(message) + self._ops.header_len > MAX_FRAME_LEN:
                    raise FrameTooLarge(len(message), MAX_FRAME_LEN)
            except Exception:  # logged with traceback
                log.exception("dispatcher failed", command=frame.command.decode("ascii"))
                message = frame.reply(b"41")
            log.info(
                "request",
                command=frame.command.decode("ascii"),
                error_code=message[2:4].decode("latin-1"),
                duration_us=(time.perf_counter_ns() - started) // 1000,
                peer=peer,
                transport="http",
            )
        finally:
            REQUEST_ID.reset(token)
        return message


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, str(exc.detail).lower(), exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after answering: hypercorn's error log (forwarded below) records it.
    return _error(500, "internal error")


def make_app(ops: Ops, *, token: bytes | None, max_body: int) -> Starlette:
    """The ops API for `ops`; POST /run only with a token."""
    routes = _Routes(ops, token, max_body, metrics.registry(ops))
    table = [
        Route("/healthz", routes.healthz, methods=["GET"]),
        Route("/readyz", routes.readyz, methods=["GET"]),
        Route("/metrics", routes.metrics, methods=["GET"]),
        Route("/plugins", routes.plugins, methods=["GET"]),
    ]
    if token is not None:
        table.append(Route("/run", routes.run, methods=["POST"]))
    return Starlette(routes=table, exception_handlers={HTTPException: _http_error, Exception: _internal_error})


class _Forward(logging.Handler):
    """hypercorn's error log (stdlib logging) into hsmd's structlog pipeline and its redaction."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, record.getMessage(), exc_info=record.exc_info or False)


def _hypercorn_log() -> logging.Logger:
    logger = logging.getLogger("hsmd.http.hypercorn")
    logger.propagate = False
    logger.setLevel(logging.WARNING)  # its INFO lines ("Running on ...") repeat our own
    if not logger.handlers:
        logger.addHandler(_Forward())
    return logger


async def bind_http(config: HttpConfig) -> list[trio.SocketListener] | None:
    """Bind the ops port (every address config.host resolves to), None when [http] is off;
    `PortError`, one line, if it cannot be bound."""
    if not config.enabled:
        return None
    try:
        return await trio.open_tcp_listeners(config.port, host=config.host)
    except OSError as exc:
        raise PortError(f"http: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None


class _Listening:
    """hypercorn's task_status: it calls started() once it listens; `event` is what we wait on."""

    def __init__(self) -> None:
        self.event = trio.Event()
        self.failed = False

    def started(self, value: object = None) -> None:
        self.event.set()


@asynccontextmanager
async def http_listener(
    listeners: list[trio.SocketListener] | None, config: HttpConfig, ops: Ops, token: bytes | None
) -> AsyncIterator[list[tuple[str, int]]]:
    """Serve the ops API on `listeners` (from `bind_http`; None: nothing) while the block runs;
    yields their addresses.

    On leaving the block the listener stops accepting, lets the requests in progress finish
    (at most 5 s) and returns. If hypercorn itself fails, that is logged and the block goes on:
    the host ports keep serving without it.
    """
    if listeners is None:
        yield []
        return
    addresses = [(str(name[0]), int(name[1])) for name in (listener.socket.getsockname() for listener in listeners)]
    settings = hypercorn.config.Config()
    # hypercorn takes the bound sockets over by descriptor.
    settings.bind = [f"fd://{listener.socket.detach()}" for listener in listeners]
    settings.accesslog = None
    settings.errorlog = _hypercorn_log()
    settings.include_server_header = False
    settings.graceful_timeout = _GRACEFUL_TIMEOUT
    settings.read_timeout = _READ_TIMEOUT
    app = make_app(ops, token=token, max_body=config.max_body)
    stop = trio.Event()
    listening = _Listening()

    async def serve() -> None:
        try:
            await hypercorn.trio.serve(app, settings, shutdown_trigger=stop.wait, task_status=listening)  # type: ignore[arg-type]
        except Exception:  # logged with traceback
            listening.failed = True
            log.exception("http listener failed; the host ports keep serving")
        finally:
            listening.started()  # failed before it listened: the block goes on all the same

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await listening.event.wait()
        if not listening.failed:
            log.info("listening", kind="http", addresses=[f"{h}:{p}" for h, p in addresses], run_enabled=token is not None)
        try:
            yield addresses
        finally:
            stop.set()
