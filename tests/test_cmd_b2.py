"""B2 — Echo test: known answers, error paths, parity with the component.

Layout (payShield host command reference, echo test; see README): B2 · 4 H length · data ->
B3 00 · data. Data shorter than declared -> 80, longer -> 15, as ThalesSim answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import b2
from tests.commands import in_component, native

CASES = [
    (b"0005hello", b"00hello"),
    (b"0000", b"00"),
    (b"000a0123456789", b"000123456789"),  # lower-case hex length
    (b"0003\x00\x19\xff", b"00\x00\x19\xff"),  # binary data, 0x19 included
    (b"0006hello", b"80"),  # shorter than declared
    (b"0004hello", b"15"),  # longer than declared
    (b"00G1abc", b"15"),  # length not hex
    (b"005", b"15"),  # length field truncated
    (b"", b"15"),  # no length field
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_b2_known_answers(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(b2, host, request_) == answer


@given(st.binary(max_size=300))
@settings(max_examples=200)
def test_b2_echoes_any_data_of_the_declared_length(data: bytes) -> None:
    from hsmd.host import TEST_LMK, LmkSet
    from tests.conftest import FIRMWARE

    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    assert native(b2, host, b"%04X" % len(data) + data) == b"00" + data


@pytest.mark.wasm
def test_b2_component_answers_exactly_as_the_logic_does(runtime: Runtime, plugin_dir: Path, host: Host) -> None:
    plugin = runtime.load(plugin_dir / "B2.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(b2, host, request_), request_
