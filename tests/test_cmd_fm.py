"""FM — Translate a ZEK or ZAK from LMK to ZMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslateZEKZAKFromLMKToZMK`, the
first version): a ZEK and a ZAK under the public test LMK go under the
single-length ZMK 4ED06495741C280C in scheme X, with 16 H check values; FK's
vectors translate those answers back. Every other expected answer is computed
with tests/oracle.py (psec and the variant-LMK rules of
shared/reference/payshield.md), not with hsmd's own key code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fk, fm
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "4ED06495741C280C"
ZMK_CLEAR = bytes.fromhex("E951A1D6EF08EA15")
DOUBLE_ZMK = "U1457FF6ADF6250C66C368416B4C9D383"
DOUBLE_ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
ZEK = "UDBF5EFC3DBA454A827022B569E0E086B"  # under LMK 30-31
ZEK_CLEAR = bytes.fromhex("92382661F8DF9DA87A31EFC88A917545")
ZAK = "UE84C6E8F364BB594D2F59F6E8A6BBBF5"  # under LMK 26-27
ZAK_CLEAR = bytes.fromhex("C226AB6E8A4C941F91CEBCE96BF7C498")
SINGLE_CLEAR = bytes.fromhex("0B681FC20E62C734")
SINGLE_ZEK = oracle.to_lmk("00A", "Z", SINGLE_CLEAR)
TRIPLE_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity
TRIPLE_ZAK = oracle.to_lmk("008", "T", TRIPLE_CLEAR)
EVEN_ZEK = oracle.to_lmk("00A", "Z", bytes.fromhex("0B681FC20E62C735"))  # last byte even parity


def answer(kek: bytes, scheme: str, clear: bytes, kcv_hex: int = 16) -> bytes:
    return f"00{oracle.encrypt(kek, scheme, clear)}{oracle.kcv(clear, kcv_hex)}".encode()


CASES = [
    # Published (ThalesSim, first version).
    (f"0{ZMK}{ZEK}", b"00XFF85E926874B18C660410136CE46BD484BF61EA8437E3EDA"),
    (f"1{ZMK}{ZAK}", b"00X2C0E3EE7A5EFFA00C3CD721FE6E66B8246831833F9855C52"),
    # Same keys, other option spellings.
    (f"0{ZMK}{ZEK};XZ1", b"00XFF85E926874B18C660410136CE46BD484BF61E"),
    (f"1{ZMK}{ZAK}0;X01%00", b"00X2C0E3EE7A5EFFA00C3CD721FE6E66B82468318"),
    # Computed with the oracle.
    (f"0{DOUBLE_ZMK}{ZEK}", answer(DOUBLE_ZMK_CLEAR, "U", ZEK_CLEAR)),  # U under a double-length ZMK
    (f"0{DOUBLE_ZMK}{ZEK};XU0", answer(DOUBLE_ZMK_CLEAR, "X", ZEK_CLEAR)),
    (f"1{DOUBLE_ZMK}{TRIPLE_ZAK}", answer(DOUBLE_ZMK_CLEAR, "T", TRIPLE_CLEAR)),
    (f"1{ZMK}{TRIPLE_ZAK}", answer(ZMK_CLEAR, "Y", TRIPLE_CLEAR)),  # Y under a single-length ZMK
    (f"0{ZMK}{SINGLE_ZEK}", answer(ZMK_CLEAR, "Z", SINGLE_CLEAR)),
    (f"0{DOUBLE_ZMK}{SINGLE_ZEK};ZZ1", answer(DOUBLE_ZMK_CLEAR, "Z", SINGLE_CLEAR, 6)),
    # Errors.
    (f"2{ZMK}{ZEK}", b"15"),  # flag neither ZEK nor ZAK
    ("", b"15"),
    (f"0{ZMK}{ZEK};UZ1", b"26"),  # scheme U needs a double-length ZMK
    (f"0{ZMK}{ZEK};ZZ1", b"27"),  # a double-length key cannot be scheme Z
    (f"0{ZMK}{ZEK};QZ1", b"26"),  # no scheme Q
    (f"0{ZMK}{ZEK};XQ1", b"15"),  # reserved option not 0 nor a scheme
    (f"0{ZMK}{ZEK};XZ2", b"15"),  # check value type 2
    (f"0{ZMK}{ZEK}%01", b"13"),  # LMK 01 not loaded
    (f"0{ZMK}{ZEK}7", b"15"),  # Atalla variant 7 not supported
    (f"0{ZMK}{ZEK[:-1]}", b"15"),  # key field short
    (f"0{ZMK}{ZEK}X", b"15"),  # trailing data
    (f"00406FBB23A5214DF{ZEK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"1{ZMK}{ZEK}", b"11"),  # a ZEK given as the ZAK: parity fails under 26-27
    (f"0{ZMK}{EVEN_ZEK}", b"11"),  # key parity
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("000", ZMK) == ZMK_CLEAR
    assert oracle.from_lmk("00A", ZEK) == ZEK_CLEAR
    assert oracle.from_lmk("008", ZAK) == ZAK_CLEAR
    assert oracle.encrypt(ZMK_CLEAR, "X", ZEK_CLEAR) == "XFF85E926874B18C660410136CE46BD48"
    assert oracle.kcv(ZEK_CLEAR) == "4BF61EA8437E3EDA"
    assert oracle.encrypt(ZMK_CLEAR, "X", ZAK_CLEAR) == "X2C0E3EE7A5EFFA00C3CD721FE6E66B82"
    assert oracle.kcv(ZAK_CLEAR) == "46831833F9855C52"
    assert oracle.odd_parity(oracle.from_lmk("008", ZEK)) is False  # the 11 case below


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_fm_known_answers_and_error_codes(host: Host, request_: str, expected: bytes) -> None:
    assert native(fm, host, request_.encode()) == expected


@pytest.mark.parametrize(("flag", "key"), [("0", ZEK), ("1", ZAK), ("1", TRIPLE_ZAK)])
def test_fk_takes_back_what_fm_sent(host: Host, flag: str, key: str) -> None:
    sent = native(fm, host, f"{flag}{DOUBLE_ZMK}{key}".encode())
    under_zmk, kcv = sent[2:-16].decode(), sent[-16:]
    scheme = key[0]
    back = native(fk, host, f"{flag}{DOUBLE_ZMK}{under_zmk};Z{scheme}0".encode())
    assert back == b"00" + key.encode() + kcv


@pytest.mark.wasm
def test_fm_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FM.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fm, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fm_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FM0{ZMK}{ZEK}".encode(), f"FM0{ZMK}{EVEN_ZEK}".encode()) == [
        b"FN00XFF85E926874B18C660410136CE46BD484BF61EA8437E3EDA",
        b"FN11",
    ]
