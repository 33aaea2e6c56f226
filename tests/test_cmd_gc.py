"""GC — Translate a ZPK from LMK to ZMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslateZPKFromLMKToZMK`), keys
under the public test LMK; the double-length ZPK is the one of ThalesSim's BU
test (clear and check value published there). Every other expected answer is
computed here with tests/oracle.py (psec and the variant-LMK rules of
shared/reference/payshield.md), not with hsmd's own key code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import gc
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
SINGLE_ZMK = "4ED06495741C280C"
SINGLE_ZMK_CLEAR = bytes.fromhex("E951A1D6EF08EA15")
ZPK = "BAB32D775A38E4AB"
ZPK_CLEAR = bytes.fromhex("13F10E5D868A529E")
DOUBLE_ZPK = "U1EF828AA8F6B80EB83E19FBC373F3A85"
DOUBLE_ZPK_CLEAR = bytes.fromhex("C7152C20BC2C830EA7EC9E8334ABE3FE")
DOUBLE_KCV = "6F1E3F74F826B7EB"
TRIPLE_ZPK_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity


def answer(kek: bytes, scheme: str, clear: bytes, kcv_hex: int = 16) -> bytes:
    return f"00{oracle.encrypt(kek, scheme, clear)}{oracle.kcv(clear, kcv_hex)}".encode()


TRIPLE_ZPK = oracle.to_lmk("001", "T", TRIPLE_ZPK_CLEAR)
X_ZPK = oracle.to_lmk("001", "X", DOUBLE_ZPK_CLEAR)
EVEN_ZPK = oracle.to_lmk("001", "Z", bytes.fromhex("13F10E5D868A529F"))  # last byte even parity

CASES = [
    # Published (ThalesSim).
    (f"{ZMK}{ZPK}", b"002B930A07119F93A873936E441E46819D"),
    (f"{ZMK}{ZPK};ZZ1", b"002B930A07119F93A873936E"),
    # Same keys, other option spellings.
    (f"{ZMK}{ZPK};Z01%00", b"002B930A07119F93A873936E"),
    (f"{ZMK}{ZPK}0", b"002B930A07119F93A873936E441E46819D"),  # Atalla variant 0
    (f"{ZMK}{ZPK};z00", b"002B930A07119F93A873936E441E46819D"),
    # Computed with the oracle.
    (f"{ZMK}{DOUBLE_ZPK}", answer(ZMK_CLEAR, "U", DOUBLE_ZPK_CLEAR)),  # keeps scheme U
    (f"{ZMK}{DOUBLE_ZPK};XZ1", answer(ZMK_CLEAR, "X", DOUBLE_ZPK_CLEAR, 6)),
    (f"{ZMK}{X_ZPK}", answer(ZMK_CLEAR, "X", DOUBLE_ZPK_CLEAR)),  # keeps scheme X
    (f"{ZMK}{X_ZPK};UU0", answer(ZMK_CLEAR, "U", DOUBLE_ZPK_CLEAR)),
    (f"{ZMK}{TRIPLE_ZPK}", answer(ZMK_CLEAR, "T", TRIPLE_ZPK_CLEAR)),
    (f"{ZMK}{TRIPLE_ZPK};YU1", answer(ZMK_CLEAR, "Y", TRIPLE_ZPK_CLEAR, 6)),
    (f"{SINGLE_ZMK}{ZPK}", answer(SINGLE_ZMK_CLEAR, "Z", ZPK_CLEAR)),
    (f"{SINGLE_ZMK}{DOUBLE_ZPK};XZ0", answer(SINGLE_ZMK_CLEAR, "X", DOUBLE_ZPK_CLEAR)),
    # Errors.
    (f"{ZMK}{ZPK};UZ1", b"27"),  # a single-length ZPK cannot be scheme U
    (f"{ZMK}{DOUBLE_ZPK};ZZ1", b"27"),
    (f"{ZMK}{TRIPLE_ZPK};XZ1", b"27"),
    (f"{SINGLE_ZMK}{DOUBLE_ZPK};UZ0", b"26"),  # scheme U needs a double-length ZMK
    (f"{ZMK}{ZPK};QZ1", b"26"),  # no scheme Q
    (f"{ZMK}{ZPK};ZQ1", b"15"),  # reserved option not 0 nor a scheme
    (f"{ZMK}{ZPK};ZZ2", b"15"),  # check value type 2
    (f"{ZMK}{ZPK};ZZ", b"15"),  # block cut short
    (f"{ZMK}{ZPK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZMK}{ZPK}7", b"15"),  # Atalla variant 7 not supported
    (f"{ZMK}{ZPK[:-1]}", b"15"),  # ZPK field short
    (f"{ZMK}{ZPK[:-1]}G", b"15"),  # ZPK field not hex
    (f"{ZMK}{ZPK}X", b"15"),  # trailing data
    (f"{ZMK}", b"15"),  # no ZPK
    (f"0406FBB23A5214DF{ZPK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"{ZMK}{EVEN_ZPK}", b"11"),  # ZPK parity
    (f"0406FBB23A5214DF{EVEN_ZPK}", b"10"),  # the ZMK is checked first
]


def test_vector_agrees_with_an_independent_implementation() -> None:
    # The oracle: the ZMK (scheme U under 04-05) and the ZPK (bare, under 06-07), then the ZPK under the clear ZMK.
    assert oracle.from_lmk("000", ZMK) == ZMK_CLEAR
    assert oracle.to_lmk("000", "U", ZMK_CLEAR) == ZMK
    assert oracle.from_lmk("001", ZPK) == ZPK_CLEAR
    assert oracle.encrypt(ZMK_CLEAR, "Z", ZPK_CLEAR) == "2B930A07119F93A8"
    assert oracle.kcv(ZPK_CLEAR) == "73936E441E46819D"
    assert oracle.from_lmk("001", DOUBLE_ZPK) == DOUBLE_ZPK_CLEAR
    assert oracle.kcv(DOUBLE_ZPK_CLEAR) == DOUBLE_KCV


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_gc_known_answers_and_error_codes(host: Host, request_: str, expected: bytes) -> None:
    assert native(gc, host, request_.encode()) == expected


@pytest.mark.wasm
def test_gc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(gc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_gc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"GC{ZMK}{ZPK}".encode(), f"GC{ZMK}{EVEN_ZPK}".encode()) == [
        b"GD002B930A07119F93A873936E441E46819D",
        b"GD11",
    ]
