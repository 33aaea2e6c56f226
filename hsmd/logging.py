"""structlog configuration: one processor pipeline, configured once at start-up.

Pipeline, in order: contextvars merge (so ``bind_contextvars(conn_id=..., request_id=...)``
at the top of a task tags every line), log level, UTC ISO timestamp, stack/exception
rendering to text (so tracebacks go through redaction too), `redact_secrets`, then a JSON
or console renderer. Level filtering happens before any of that in the bound logger, so a
filtered-out call costs one method call.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "redact_secrets"]

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
_LONG_HEX_RUN = re.compile(r"[0-9A-Fa-f]{12,}")
_LONG_DIGIT_RUN = re.compile(r"[0-9]{12,}")

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
    return _LONG_HEX_RUN.sub(_mask_run, text)


_MASK, _SECRET, _VERBATIM = 0, 1, 2


@lru_cache(maxsize=1024)
def _key_class(name: str) -> int:
    # Cached: the same few key names recur on every request line.
    lowered = name.lower()
    if lowered in _UNMASKED_KEYS:
        return _VERBATIM
    if lowered in _ALLOWED_KEYS:
        return _MASK
    parts = re.split(r"[_-]", lowered)
    return _MASK if _SECRET_PARTS.isdisjoint(parts) else _SECRET


def _redact_value(value: object, depth: int) -> object:
    # Exact-type checks first: str is by far the most common value on the hot path.
    if isinstance(value, str):
        return _mask_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
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
    for key, value in mapping.items():
        kind = _key_class(key if isinstance(key, str) else str(key))
        if kind == _MASK:
            out[key] = _redact_value(value, depth)
        elif kind == _SECRET:
            out[key] = REDACTED
        else:
            out[key] = value
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
    2. In every other string (the event text included), a run of 12-19 decimal digits
       (PAN-like) keeps only its last 4 digits: ``"************1234"``; a run of 16 or
       more hex characters (keys, LMKs; also digit runs longer than 19) becomes
       ``"[HEX-REDACTED:<len>]"``. A 16-19 digit run counts as a PAN, not as hex.
    3. Values of ``check_value`` and ``request_id`` are not pattern-masked: check values
       are public by design, request ids are ours.

    Bytes values become ``"[BYTES-REDACTED:<len>]"``; other objects are masked as their
    ``repr()``; ints and floats are left alone. Never raises: if redaction itself fails,
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


_Processor = Callable[[Any, str, MutableMapping[str, Any]], Any]


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
        renderer = structlog.processors.JSONRenderer()
    elif format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(stream))
    else:
        raise ValueError(f'log format must be "console" or "json", got {format!r}')
    processors: list[_Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Text tracebacks before redaction: exception messages can carry PANs or keys.
        structlog.processors.format_exc_info,
        redact_secrets,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level.lower()),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
