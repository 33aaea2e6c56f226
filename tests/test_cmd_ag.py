"""AG — Translate a TAK from LMK to TMK.

Vector: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslateTAKFromLMKToTMK`): TMK
0406FBB23A5214DF and a TAK whose check value is EDFE6926B3B9D27C give the TAK
under the TMK D3A9103B524C49AC. ThalesSim holds its TAKs under another LMK
16-17 than the public test LMK's, so the same clear TAK (E9CB01B93B20914F,
whose check value that is) is given here under the test LMK, as MA's tests
give it; and ThalesSim appends a check value that the manual's AH response
does not have. Every other expected answer is computed with tests/oracle.py
(psec and the variant-LMK rules of shared/reference/payshield.md), not with
hsmd's own key code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ag
from tests import oracle
from tests.commands import in_component, native, pci_host
from tests.tcp import exchange

TMK = "0406FBB23A5214DF"
TMK_CLEAR = bytes.fromhex("0B681FC20E62C734")
DOUBLE_TMK = "U8463435FC4B4DAA0C49025272C29B12C"
DOUBLE_TMK_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")
TAK = "C6F34693FB39CB6E"
TAK_CLEAR = bytes.fromhex("E9CB01B93B20914F")
DOUBLE_TAK = "U19D25F349FD03CC3556BB05F65283CA1"
DOUBLE_TAK_CLEAR = bytes.fromhex("7962D9ECE03D1ACD4C76089DCE131543")
TRIPLE_TAK_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity
TRIPLE_TAK = oracle.to_lmk("003", "T", TRIPLE_TAK_CLEAR)
EVEN_TAK = "17256862C66FB7B2"  # clear E9CB01B93B20914E: even parity (oracle.to_lmk)


def answer(kek: bytes, scheme: str, clear: bytes) -> bytes:
    return f"00{oracle.encrypt(kek, scheme, clear)}".encode()


CASES = [
    # Published (ThalesSim), the TAK given under the test LMK.
    (f"{TMK}{TAK}", b"00D3A9103B524C49AC"),
    (f"{TMK}{TAK};Z00", b"00D3A9103B524C49AC"),
    (f"{TMK}{TAK}%00", b"00D3A9103B524C49AC"),
    # Computed with the oracle.
    (f"{DOUBLE_TMK}{DOUBLE_TAK}", answer(DOUBLE_TMK_CLEAR, "U", DOUBLE_TAK_CLEAR)),  # keeps scheme U
    (f"{DOUBLE_TMK}{DOUBLE_TAK};X00", answer(DOUBLE_TMK_CLEAR, "X", DOUBLE_TAK_CLEAR)),
    (f"{DOUBLE_TMK}{TRIPLE_TAK}", answer(DOUBLE_TMK_CLEAR, "T", TRIPLE_TAK_CLEAR)),
    (f"{DOUBLE_TMK}{TRIPLE_TAK};Y00", answer(DOUBLE_TMK_CLEAR, "Y", TRIPLE_TAK_CLEAR)),
    (f"{DOUBLE_TMK}{TAK}", answer(DOUBLE_TMK_CLEAR, "Z", TAK_CLEAR)),
    (f"{TMK}{DOUBLE_TAK};X00", answer(TMK_CLEAR, "X", DOUBLE_TAK_CLEAR)),
    # Errors.
    (f"{TMK}{TAK};U00", b"27"),  # a single-length TAK cannot be scheme U
    (f"{DOUBLE_TMK}{TRIPLE_TAK};U00", b"27"),
    (f"{TMK}{DOUBLE_TAK}", b"26"),  # scheme U (kept) needs a double-length TMK
    (f"{TMK}{TAK};R00", b"26"),  # no scheme R here
    (f"{TMK}{TAK};Z01", b"15"),  # reserved option not 0 (a check value type is not an option of AG)
    (f"{TMK}{TAK};Z", b"15"),  # block cut short
    (f"{TMK}{TAK}%02", b"13"),  # LMK 02 not loaded
    (f"{TMK}{TAK[:-2]}", b"15"),  # TAK short
    (f"{TMK}{TAK}0", b"15"),  # trailing data
    (f"{TMK}", b"15"),  # no TAK
    (f"{TAK}{TAK}", b"10"),  # a TAK given as the TMK: parity fails under 14-15
    (f"{TMK}{TMK}", b"11"),  # a TMK given as the TAK: parity fails under 16-17
    (f"{TMK}{EVEN_TAK}", b"11"),  # TAK parity
    (f"{TAK}{EVEN_TAK}", b"10"),  # the TMK is checked first
]


def test_vector_agrees_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("002", TMK) == TMK_CLEAR
    assert oracle.from_lmk("003", TAK) == TAK_CLEAR
    assert oracle.kcv(TAK_CLEAR) == "EDFE6926B3B9D27C"  # ThalesSim's TAK: the same clear key
    assert oracle.encrypt(TMK_CLEAR, "Z", TAK_CLEAR) == "D3A9103B524C49AC"
    assert oracle.from_lmk("003", DOUBLE_TAK) == DOUBLE_TAK_CLEAR


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_ag_known_answers_and_error_codes(host: Host, request_: str, expected: bytes) -> None:
    assert native(ag, host, request_.encode()) == expected


def test_in_pci_mode_ag_reads_its_tmk_as_key_type_80d() -> None:
    # PCI HSM compliance mode keeps TMKs under LMK 36-37 with variant 8 (key type 80D), as HA reads them.
    pci = pci_host()
    tmk_80d = oracle.to_lmk("80D", "U", DOUBLE_TMK_CLEAR)
    assert native(ag, pci, f"{tmk_80d}{DOUBLE_TAK}".encode()) == answer(DOUBLE_TMK_CLEAR, "U", DOUBLE_TAK_CLEAR)
    assert native(ag, pci, f"{DOUBLE_TMK}{DOUBLE_TAK}".encode()) == b"10"


@pytest.mark.wasm
def test_ag_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "AG.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ag, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ag_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"AG{TMK}{TAK}".encode(), f"AG{TMK}{EVEN_TAK}".encode()) == [
        b"AH00D3A9103B524C49AC",
        b"AH11",
    ]
