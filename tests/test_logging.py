"""hsmd.logging: one test per redaction rule, then the configured pipeline end to end."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

import hsmd.logging
from hsmd.logging import configure_logging, redact_secrets

TEST_LMK_PAIR = "01010101010101017902CD1FD36EF8BA"  # public test LMK pair 00-01
PAN = "4012345678909"
MASKED_PAN = "*********8909"
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
    assert sorted(hsmd.logging.__all__) == ["configure_logging", "redact_secrets"]


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
