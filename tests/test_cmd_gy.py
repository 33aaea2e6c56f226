"""GY — Form a ZMK from 2 to 9 ZMK components.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb and ThalesSim.Tests.Unit/Commands/
HostCommandTests.cs, `TestFormZMKFromTwoToNineComponents`): three bare 32 H
components under plain LMK 04-05 (those of GG's test, in the other order)
give the ZMK C0BC1DFFC449A402DAB71250CA5869CC with check value
8CE39643DA9A9B99, bare without the `;` block, U369835189A058604EB7F84EAE10C7D04
with `;0U1`. Every other expected answer is computed with tests/oracle.py
(psec and the variant-LMK rules of shared/reference/payshield.md), not with
hsmd's own key code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import gy
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

C1, C2, C3 = "A235EDF4C58A2CB0C84641D07319CF21", "FF43378ED5D85B1BC465BF000335FBF1", "2EC8A0412B5D0E86E3C1E5ABFA19B3F5"
S1, S2 = "42D51505B7CFC4619FB1185F9741502A"[:16], "42D51505B7CFC4619FB1185F9741502A"[16:]  # GG's forum components
BAD = "0406FBB23A5214DF"  # a TPK (key type 002): fails the parity check under 04-05
TRIPLE_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity
T1 = oracle.to_lmk("000", "T", TRIPLE_CLEAR)
T2 = oracle.to_lmk("000", "T", bytes.fromhex("0101010101010101" * 3))  # XORs in nothing but parity bits


def combined(*components: str) -> bytes:
    """The components' clear XOR with odd parity forced: the ZMK they form."""
    return oracle.with_odd_parity(oracle.xor([oracle.from_lmk("000", c) for c in components]))


def answer(scheme: str, zmk: bytes, kcv_hex: int = 16, *, letter: bool = True) -> bytes:
    under_lmk = oracle.to_lmk("000", scheme, zmk)
    return f"00{under_lmk if letter else under_lmk[1:]}{oracle.kcv(zmk, kcv_hex)}".encode()


CASES = [
    # Published (ThalesSim).
    (f"3{C3}{C2}{C1}", b"00C0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    (f"3{C3}{C2}{C1};0U1", b"00U369835189A058604EB7F84EAE10C7D048CE396"),
    (f"3{C3}{C2}{C1};0X0", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    # Same components, other counts and spellings.
    (f"9{C1}{C2}{C3}{C1}{C2}{C3}{C1}{C2}{C3}", b"00C0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    (f"3X{C3}X{C2}X{C1}", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),  # scheme-tagged: kept
    (f"3{C3}{C2}{C1};0X1%00", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE396"),
    # Computed with the oracle.
    (f"2{C1}{C2}", answer("X", combined(C1, C2), letter=False)),
    (f"2{C1}{C2};0U0", answer("U", combined(C1, C2))),
    (f"2{S1}{S2}", answer("Z", combined(S1, S2))),
    (f"2{S1}{S2};0Z1", answer("Z", combined(S1, S2), 6)),
    (f"2{T1}{T2}", answer("T", combined(T1, T2))),
    (f"4{C1}{C2}{C3}{C3}", answer("X", combined(C1, C2), letter=False)),
    # Errors.
    (f"1{C1}", b"03"),  # one component
    (f"0{C1}{C2}", b"03"),
    (f"A{C1}{C2}", b"15"),  # count not numeric
    (f"2{BAD}{S2}", b"10"),  # parity: first component
    (f"2{S1}{BAD}", b"11"),  # a later one
    (f"2{C1}{C1}", b"11"),  # two equal components cancel out: an all-zero key
    (f"2{C1}{C2};ZU1", b"26"),  # key scheme ZMK must be 0
    (f"2{C1}{C2};0Q1", b"26"),
    (f"2{C1}{C2};0T0", b"27"),  # a double-length ZMK cannot be scheme T
    (f"2X{C1}{S1}", b"27"),  # components of different lengths
    (f"3{C1}{C2}", b"15"),  # fewer components than counted
    (f"2{C1}{C2}{C3}", b"15"),  # more than counted
    (f"2{C1}{C2};0U2", b"15"),  # check value type 2
    (f"2{C1}{C2}%01", b"13"),  # LMK 01 not loaded
    ("", b"15"),
]


def test_vector_agrees_with_an_independent_implementation() -> None:
    zmk = combined(C1, C2, C3)
    assert oracle.to_lmk("000", "X", zmk) == "XC0BC1DFFC449A402DAB71250CA5869CC"
    assert oracle.to_lmk("000", "U", zmk) == "U369835189A058604EB7F84EAE10C7D04"
    assert oracle.kcv(zmk) == "8CE39643DA9A9B99"


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_gy_known_answers_and_error_codes(host: Host, request_: str, expected: bytes) -> None:
    assert native(gy, host, request_.encode()) == expected


@pytest.mark.wasm
def test_gy_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GY.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(gy, host, request_.encode()), request_


@pytest.mark.wasm
async def test_gy_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"GY3{C3}{C2}{C1}".encode(), f"GY2{S1}{BAD}".encode()) == [
        b"GZ00C0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99",
        b"GZ11",
    ]
