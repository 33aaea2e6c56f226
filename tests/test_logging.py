"""hsmd.logging: one test per redaction rule, then the configured pipeline end to end."""

from __future__ import annotations

import io
import itertools
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

import hsmd.logging
from hsmd.logging import PIPE_BUF, configure_logging, current_request_id, one_write, redact_secrets

TEST_LMK_PAIR = "01010101010101017902CD1FD36EF8BA"  # public test LMK pair 00-01
PAN = "4012345678909"
MASKED_PAN = "*********8909"
PAN_INT = 4012345678909  # a PAN passed as a number: masked like the text form
SECRET_WORDS = [
    "key", "keys", "lmk", "pin", "pan", "pvv", "cvv", "cvk", "zmk", "zpk", "tmk", "tpk",
    "tak", "zak", "bdk", "kek", "clear", "component", "secret", "password", "track",
    "account", "request", "response", "body", "payload", "data",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", event))


def test_public_api_is_pinned() -> None:
    assert sorted(hsmd.logging.__all__) == [
        "LOG_COUNTS",
        "REQUEST_ID",
        "RateLimit",
        "configure_logging",
        "current_request_id",
        "one_write",
        "redact_secrets",
    ]


# --- rule 1: secret key names --------------------------------------------------------


def test_pin_under_key_pin_is_redacted() -> None:
    assert redact(event="verify", pin="1234") == {"event": "verify", "pin": "[REDACTED]"}


@pytest.mark.parametrize("name", SECRET_WORDS)
def test_every_secret_word_redacts_its_value(name: str) -> None:
    assert redact(**{name: "x"})[name] == "[REDACTED]"


@pytest.mark.parametrize("name", ["clear_pin", "ZPK-under-LMK", "Pin_Block", "track_2"])
def test_secret_word_parts_match_case_insensitively(name: str) -> None:
    assert redact(**{name: "x"})[name] == "[REDACTED]"


@pytest.mark.parametrize("name", ["keyboard", "spin", "company", "cardinal", "command"])
def test_secret_words_inside_other_words_do_not_match(name: str) -> None:
    assert redact(**{name: "x"})[name] == "x"


@pytest.mark.parametrize("name", ["key_type", "key_scheme", "lmk_id", "pin_block_format", "request_id"])
def test_allow_listed_metadata_keys_stay_visible(name: str) -> None:
    assert redact(**{name: "U"})[name] == "U"


def test_secret_value_is_redacted_whatever_its_type() -> None:
    assert redact(key={"a": 1}, pan=4012345678909) == {
        "key": "[REDACTED]",
        "pan": "[REDACTED]",
    }


# --- rule 2: patterns in all other strings ---------------------------------------------


def test_pan_in_free_text_keeps_only_the_last_four_digits() -> None:
    assert redact(event=f"card {PAN} declined")["event"] == f"card {MASKED_PAN} declined"


@pytest.mark.parametrize("length", [12, 16, 19])
def test_digit_runs_of_12_to_19_are_masked(length: int) -> None:
    digits = "4" * (length - 4) + "1234"
    assert redact(note=digits)["note"] == "*" * (length - 4) + "1234"


def test_digit_run_of_11_is_left_alone() -> None:
    assert redact(note="12345678901")["note"] == "12345678901"


def test_digit_run_of_20_is_treated_as_hex_material() -> None:
    assert redact(note="1" * 20)["note"] == "[HEX-REDACTED:20]"


def test_pan_glued_to_letters_is_still_masked() -> None:
    assert redact(note=f"D{PAN}F")["note"] == f"D{MASKED_PAN}F"


def test_test_lmk_pair_is_hex_redacted() -> None:
    assert redact(note=f"lmk={TEST_LMK_PAIR}")["note"] == "lmk=[HEX-REDACTED:32]"


@pytest.mark.parametrize("length", [16, 32, 48])
def test_hex_runs_of_16_or_more_are_redacted(length: int) -> None:
    material = ("0123456789ABCDEF" * 3)[:length]
    assert redact(note=f"U{material}")["note"] == f"U[HEX-REDACTED:{length}]"


def test_lower_case_hex_is_redacted_too() -> None:
    assert redact(note="deadbeefdeadbeef")["note"] == "[HEX-REDACTED:16]"


def test_hex_run_of_15_is_left_alone() -> None:
    assert redact(note="ABCDEF012345678")["note"] == "ABCDEF012345678"


def test_ordinary_text_is_unchanged() -> None:
    event = {"event": "request done", "command": "NC", "elapsed_ms": 1.5, "conn": 7}
    assert redact(**event) == event


# --- rule 3: allow-listed values exempt from patterns ---------------------------------


def test_check_value_is_not_masked() -> None:
    assert redact(check_value="0123456789ABCDEF")["check_value"] == "0123456789ABCDEF"


def test_request_id_is_not_masked() -> None:
    assert redact(request_id="0123456789abcdef01")["request_id"] == "0123456789abcdef01"


def test_other_allow_listed_keys_are_still_pattern_masked() -> None:
    assert redact(key_type=TEST_LMK_PAIR)["key_type"] == "[HEX-REDACTED:32]"


# --- nesting and odd values --------------------------------------------------------------


def test_nested_dicts_lists_and_tuples_get_both_rules() -> None:
    out = redact(ctx={"zpk": "U1234", "cards": [PAN, ("x", TEST_LMK_PAIR)]})
    assert out["ctx"] == {
        "zpk": "[REDACTED]",
        "cards": [MASKED_PAN, ["x", "[HEX-REDACTED:32]"]],
    }


def test_bytes_are_never_rendered() -> None:
    assert redact(frame=b"0000NC")["frame"] == "[BYTES-REDACTED:6]"


def test_other_objects_are_masked_through_their_repr() -> None:
    assert redact(error=ValueError(PAN))["error"] == f"ValueError('{MASKED_PAN}')"


def test_object_with_a_broken_repr_still_logs() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError

    assert redact(thing=Broken())["thing"] == "[UNREPRESENTABLE]"


def test_non_string_keys_are_handled() -> None:
    assert redact_secrets(None, "info", {"event": "e", 3: PAN}) == {  # type: ignore[dict-item]
        "event": "e",
        3: MASKED_PAN,
    }


def test_self_referential_value_is_cut_off() -> None:
    loop: list[object] = []
    loop.append(loop)
    out = redact(loop=loop)
    assert "[TOO-DEEP]" in json.dumps(out)


def test_malformed_event_dict_yields_a_notice_instead_of_raising() -> None:
    out = redact_secrets(None, "info", None)  # type: ignore[arg-type]
    assert out == {
        "event": "log event dropped: redaction failed",
        "redaction_error": "AttributeError",
    }


def test_capture_logs_sees_redacted_events() -> None:
    with capture_logs(processors=[redact_secrets]) as logs:
        structlog.get_logger().info("pin verified", pin="1234", pan=PAN, note=PAN)
    assert logs == [
        {
            "event": "pin verified",
            "pin": "[REDACTED]",
            "pan": "[REDACTED]",
            "note": MASKED_PAN,
            "log_level": "info",
        }
    ]


# --- the configured pipeline -----------------------------------------------------------


def test_json_lines_parse_and_carry_the_bound_request_id() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    structlog.contextvars.bind_contextvars(request_id="r-42", conn_id=3)
    structlog.get_logger().info("request", command="NC", pin="1234", note=PAN)
    structlog.get_logger().info("second")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["request_id"] == "r-42"
    assert first["conn_id"] == 3
    assert first["level"] == "info"
    assert first["pin"] == "[REDACTED]"
    assert first["note"] == MASKED_PAN
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", first["timestamp"])
    assert json.loads(lines[1])["request_id"] == "r-42"


def test_level_filtering_drops_lower_levels() -> None:
    out = io.StringIO()
    configure_logging("json", "warning", out)
    log = structlog.get_logger()
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == ["w", "e"]


def test_exception_tracebacks_are_redacted() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    try:
        raise ValueError(f"bad key {TEST_LMK_PAIR}")
    except ValueError:
        structlog.get_logger().exception("failed")
    line = json.loads(out.getvalue())
    assert "ValueError: bad key [HEX-REDACTED:32]" in line["exception"]
    assert TEST_LMK_PAIR not in out.getvalue()


def test_console_format_is_plain_on_a_non_tty_and_redacted() -> None:
    out = io.StringIO()
    configure_logging("console", "info", out)
    structlog.get_logger().info("hello", pan=PAN, lmk=TEST_LMK_PAIR, note=PAN)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "hello" in text
    assert "pan=[REDACTED]" in text
    assert f"note={MASKED_PAN}" in text
    assert PAN not in text
    assert TEST_LMK_PAIR not in text


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging("xml", "info", io.StringIO())


# --- output: one write per line --------------------------------------------------------


class Recording(io.StringIO):
    """A text stream that keeps each write() call's text."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str, /) -> int:
        self.writes.append(text)
        return super().write(text)


class CountingRaw(io.FileIO):
    """A raw file: each write() call here is one write(2)."""

    calls = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[bytes] = []

    def write(self, data: Any, /) -> int:
        self.calls += 1
        self.writes.append(bytes(data))
        return super().write(data)


@pytest.mark.parametrize("format", ["json", "console"])
@pytest.mark.parametrize("buffering", ["unbuffered", "line", "block"])
def test_each_line_is_one_write_syscall(tmp_path: Path, format: str, buffering: str) -> None:
    raw = CountingRaw(tmp_path / "log", "w")
    stream: io.TextIOWrapper
    if buffering == "unbuffered":  # what PYTHONUNBUFFERED=1 makes of stderr
        stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    else:
        stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=buffering == "line")
    with stream:
        configure_logging(format, "info", stream)
        structlog.contextvars.bind_contextvars(conn_id=3, peer="127.0.0.1:4000")
        log = structlog.get_logger()
        for i in range(5):
            log.info("request", request_id=f"3-{i}", command="NC", error_code="00", duration_us=12)
        assert raw.calls == 5  # no flush needed from outside: every line already left
    lines = (tmp_path / "log").read_text().splitlines()
    assert len(lines) == 5
    assert all("request" in line for line in lines)


@pytest.mark.parametrize("buffering", ["unbuffered", "line", "block"])
def test_lines_held_by_one_write_leave_in_one_write_syscall_per_pipe_buf(tmp_path: Path, buffering: str) -> None:
    raw = CountingRaw(tmp_path / "log", "w")
    stream: io.TextIOWrapper
    if buffering == "unbuffered":
        stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    else:
        stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=buffering == "line")
    with stream:
        configure_logging("json", "info", stream)
        log = structlog.get_logger()
        with one_write():
            for i in range(5):
                log.info("request", request_id=f"3-{i}", command="NC", error_code="00", duration_us=12)
            assert raw.calls == 0  # held
        assert raw.calls == 1
        with one_write():  # 40 lines of over 200 bytes: runs of whole lines, each within PIPE_BUF
            for i in range(40):
                log.info("request", request_id=f"4-{i}", note="x" * 120)
    data = (tmp_path / "log").read_bytes()
    runs = raw.writes[1:]
    assert all(len(run) <= PIPE_BUF and run.endswith(b"\n") for run in runs)
    assert all(len(run) + len(after.split(b"\n")[0]) + 1 > PIPE_BUF for run, after in itertools.pairwise(runs))  # each as full as it can be
    assert len(runs) > 1
    lines = data.decode().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == [f"3-{i}" for i in range(5)] + [f"4-{i}" for i in range(40)]
    assert len(data) > PIPE_BUF


def test_one_write_writes_a_line_longer_than_pipe_buf_alone_and_nests() -> None:
    stream = Recording()
    writes = stream.writes
    configure_logging("json", "info", stream)
    log = structlog.get_logger()
    with one_write():
        log.info("short")
        log.info("long", note="y" * PIPE_BUF)
        with one_write():  # the inner block writes nothing of its own: the outer one writes all
            log.info("inner")
        assert writes == []
    assert [[json.loads(line)["event"] for line in text.splitlines()] for text in writes] == [["short"], ["long"], ["inner"]]
    assert all(text.endswith("\n") for text in writes)


def test_one_write_keeps_the_order_of_lines_from_several_loggers_in_one_write() -> None:
    stream = Recording()
    writes = stream.writes
    configure_logging("json", "info", stream)
    first, second = structlog.get_logger("a"), structlog.get_logger("b")
    with one_write():
        for i in range(3):
            first.info("a", i=i)
            second.info("b", i=i)
    assert len(writes) == 1  # one stream: one write, whichever logger a line came from
    assert [(line["event"], line["i"]) for line in map(json.loads, writes[0].splitlines())] == [
        (event, i) for i in range(3) for event in ("a", "b")
    ]


def test_lines_held_when_the_block_raises_are_still_written_and_nothing_stays_held() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    log = structlog.get_logger()
    with pytest.raises(RuntimeError), one_write():
        log.info("before the error")
        raise RuntimeError("boom")
    log.info("after")
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["before the error", "after"]
    assert out.getvalue().count("\n") == 2


def test_a_console_line_is_counted_in_bytes_for_pipe_buf() -> None:
    stream = Recording()
    writes = stream.writes
    configure_logging("console", "info", stream)
    log = structlog.get_logger()
    with one_write():  # two lines of 1,000 three-byte characters: 2,000 characters, but 6,000 bytes
        log.info("\ufffd" * 1000)
        log.info("\ufffd" * 1000)
    assert len(writes) == 2
    assert all(len(text.encode()) <= PIPE_BUF for text in writes)


def test_one_write_holds_only_its_own_threads_lines() -> None:
    import threading

    out = io.StringIO()
    configure_logging("json", "info", out)
    with one_write():
        structlog.get_logger().info("held")
        worker = threading.Thread(target=lambda: structlog.get_logger().info("other thread"))
        worker.start()
        worker.join()
        assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["other thread"]
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["other thread", "held"]


def test_a_line_is_written_whole_with_its_newline() -> None:
    stream = Recording()
    writes = stream.writes
    configure_logging("json", "info", stream)
    structlog.get_logger().info("first\nline", note="two\nlines")
    structlog.get_logger().info("second")
    assert len(writes) == 2
    assert all(text.endswith("\n") and text.count("\n") == 1 for text in writes)
    assert json.loads(writes[0])["note"] == "two\nlines"


def test_json_lines_are_ascii_only() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    structlog.get_logger().info("café", note="\x1b[31m")
    assert out.getvalue().isascii()
    assert json.loads(out.getvalue())["event"] == "café"


# --- level and timestamp ---------------------------------------------------------------


def logged_line(**fields: Any) -> dict[str, Any]:
    out = io.StringIO()
    configure_logging("json", "info", out)
    structlog.get_logger().info("event", **fields)
    line: dict[str, Any] = json.loads(out.getvalue())
    return line


@pytest.mark.parametrize(
    ("now_ns", "expected"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (1_700_000_000_000_000_000, "2023-11-14T22:13:20.000000Z"),
        (1_700_000_000_123_456_789, "2023-11-14T22:13:20.123456Z"),
        (1_700_000_000_999_999_999, "2023-11-14T22:13:20.999999Z"),
        (1_700_000_001_000_001_000, "2023-11-14T22:13:21.000001Z"),
    ],
)
def test_timestamp_is_utc_iso_with_microseconds(monkeypatch: pytest.MonkeyPatch, now_ns: int, expected: str) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: now_ns)
    assert logged_line()["timestamp"] == expected


def test_timestamp_follows_the_clock_across_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1_700_000_000_500_000_000, 1_700_000_000_900_000_000, 1_700_000_061_000_000_000, 1_700_000_000_100_000_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    stamps = [logged_line()["timestamp"] for _ in range(4)]
    assert stamps == [
        "2023-11-14T22:13:20.500000Z",
        "2023-11-14T22:13:20.900000Z",
        "2023-11-14T22:14:21.000000Z",
        "2023-11-14T22:13:20.100000Z",  # the clock stepped back
    ]


def test_real_timestamp_is_now() -> None:
    before = datetime.now(UTC)
    stamp = datetime.fromisoformat(logged_line()["timestamp"].replace("Z", "+00:00"))
    after = datetime.now(UTC)
    assert before - timedelta(milliseconds=1) <= stamp <= after


def test_caller_cannot_smuggle_text_through_level_or_timestamp() -> None:
    # Both are added after redaction: they must be overwritten with our own values.
    line = logged_line(level=PAN, timestamp=TEST_LMK_PAIR)
    assert line["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["timestamp"])


# --- hardening around the fast paths ---------------------------------------------------


def test_repeated_events_are_redacted_every_time() -> None:
    # The second and later events hit the cached key classification.
    for _ in range(3):
        assert redact(event="e", pin="1234", key_type="U", note=PAN, request_id="r1", count=PAN_INT) == {
            "event": "e",
            "pin": "[REDACTED]",
            "key_type": "U",
            "note": MASKED_PAN,
            "request_id": "r1",
            "count": "*********8909",
        }


@pytest.mark.parametrize("text", ["", "x", "12345678901", "ABCDEF0123", "short text"])
def test_strings_shorter_than_a_maskable_run_are_unchanged(text: str) -> None:
    assert redact(note=text)["note"] == text


def test_key_names_are_pattern_masked_too() -> None:
    for _ in range(2):  # a masked key name must never be served from the cache unmasked
        out = redact(**{f"card_{PAN}": "x", "nested": {PAN: "y", TEST_LMK_PAIR: "z"}})
        assert out == {
            f"card_{MASKED_PAN}": "x",
            "nested": {MASKED_PAN: "y", "[HEX-REDACTED:32]": "z"},
        }


def test_secret_key_name_with_a_pan_in_it_is_masked_and_redacted() -> None:
    assert redact(**{f"pan_{PAN}": PAN}) == {f"pan_{MASKED_PAN}": "[REDACTED]"}


@pytest.mark.parametrize("name", ["request_id", "check_value"])
def test_unmasked_keys_still_redact_values_that_are_not_text(name: str) -> None:
    assert redact(**{name: b"0000NC"})[name] == "[BYTES-REDACTED:6]"
    assert redact(**{name: {"pin": "1234", "note": PAN}})[name] == {"pin": "[REDACTED]", "note": MASKED_PAN}
    assert redact(**{name: ValueError(PAN)})[name] == f"ValueError('{MASKED_PAN}')"


def test_self_referential_value_under_an_unmasked_key_is_cut_off() -> None:
    loop: list[object] = []
    loop.append(loop)
    out = io.StringIO()
    configure_logging("json", "info", out)
    structlog.get_logger().info("e", request_id=loop)
    assert "[TOO-DEEP]" in out.getvalue()


def test_unrenderable_event_yields_a_notice_instead_of_raising() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    structlog.get_logger().info("e", ctx={(1, 2): PAN})  # JSON has no tuple keys
    line = json.loads(out.getvalue())
    assert line["event"] == "log event dropped: rendering failed"
    assert line["render_error"] == "TypeError"
    assert line["level"] == "info"
    assert "timestamp" in line
    assert PAN not in out.getvalue()


def test_json_renderer_masks_objects_it_is_handed_unredacted() -> None:
    configure_logging("json", "info", io.StringIO())
    render = structlog.get_config()["processors"][-1]

    class Card:
        def __repr__(self) -> str:
            return f"Card({PAN})"

    assert json.loads(render(None, "info", {"event": "e", "card": Card()})) == {"event": "e", "card": f"Card({MASKED_PAN})"}


def test_stack_info_starts_at_the_caller_and_is_redacted() -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)

    def log_with_stack() -> None:
        structlog.get_logger().info("here", stack_info=True, note=PAN)

    log_with_stack()
    line = json.loads(out.getvalue())
    frames = [text for text in line["stack"].splitlines() if text.startswith("  File ")]
    assert frames[-1].endswith("in log_with_stack")
    assert "hsmd/logging.py" not in line["stack"]
    assert line["note"] == MASKED_PAN


def test_pan_passed_as_an_int_is_masked() -> None:
    event = redact_secrets(None, "info", {"event": "x", "note": PAN_INT, "count": 12345, "lookup": {PAN_INT: 1}})
    assert event["note"] == "*********8909"
    assert event["count"] == 12345
    assert list(event["lookup"]) == ["*********8909"]


def test_current_request_id_reads_the_bound_id_and_none_when_unbound() -> None:
    assert current_request_id() is None
    with structlog.contextvars.bound_contextvars(request_id="7-3"):
        assert current_request_id() == "7-3"
    assert current_request_id() is None


# --- bounded output: rate limit and a failing sink -------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _through(limit: hsmd.logging.RateLimit, method: str, event: str) -> dict[str, Any] | None:
    try:
        return dict(limit(None, method, {"event": event}))
    except structlog.DropEvent:
        return None


def test_repeated_warnings_past_the_burst_are_dropped_counted_and_reported() -> None:
    clock = _Clock()
    limit = hsmd.logging.RateLimit(burst=3, window=10.0, clock=clock)
    before = hsmd.logging.LOG_COUNTS["suppressed"]
    passed = [_through(limit, "warning", "command refused") for _ in range(10)]
    assert passed == [{"event": "command refused"}] * 3 + [None] * 7
    assert _through(limit, "error", "plugin fault") == {"event": "plugin fault"}  # each event has its own budget
    assert hsmd.logging.LOG_COUNTS["suppressed"] - before == 7
    clock.now += 10.0
    assert _through(limit, "warning", "command refused") == {"event": "command refused", "suppressed": 7}
    assert _through(limit, "warning", "command refused") == {"event": "command refused"}


def test_info_lines_are_never_rate_limited() -> None:
    limit = hsmd.logging.RateLimit(burst=1, window=10.0, clock=_Clock())
    assert all(_through(limit, "info", "request") == {"event": "request"} for _ in range(100))


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_failing_log_sink_costs_the_line_not_the_caller() -> None:
    configure_logging("json", "info", stream=_FullDisk())
    before = hsmd.logging.LOG_COUNTS["lost"]
    structlog.get_logger("t").info("request", command="NC")
    structlog.get_logger("t").error("plugin fault", kind="trap")
    assert hsmd.logging.LOG_COUNTS["lost"] - before == 2


def test_a_failing_sink_costs_every_line_one_write_held() -> None:
    configure_logging("json", "info", stream=_FullDisk())
    log = structlog.get_logger("t")
    before = hsmd.logging.LOG_COUNTS["lost"]
    with one_write():
        for _ in range(3):
            log.info("request", command="NC")
    assert hsmd.logging.LOG_COUNTS["lost"] - before == 3


def test_a_closed_log_stream_costs_the_line_not_the_caller() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream)
    stream.close()
    before = hsmd.logging.LOG_COUNTS["lost"]
    structlog.get_logger("t").warning("connection rejected")
    assert hsmd.logging.LOG_COUNTS["lost"] - before == 1
