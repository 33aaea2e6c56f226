"""structlog configuration: one processor pipeline, configured once at start-up.

Pipeline, in order: a rate limit on repeated warnings and errors (`RateLimit`), contextvars
merge (so ``bind_contextvars(conn_id=..., request_id=...)`` at the top of a task tags every
line), stack/exception rendering to text (so tracebacks go through redaction too),
`redact_secrets`, log level, UTC ISO timestamp, then a JSON or console renderer. Level and
timestamp come after redaction because both processors always overwrite their key with a
value of ours: there is nothing in them to redact, and scanning them on every line would be
wasted work. Level filtering happens before any of that in the bound logger, so a
filtered-out call costs one method call.

Output never stops the server: a sink that fails (disk full, closed pipe) loses the line,
counted in ``LOG_COUNTS["lost"]``. Each line leaves in a single ``write()`` of the line and
its newline, followed by a ``flush()``: one ``write(2)`` per line whether the stream is
unbuffered (``PYTHONUNBUFFERED=1``), line-buffered (stderr's default) or block-buffered.
Inside ``with one_write():`` (the server's per-batch request lines) a thread's lines are held
and leave together, in one ``write(2)`` per PIPE_BUF (4096 bytes) at most: a pipe keeps a
write of that size whole, so another process on the same stderr (a worker) never lands in the
middle of a line.

Hot path (one line per request, `bench/log_line.py` measures it): key names are classified
once and cached; strings shorter than the shortest maskable run (12 characters) skip the
pattern scan; ints pass straight through; JSON is encoded by an encoder built once, compact
and ASCII-only.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from _json import make_encoder
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii
from typing import Any, TextIO

import structlog

__all__ = ["LOG_COUNTS", "REQUEST_ID", "RateLimit", "configure_logging", "current_request_id", "one_write", "redact_secrets"]


def _structlog_var(key: str) -> ContextVar[Any]:
    """The ContextVar behind ``structlog.contextvars`` for *key*.

    Setting or reading it directly costs a fraction of ``bind_contextvars`` /
    ``get_contextvars`` (which look variables up by name, or copy them all);
    bound and reset here, so nothing stays bound.
    """
    token = structlog.contextvars.bind_contextvars(**{key: None})[key]
    token.var.reset(token)
    return token.var


# The id of the request being handled: set by the server per frame, read by the dispatcher
# for the host's request scope, merged into every log line by structlog.
REQUEST_ID: ContextVar[Any] = _structlog_var("request_id")


def current_request_id() -> str | None:
    """The request id bound in this context, if any (structlog marks "unbound" with Ellipsis)."""
    value = REQUEST_ID.get()
    return None if value is Ellipsis or value is None else str(value)


REDACTED = "[REDACTED]"

# Word parts that mark a key as holding secret material or a raw payload.
_SECRET_PARTS = frozenset(
    {
        "key", "keys", "lmk", "pin", "pan", "pvv", "cvv", "cvk", "zmk", "zpk", "tmk",
        "tpk", "tak", "zak", "bdk", "kek", "clear", "component", "secret", "password",
        "track", "account", "request", "response", "body", "payload", "data",
    }
)  # fmt: skip

# Metadata keys that contain a secret word part but never hold secret material.
# Deliberately explicit: a new key name stays redacted until someone adds it here.
_ALLOWED_KEYS = frozenset(
    {
        "key_type",
        "key_scheme",
        "key_usage",
        "key_length",
        "lmk_id",
        "lmk_scheme",
        "check_value",
        "pin_block_format",
        "pin_length",
        "request_id",
        "request_len",
        "response_len",
        "response_code",
    }
)

# Allow-listed keys whose values are exempt from pattern masking (rule 3).
_UNMASKED_KEYS = frozenset({"check_value", "request_id"})

# Runs of at least 12 hex characters: the shortest PAN is 12 digits, key material is
# >= 16 hex. Matching only long runs keeps ordinary words off the slow path.
_MIN_RUN = 12
_LONG_HEX_RUN = re.compile(r"[0-9A-Fa-f]{12,}")
_LONG_DIGIT_RUN = re.compile(r"[0-9]{12,}")
_KEY_PARTS = re.compile(r"[_-]")

_MAX_DEPTH = 8


def _mask_pan(digits: str) -> str:
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    if run.isdigit() and len(run) <= 19:
        return _mask_pan(run)
    if len(run) >= 16:
        return f"[HEX-REDACTED:{len(run)}]"
    # 12-15 hex characters with letters: a PAN glued to a letter, e.g. "D4012345678909".
    return _LONG_DIGIT_RUN.sub(lambda m: _mask_pan(m.group()), run)


def _mask_text(text: str) -> str:
    # Shorter than the shortest maskable run: nothing to find, skip the scan.
    if len(text) < _MIN_RUN:
        return text
    return _LONG_HEX_RUN.sub(_mask_run, text)


_MASK, _SECRET, _VERBATIM = 0, 1, 2

# Classification of plain-str key names, filled on first sight: the same few names recur
# on every request line. Bounded, so that dynamic key names cannot grow it without limit;
# names that need masking themselves are never cached (nothing secret is kept here).
_KEY_KINDS: dict[str, int] = {}
_KEY_KINDS_MAX = 1024


def _classify_key(key: object) -> tuple[int, object]:
    """The key's kind and the key as it may be rendered (a str key is pattern-masked)."""
    name = key if isinstance(key, str) else str(key)
    lowered = name.lower()
    if lowered in _UNMASKED_KEYS:
        kind = _VERBATIM
    elif lowered in _ALLOWED_KEYS:
        kind = _MASK
    else:
        kind = _MASK if _SECRET_PARTS.isdisjoint(_KEY_PARTS.split(lowered)) else _SECRET
    if not isinstance(key, str):
        return kind, _redact_value(key, _MAX_DEPTH - 1) if isinstance(key, int) and not isinstance(key, bool) else key
    shown = _mask_text(key)
    if shown == key and type(key) is str and len(_KEY_KINDS) < _KEY_KINDS_MAX:
        _KEY_KINDS[key] = kind
    return kind, shown


# Ints below 12 digits cannot hold a PAN and are rendered as they are.
_SHORT_INT = 10**11


def _redact_value(value: object, depth: int) -> object:
    # Exact-type checks first: str is by far the most common value on the hot path.
    if isinstance(value, str):
        return _mask_text(value)
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        # A PAN passed as a number is still a PAN: ints of 12 digits or more go through the text masks.
        return value if -_SHORT_INT < value < _SHORT_INT else _mask_text(str(value))
    if depth >= _MAX_DEPTH:
        return "[TOO-DEEP]"
    if isinstance(value, dict):
        return _redact_mapping(value, depth + 1)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(item, depth + 1) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Raw frames and key bytes: never rendered, escaped binary would dodge the masks.
        return f"[BYTES-REDACTED:{len(bytes(value))}]"
    # Anything else (exceptions, paths, enums) is rendered via repr() by both renderers
    # anyway; do it here so the text is masked.
    try:
        return _mask_text(repr(value))
    except Exception:  # noqa: BLE001 -- a broken __repr__ must not break logging
        return "[UNREPRESENTABLE]"


def _redact_mapping(mapping: MutableMapping[Any, Any], depth: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    kinds = _KEY_KINDS
    for key, value in mapping.items():
        try:
            kind = kinds[key]
        except KeyError:
            kind, key = _classify_key(key)
        if kind == _MASK:
            # Fast path for the common leaf types, inlined: short strings and ints.
            vtype = type(value)
            if vtype is str:
                out[key] = value if len(value) < _MIN_RUN else _LONG_HEX_RUN.sub(_mask_run, value)
            elif vtype is int and -_SHORT_INT < value < _SHORT_INT:
                out[key] = value
            else:
                out[key] = _redact_value(value, depth)
        elif kind == _SECRET:
            out[key] = REDACTED
        else:
            # Exempt from patterns only as plain text or a number; anything else (bytes,
            # containers, objects) still goes through redaction, and so never reaches a
            # renderer unredacted or unbounded.
            vtype = type(value)
            out[key] = value if vtype is str or vtype is int else _redact_value(value, depth)
    return out


def redact_secrets(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Remove secret material from an event before it is rendered.

    Rules, applied to the top level and recursively to nested dicts/lists/tuples/sets:

    1. A key whose name has a secret word part (split on ``_`` and ``-``, case-insensitive:
       key, keys, lmk, pin, pan, pvv, cvv, cvk, zmk, zpk, tmk, tpk, tak, zak, bdk, kek,
       clear, component, secret, password, track, account, request, response, body,
       payload, data) has its whole value replaced by ``"[REDACTED]"``, unless the name
       is on the explicit metadata allow-list (``key_type``, ``key_scheme``, ``lmk_id``,
       ``check_value``, ``pin_block_format``, ``request_id``, ...).
    2. In every other string (the event text and string key names included), a run of
       12-19 decimal digits (PAN-like) keeps only its last 4 digits: ``"************1234"``;
       a run of 16 or more hex characters (keys, LMKs; also digit runs longer than 19)
       becomes ``"[HEX-REDACTED:<len>]"``. A 16-19 digit run counts as a PAN, not as hex.
    3. Values of ``check_value`` and ``request_id`` are not pattern-masked when they are
       strings or ints: check values are public by design, request ids are ours. Other
       values under these keys are redacted like any other.

    Bytes values become ``"[BYTES-REDACTED:<len>]"``; other objects are masked as their
    ``repr()``; ints of 12 digits or more are masked as text (a PAN passed as a number);
    shorter ints and floats are left alone. Never raises: if redaction itself fails,
    the event is replaced by a fixed notice rather than logged unredacted.
    """
    try:
        return _redact_mapping(event_dict, 0)
    except Exception as e:  # noqa: BLE001 -- logging must never raise into the caller
        notice: dict[str, Any] = {
            "event": "log event dropped: redaction failed",
            "redaction_error": type(e).__name__,
        }
        # A notice without timestamp and level still beats raising.
        with contextlib.suppress(Exception):
            for name in ("timestamp", "level"):
                if isinstance(event_dict.get(name), str):
                    notice[name] = _mask_text(event_dict[name])
        return notice


# --- timestamp ---------------------------------------------------------------------------

# (whole UTC second, its "YYYY-MM-DDTHH:MM:SS" text): formatting a date costs more than
# everything else in the timestamp, and it changes once a second. Replaced as one tuple,
# so a thread switch can at worst cause one redundant strftime.
_second: tuple[int, str] = (-1, "")


def _add_timestamp(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``timestamp``: UTC ISO 8601 with microseconds, e.g. ``2026-05-09T07:35:25.004211Z``."""
    global _second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _second
    if cached[0] != seconds:
        cached = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    event_dict["timestamp"] = f"{cached[1]}.{nanos // 1000:06d}Z"
    return event_dict


# --- rendering and output ----------------------------------------------------------------


def _json_fallback(value: object) -> str:
    # Only reached by values redaction never saw (it turns every object into text): mask
    # the repr all the same rather than trust it.
    try:
        return _mask_text(repr(value))
    except Exception:  # noqa: BLE001 -- a broken __repr__ must not break logging
        return "[UNREPRESENTABLE]"


# The C encoder behind json.dumps, built once: json.dumps with any non-default argument
# (and JSONEncoder.encode, always) builds a new one per call, which costs as much as the
# encoding itself. Compact separators; ASCII-only output, so no raw control or non-ASCII
# text reaches a log line. No circular-reference markers: redaction hands over freshly
# built, depth-bounded containers, and without the shared markers dict the encoder is
# safe to use from several threads.
_encode_json = make_encoder(None, _json_fallback, encode_basestring_ascii, None, ":", ",", False, False, True)


def _render_json(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> str:
    """One JSON object on one line (newlines in values are escaped)."""
    try:
        return "".join(_encode_json(event_dict, 0))
    except Exception as e:  # noqa: BLE001 -- e.g. a tuple dict key: never raise into the caller
        notice = {"event": "log event dropped: rendering failed", "render_error": type(e).__name__}
        for name in ("timestamp", "level"):
            if isinstance(event_dict.get(name), str):
                notice[name] = _mask_text(event_dict[name])
        return "".join(_encode_json(notice, 0))


# --- stack and exception text ------------------------------------------------------------

# This module's frames are skipped too, so that a rendered stack starts at the caller.
_render_stack = structlog.processors.StackInfoRenderer(additional_ignores=[__name__])


def _render_stack_and_exception(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog's StackInfoRenderer then format_exc_info, for the events that ask for either.

    Both turn their input key into text (``stack``, ``exception``), before redaction:
    exception messages can carry PANs or keys. Almost no event has either key, so one
    check here spares the common line two processor calls.
    """
    if "stack_info" in event_dict or "exc_info" in event_dict:
        event_dict = _render_stack(logger, method_name, event_dict)
        event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
    return event_dict


_Processor = Callable[[Any, str, MutableMapping[str, Any]], Any]


# --- bounded output ---------------------------------------------------------------------

# What the log could not say: lines dropped by the rate limit, and lines lost to a failing
# sink. Read by the metrics; process-wide like the sink itself.
LOG_COUNTS: Counter[str] = Counter()

_LIMITED_LEVELS = frozenset({"warning", "warn", "error", "err", "exception", "critical", "fatal"})


class RateLimit:
    """At most `burst` warning/error lines per event per `window` seconds.

    A flood of garbage frames or unknown commands repeats the same few warnings; past the
    burst they are dropped and counted, and the next line of that event let through
    carries ``suppressed=N``, so the log says how much it left out. Info lines (one
    ``request`` line per request, the access log) are never limited.
    """

    _MAX_EVENTS = 1024  # distinct event texts tracked; more (never seen so far) start afresh

    def __init__(self, burst: int = 20, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = burst
        self._window = window
        self._clock = clock
        self._events: dict[object, list[float]] = {}  # event -> [window start, lines, suppressed]

    def __call__(self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if method_name not in _LIMITED_LEVELS:
            return event_dict
        key = event_dict.get("event")
        now = self._clock()
        state = self._events.get(key)
        if state is None or now - state[0] >= self._window:
            suppressed = int(state[2]) if state is not None else 0
            if len(self._events) >= self._MAX_EVENTS:
                self._events.clear()
            self._events[key] = [now, 1, 0]
            if suppressed:
                event_dict["suppressed"] = suppressed
            return event_dict
        if state[1] < self._burst:
            state[1] += 1
            return event_dict
        state[2] += 1
        LOG_COUNTS["suppressed"] += 1
        raise structlog.DropEvent


PIPE_BUF = 4096  # the largest write(2) a pipe keeps whole (POSIX: at least 512; Linux: 4096)
_held = threading.local()  # .lines: this thread's lines held by one_write(), in order, with their sink


@contextlib.contextmanager
def one_write() -> Iterator[None]:
    """Hold the lines this thread logs in the block; write them at its end, in order, together
    (PIPE_BUF bytes at most per write)."""
    if getattr(_held, "lines", None) is not None:  # nested: the outer block writes them
        yield
        return
    lines: list[tuple[_SinkLogger, str]] = []
    _held.lines = lines
    try:
        yield
    finally:
        _held.lines = None
        _write_held(lines)


def _write_held(lines: list[tuple[_SinkLogger, str]]) -> None:
    """Runs of consecutive lines bound for the same stream (loggers differ, the stream is shared), in order."""
    at = 0
    while at < len(lines):
        sink = lines[at][0]
        end = at + 1
        while end < len(lines) and lines[end][0].stream is sink.stream:
            end += 1
        sink.write_lines([message for _, message in lines[at:end]])
        at = end


def _size(message: str) -> int:
    """Bytes of the line and its newline as written: JSON lines are ASCII; a console line may not be (UTF-8 counted)."""
    return len(message) + 1 if message.isascii() else len(message.encode("utf-8", "backslashreplace")) + 1


class _SinkLogger(structlog.WriteLogger):
    """A WriteLogger that survives its sink: a full disk or a closed pipe costs lines, not the server."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.stream = stream

    def msg(self, message: str) -> None:
        held: list[tuple[_SinkLogger, str]] | None = getattr(_held, "lines", None)
        if held is not None:
            held.append((self, message))
            return
        self.write_lines([message])

    def write_lines(self, messages: list[str]) -> None:
        """Each run of whole lines that fits PIPE_BUF in one write (a longer line alone)."""
        run: list[str] = []
        size = 0
        for message in messages:
            if run and size + _size(message) > PIPE_BUF:
                self._write_run(run)
                run, size = [], 0
            run.append(message)
            size += _size(message)
        if run:
            self._write_run(run)

    def _write_run(self, run: list[str]) -> None:
        try:
            super().msg("\n".join(run))  # WriteLogger adds the last newline: one write() and a flush()
        except (OSError, ValueError):  # ENOSPC, EPIPE, EIO; ValueError: the stream was closed
            LOG_COUNTS["lost"] += len(run)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def configure_logging(format: str, level: str, stream: TextIO | None = None) -> None:
    """Configure structlog once for the process.

    *format* is ``"json"`` (one JSON object per line) or ``"console"`` (colored only if
    *stream* is a terminal); *level* is a name such as ``"info"``. *stream* defaults to
    ``sys.stderr`` as it is at call time (so test capture of stderr works).
    """
    if stream is None:
        stream = sys.stderr
    renderer: _Processor
    if format == "json":
        renderer = _render_json
    elif format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(stream))
    else:
        raise ValueError(f'log format must be "console" or "json", got {format!r}')
    processors: list[_Processor] = [
        # First, so a dropped line costs nothing more.
        RateLimit(),
        structlog.contextvars.merge_contextvars,
        # Text tracebacks before redaction: exception messages can carry PANs or keys.
        _render_stack_and_exception,
        redact_secrets,
        # After redaction: both always overwrite their key with a value of ours.
        structlog.processors.add_log_level,
        _add_timestamp,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level.lower()),
        # WriteLogger: write(line + "\n") then flush(), under a per-stream lock.
        logger_factory=lambda *args: _SinkLogger(stream),
        cache_logger_on_first_use=True,
    )


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
