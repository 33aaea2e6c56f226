"""N0 — Generate a random value.

No published answer can exist for random output; the tests pin the shape. Request `N0` + 3-digit length
in bytes and error 01 for an invalid length: mszeu/PayShieldPressureTest (`pressureTest.py` sends `N0008`
for "a random value 8 bytes long"; `decode_n0` names 01 "Invalid Random Value Length" and prints the
bytes after the error code as hex, i.e. the value is binary).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import n0
from tests.commands import in_component, native
from tests.tcp import exchange

LENGTHS = [1, 8, 16, 255, 256, 999]

ERROR_CASES = [
    (b"000", b"01"),  # no bytes is not a random value
    (b"", b"15"),
    (b"08", b"15"),  # length truncated
    (b"0A8", b"15"),  # not decimal
    (b" 08", b"15"),
    (b"0016", b"15"),  # a fourth digit
    (b"008X", b"15"),
    (b"008%01", b"13"),  # LMK 01 not loaded
    (b"008%0", b"13"),
]


@pytest.mark.parametrize("length", LENGTHS)
def test_n0_returns_that_many_raw_bytes(host: Host, length: int) -> None:
    answer = native(n0, host, b"%03d" % length)
    assert answer[:2] == b"00"
    assert len(answer) == 2 + length


def test_n0_value_is_binary_not_hex(host: Host) -> None:
    # 256 random bytes confined to the 22 hex characters would be a 2**-390-ish coincidence.
    value = native(n0, host, b"256")[2:]
    assert not frozenset(value) <= frozenset(b"0123456789ABCDEFabcdef")
    assert len(frozenset(native(n0, host, b"999")[2:])) > 200  # the whole byte range shows up


def test_n0_two_values_differ(host: Host) -> None:
    assert native(n0, host, b"016") != native(n0, host, b"016")


def test_n0_with_the_default_lmk_identifier(host: Host) -> None:
    answer = native(n0, host, b"008%00")
    assert answer[:2] == b"00"
    assert len(answer) == 2 + 8


@pytest.mark.parametrize(("request_", "answer"), ERROR_CASES)
def test_n0_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(n0, host, request_) == answer


@pytest.mark.wasm
def test_n0_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "N0.wasm")
    for request_, _ in ERROR_CASES:
        assert in_component(runtime, plugin, request_) == native(n0, host, request_), request_
    for length in LENGTHS:  # random answers: same code and length
        answer = in_component(runtime, plugin, b"%03d" % length)
        assert (answer[:2], len(answer)) == (b"00", 2 + length)


@pytest.mark.wasm
async def test_n0_over_tcp(built_plugins: Path) -> None:
    value, refused = await exchange(built_plugins, b"N0008", b"N0000")
    assert value[:4] == b"N100"
    assert len(value) == 4 + 8
    assert refused == b"N101"
