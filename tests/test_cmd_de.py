"""DE — Generate an IBM PIN offset of a PIN under the LMK.

Keys: ThalesSim's IBM PVK (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, GenerateAndVerifyIBMPin) and a
single-length PVK made here, under the public test LMK; account, validation
data and PIN 4584 from the same ThalesSim test. Offsets are re-derived with
tests/oracle.py (psec.pin.generate_ibm3624_offset) using the real payShield
decimalisation rule (ThalesSim's FFFFFFFFFFFFFFFF table is a simulator-private
default; the clear table 0123456789123456 gives the same natural PIN).

The PIN under the LMK: the simulator-mode host (ThalesSim's "0" + PIN) gives
readable vectors; the default host's PINs under the LMK are hsmd's own
encryption, made by EE or the host and checked by round trip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.native import NativeHsm
from hsmd.host.services import PinSettings, RequestScope
from hsmd.runtime import Runtime
from logic import de, ee
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

PVK = "UA8B1520E201412938388191885FFA50A"  # clear 91F8983761D9EAC4761FEC58FDF82A43
PVK1 = "FCBA7CF5972CF0DD"  # single length: clear 0123456789ABCDEF under LMK 14-15
EVEN = "F38EF4656D399467"  # clear 0123456789ABCDEE (even last byte) under LMK 14-15
ACCOUNT = "832937216759"
TABLE = "0123456789123456"
TABLE2 = "0123456789012345"
VD = "4458329372N3"  # 4458329372167593
PIN_4584 = "97288"  # PIN 4584 under LMK 02-03 for ACCOUNT, as the default host encrypts it
PIN_123456 = "8994040"  # PIN 123456 likewise

TAIL = f"{ACCOUNT}{TABLE}{VD}"
CASES = [
    (f"{PVK1}{PIN_4584}04{TAIL}", b"006256FFFFFFFF"),
    (f"{PVK1}{PIN_123456}04{TAIL}", b"00390612FFFFFF"),
    (f"{PVK1}{PIN_123456}06{TAIL}", b"00390612FFFFFF"),
    (f"{PVK}{PIN_4584}04{TAIL}", b"020000FFFFFFFF"),  # double-length PVK: warning 02, offset follows
    (f"{PVK}{PIN_4584}04{ACCOUNT}{TABLE2}{VD}", b"020101FFFFFFFF"),
    (f"{PVK}{PIN_123456}04{ACCOUNT}{TABLE2}{VD}", b"02785148FFFFFF"),
    (f"{PVK1}{PIN_4584}04{TAIL}%00", b"006256FFFFFFFF"),
    (f"{PVK1}{PIN_4584}04{TAIL}%01", b"13"),
    (f"{EVEN}{PIN_4584}04{TAIL}", b"10"),
    (f"{PVK1}{PIN_4584}05{TAIL}", b"24"),  # PIN shorter than the check length
    (f"{PVK1}{PIN_123456}07{TAIL}", b"24"),
    (f"{PVK1}{PIN_4584}13{TAIL}", b"15"),  # check length outside 04-12
    (f"{PVK1}{PIN_4584}04{TAIL[:-1]}", b"15"),  # too short: the PIN field loses a digit, VD has no N
    (f"{PVK1}1234504{TAIL}", b"14"),  # not a PIN under the LMK: fails its check digit
    (f"{PVK1}{PIN_4584}04{ACCOUNT}5555666677778888{VD}", b"25"),
    (f"{PVK1}{PIN_4584}04{ACCOUNT}01234567891234AB{VD}", b"25"),
    (f"{PVK1}{PIN_4584}04{TAIL}*0104", b"15"),  # no excluded PIN table
]

SIM_4584, SIM_123456, SIM_12 = "04584", "0123456", "0123456789012"  # ThalesSim's PIN under the LMK: "0" + PIN
SIM_BAD = "14584"  # leading digit 1, not 0
SIM_CASES = [
    (f"{PVK}{SIM_4584}04{TAIL}", b"020000FFFFFFFF"),
    (f"{PVK}{SIM_4584}04{ACCOUNT}{TABLE2}{VD}", b"020101FFFFFFFF"),
    (f"{PVK}{SIM_123456}04{ACCOUNT}{TABLE2}{VD}", b"02785148FFFFFF"),
    (f"{PVK1}{SIM_12}12{TAIL}", b"00390612636764"),  # a 12-digit PIN
    (f"{PVK}{SIM_BAD}04{TAIL}", b"14"),
]


@pytest.fixture
def sim_host() -> Host:
    """ThalesSim's convention for the PIN under the LMK (replays its vectors; not encryption)."""
    return Host(LmkSet({0: TEST_LMK}), "0007-E000", pin_settings=PinSettings(pin_under_lmk="simulator"))


def test_vectors_agree_with_an_independent_implementation() -> None:
    vd = oracle.ibm_validation_data(VD, ACCOUNT)
    assert vd == "4458329372167593"
    single, double = oracle.from_lmk("002", PVK1), oracle.from_lmk("002", PVK)
    assert oracle.to_lmk("002", "Z", bytes.fromhex("0123456789ABCDEF")) == PVK1
    assert oracle.ibm_offset(single, TABLE, "4584", vd) == "6256"
    assert oracle.ibm_offset(single, TABLE, "123456", vd) == "390612"
    assert oracle.ibm_offset(double, TABLE, "4584", vd) == "0000"
    assert oracle.ibm_offset(double, TABLE2, "4584", vd) == "0101"
    assert oracle.ibm_offset(double, TABLE2, "123456", vd) == "785148"
    assert oracle.ibm_offset(single, TABLE, "123456789012", vd) == "390612636764"


def test_pins_under_the_lmk_are_what_the_constants_say() -> None:
    hsm = NativeHsm(Host(LmkSet({0: TEST_LMK}), "0007-E000", pin_settings=PinSettings(authorised=True)), RequestScope("t"))
    assert hsm.pin_reveal(hsm.pin_from_lmk(PIN_4584, ACCOUNT)) == "4584"
    assert hsm.pin_reveal(hsm.pin_from_lmk(PIN_123456, ACCOUNT)) == "123456"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_de_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(de, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_de_thalessim_style_vectors(sim_host: Host, request_: str, answer: bytes) -> None:
    assert native(de, sim_host, request_.encode()) == answer


@pytest.mark.parametrize("offset", ["0000", "9999", "1234", "000000", "13579", "864209753102"])
@pytest.mark.parametrize("pvk", [PVK, PVK1])
def test_ee_pin_gives_the_same_offset_back(host: Host, pvk: str, offset: str) -> None:
    """EE derives the PIN of an offset under the LMK; DE gives that offset back (default host: hsmd's encryption)."""
    tail = f"04{ACCOUNT}{TABLE2}{VD}"
    derived = native(ee, host, f"{pvk}{offset.ljust(12, 'F')}{tail}".encode())
    code = b"00" if pvk == PVK1 else b"02"
    assert derived[:2] == code
    assert native(de, host, f"{pvk}{derived[2:].decode()}{tail}".encode()) == code + offset.ljust(12, "F").encode()


@pytest.mark.wasm
def test_de_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "DE.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(de, host, request_.encode()), request_


@pytest.mark.wasm
async def test_de_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"DE{PVK1}{PIN_4584}04{TAIL}".encode(), f"DE{EVEN}{PIN_4584}04{TAIL}".encode()) == [
        b"DF006256FFFFFFFF",
        b"DF10",
    ]
