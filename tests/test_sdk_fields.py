"""The guest SDK's field readers (hsmd_sdk.fields), which every Python plugin parses its request with."""

from __future__ import annotations

import pytest
from hsmd_sdk.errors import HsmError
from hsmd_sdk.fields import Fields, is_hex, printable

HEX_DIGITS = b"0123456789ABCDEFabcdef"


@pytest.mark.parametrize("byte", range(256))
def test_printable_and_is_hex_judge_every_byte_value_as_their_definitions_do(byte: int) -> None:
    raw = bytes([byte])
    assert printable(b"A" + raw + b"z") is (0x20 <= byte <= 0x7E)
    assert is_hex(b"0" + raw + b"f") is (raw in [bytes([d]) for d in HEX_DIGITS])


def test_text_reads_printable_ascii_and_answers_its_error_code_for_anything_else() -> None:
    fields = Fields(b"AB CD\x7fE")
    assert fields.text(5, what="name") == "AB CD"
    with pytest.raises(HsmError) as raised:
        fields.text(2, error="80", what="tail")
    assert (raised.value.code, str(raised.value.reason)) == ("80", "tail: not printable")


def test_hex_reads_either_case_returns_upper_case_and_answers_15_for_a_non_hex_character() -> None:
    fields = Fields(b"0aBf0G")
    assert fields.hex(4) == "0ABF"
    with pytest.raises(HsmError) as raised:
        fields.hex(2, what="check value")
    assert raised.value.code == "15"


def test_a_key_block_is_read_whole_by_its_length_field_and_must_be_printable() -> None:
    block = b"S1" + b"0096" + b"P0TB00N0000" + b"A" * 72 + b"12345678"  # 96 characters after the tag
    assert len(block) == 97
    assert Fields(block + b"rest").key() == block.decode()
    with pytest.raises(HsmError) as raised:
        Fields(block[:50] + b"\x00" + block[51:]).key(error="10")
    assert raised.value.code == "10"
