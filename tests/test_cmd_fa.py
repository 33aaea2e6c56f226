"""FA — Translate a ZPK from ZMK to LMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fa
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
ZPK_UNDER_ZMK = "2B930A07119F93A8"  # clear 13F10E5D868A529E

CASES = [
    (f"{ZMK}{ZPK_UNDER_ZMK}", b"00BAB32D775A38E4AB73936E441E46819D"),
    (f"{ZMK}{ZPK_UNDER_ZMK};XZ1", b"00BAB32D775A38E4AB73936E"),
    (f"{ZMK}{ZPK_UNDER_ZMK};0Z0%00", b"00BAB32D775A38E4AB73936E441E46819D"),
    (f"{ZMK}{ZPK_UNDER_ZMK};XU1", b"27"),  # a single-length ZPK cannot be scheme U
    (f"{ZMK}{ZPK_UNDER_ZMK};XQ1", b"26"),  # no scheme Q
    (f"{ZMK}{ZPK_UNDER_ZMK};XZ2", b"15"),  # check value type 2
    (f"{ZMK}{ZPK_UNDER_ZMK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZMK}{ZPK_UNDER_ZMK}7", b"15"),  # Atalla variant 7 not supported
    (f"{ZMK}{ZPK_UNDER_ZMK[:-1]}", b"15"),  # ZPK field short
    (f"{ZMK}{ZPK_UNDER_ZMK[:-1]}G", b"15"),  # ZPK field not hex
    (f"0406FBB23A5214DF{ZPK_UNDER_ZMK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
]


def test_vector_agrees_with_an_independent_implementation() -> None:
    # The ZMK: scheme U under the test LMK's 04-05 pair (byte 8 ^ A6 / ^ 5A); then the ZPK under the clear ZMK.
    zmk = oracle.from_lmk("000", ZMK)
    zpk = oracle.decrypt(zmk, ZPK_UNDER_ZMK)
    assert oracle.to_lmk("001", "Z", zpk) == "BAB32D775A38E4AB"
    assert oracle.kcv(zpk) == "73936E441E46819D"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fa_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(fa, host, request_.encode()) == answer


def test_zpk_with_even_parity_is_translated_with_advice_01(host: Host) -> None:
    # 13F10E5D868A529F (last byte flipped to even parity) under the clear ZMK, computed with the oracle.
    zmk = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
    even = oracle.encrypt(zmk, "Z", bytes.fromhex("13F10E5D868A529F"))
    assert native(fa, host, f"{ZMK}{even}".encode()) == b"01BAB32D775A38E4AB73936E441E46819D"


@pytest.mark.wasm
def test_fa_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fa, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fa_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FA{ZMK}{ZPK_UNDER_ZMK}".encode(), f"FA{ZMK}".encode()) == [
        b"FB00BAB32D775A38E4AB73936E441E46819D",
        b"FB15",
    ]
