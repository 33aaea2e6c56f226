"""EA — Verify an interchange PIN using the IBM method.

Vectors: ThalesSim's GenerateAndVerifyIBMPin chain (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb): ZPK U402F…99B2, PVK UA8B1…A50A, PIN
block 28992058275C1FED (format 01, PIN 4584), account 832937216759, validation
data 4458329372N3, offset 0000FFFFFFFF, under the public test LMK. ThalesSim's
table FFFFFFFFFFFFFFFF is a simulator-private default; with the real payShield
rule the clear table 0123456789123456 gives the same natural PIN (4584), and
0123456789012345 gives 4483 (offset 0101 for PIN 4584). ThalesSim answers 00;
hsmd answers 02 because the PVK is double length (payShield host command
reference, "Generate an IBM PIN Offset": 02 is a warning for a double or triple
length PVK). Every value is re-derived below with tests/oracle.py (psec).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.host.native import NativeHsm
from hsmd.host.services import RequestScope
from hsmd.runtime import Runtime
from logic import ea, ee, jg
from tests import oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange
from tests.test_cmd_da import format_48_cases

ZPK = "U402F396F7ABEDC14976EB65959AA99B2"  # clear 98010ECE70A8FEA82AF8EA4A3B5B0494
PVK = "UA8B1520E201412938388191885FFA50A"  # clear 91F8983761D9EAC4761FEC58FDF82A43
PVK1 = "FCBA7CF5972CF0DD"  # single length: clear 0123456789ABCDEF under LMK 14-15
EVEN_ZPK = "F1F31D9B35137917"  # clear 0123456789ABCDEE (even last byte) under LMK 06-07
EVEN_PVK = "F38EF4656D399467"  # the same clear key under LMK 14-15
ACCOUNT = "832937216759"
TABLE = "0123456789123456"
TABLE2 = "0123456789012345"
VD = "4458329372N3"
BLOCK = "28992058275C1FED"  # ThalesSim: PIN 4584, ISO format 0, under the ZPK
BLOCK_03 = "E03EE7FE6C8FE034"  # PIN 4584, IBM 3624 (03), under the ZPK
BLOCK_6 = "CD02A6C462BADF2A"  # PIN 123456, ISO format 0, under the ZPK

HEAD = f"{ZPK}{PVK}12{BLOCK}01"
CASES = [
    (f"{HEAD}04{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"02"),  # ThalesSim's EA, real-rule table
    (f"{HEAD}04{ACCOUNT}{TABLE2}{VD}0101FFFFFFFF", b"02"),
    (f"{HEAD}04{ACCOUNT}{TABLE2}{VD}0000FFFFFFFF", b"01"),
    (f"{ZPK}{PVK1}12{BLOCK}0104{ACCOUNT}{TABLE}{VD}6256FFFFFFFF", b"00"),  # single PVK: no warning
    (f"{ZPK}{PVK1}12{BLOCK_03}0304{ACCOUNT}{TABLE}{VD}6256FFFFFFFF", b"00"),
    (f"{ZPK}{PVK}12{BLOCK_6}0106{ACCOUNT}{TABLE2}{VD}785148FFFFFF", b"02"),
    (f"{ZPK}{PVK}12{BLOCK_6}0106{ACCOUNT}{TABLE2}{VD}7851FFFFFFFF", b"15"),  # offset shorter than check length
    (f"{ZPK}{PVK}12{BLOCK_6}0104{ACCOUNT}{TABLE2}{VD}7851FFFFFFFF", b"01"),  # 4 offset digits, 6-digit PIN
    (f"{HEAD}04{ACCOUNT}{TABLE}{VD}0000FFFFFFFF%00", b"02"),
    (f"{HEAD}04{ACCOUNT}{TABLE}{VD}0000FFFFFFFF%01", b"13"),
    (f"{HEAD}04{ACCOUNT}{TABLE}{VD}0000FFFFFFFF%0", b"13"),
    (f"{EVEN_ZPK}{PVK}12{BLOCK}0104{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"10"),  # ZPK parity
    (f"{ZPK}{EVEN_PVK}12{BLOCK}0104{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"11"),  # PVK parity
    (f"{ZPK}{PVK}13{BLOCK}0104{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"15"),  # maximum PIN length
    (f"{HEAD}13{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"15"),  # check length above 12
    (f"{HEAD}04{ACCOUNT}{TABLE}4458329372NN0000FFFFFFFF", b"15"),  # two N
    (f"{HEAD}04{ACCOUNT[:-1]}X{TABLE}{VD}0000FFFFFFFF", b"15"),  # account not numeric
    (f"{ZPK}{PVK}12{BLOCK}0804{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"23"),
    (f"{ZPK}{PVK}12{BLOCK}0304{ACCOUNT}{TABLE}{VD}0000FFFFFFFF", b"20"),  # an ISO-0 block read as 3624
    (f"{HEAD}04{ACCOUNT}1111222233334444{VD}0000FFFFFFFF", b"25"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("001", ZPK).hex().upper() == "98010ECE70A8FEA82AF8EA4A3B5B0494"
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("001", ZPK, BLOCK), ACCOUNT) == "4584"
    assert oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("03", "4584")) == BLOCK_03
    assert oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("01", "123456", ACCOUNT)) == BLOCK_6
    assert oracle.to_lmk("001", "Z", bytes.fromhex("0123456789ABCDEE")) == EVEN_ZPK
    pvk, vd = oracle.from_lmk("002", PVK), oracle.ibm_validation_data(VD, ACCOUNT)
    assert oracle.ibm_pin(pvk, TABLE, "0000", vd) == "4584"
    assert oracle.ibm_pin(pvk, TABLE2, "0000", vd) == "4483"
    assert oracle.ibm_offset(pvk, TABLE2, "4584", vd) == "0101"
    assert oracle.ibm_offset(pvk, TABLE2, "123456", vd) == "785148"
    assert oracle.ibm_offset(oracle.from_lmk("002", PVK1), TABLE, "4584", vd) == "6256"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ea_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(ea, host, request_.encode()) == answer


@pytest.mark.parametrize(("pvk", "offset", "table"), [(PVK, "0000", TABLE), (PVK, "0101", TABLE2), (PVK1, "735190", TABLE)])
def test_ee_pin_sent_on_by_jg_verifies_with_ea(host: Host, pvk: str, offset: str, table: str) -> None:
    """ThalesSim's chain EE -> JG -> EA, with hsmd's own PIN under the LMK in the middle."""
    tail = f"{len(offset):02d}{ACCOUNT}{table}{VD}"
    derived = native(ee, host, f"{pvk}{offset.ljust(12, 'F')}{tail}".encode())
    code, lmk_pin = derived[:2], derived[2:].decode()
    assert code == (b"00" if pvk == PVK1 else b"02")
    answer = native(jg, host, f"{ZPK}01{ACCOUNT}{lmk_pin}".encode())
    assert answer[:2] == b"00"
    block = answer[2:].decode()
    assert native(ea, host, f"{ZPK}{pvk}12{block}01{tail}{offset.ljust(12, 'F')}".encode()) == code
    # The same PIN as the host puts it in a format 03 block (no JG involved).
    hsm = NativeHsm(host, RequestScope("test"))
    pin = hsm.pin_from_lmk(lmk_pin, ACCOUNT)
    block_03 = hsm.pin_to_block(hsm.key_from_lmk("001", ZPK), pin, "03", ACCOUNT)
    assert native(ea, host, f"{ZPK}{pvk}12{block_03}03{tail}{offset.ljust(12, 'F')}".encode()) == code
    other = offset[:-1] + str((int(offset[-1]) + 5) % 10)
    assert native(ea, host, f"{ZPK}{pvk}12{block}01{tail}{other.ljust(12, 'F')}".encode()) == b"01"


@pytest.mark.wasm
def test_ea_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ea, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ea_over_tcp(built_plugins: Path) -> None:
    ok = f"EA{HEAD}04{ACCOUNT}{TABLE}{VD}0000FFFFFFFF".encode()
    assert await exchange(built_plugins, ok, ok[:-1]) == [b"EB02", b"EB15"]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# DA's requests (tests/test_cmd_da.py: keys by A0 under the AES key-block test LMK, blocks and offsets by psec, the
# fixed X9.24-3 block for the wrong-PAN check): EA reads its ZPK as DA reads its TPK, a P0 key block either way.


def test_ea_verifies_format_48_under_an_aes_zpk() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()
    for request_, answer in format_48_cases(host):
        assert native(ea, host, request_) == answer, request_


@pytest.mark.wasm
def test_ea_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()
    component_matches_logic(built_plugins / "EA.wasm", ea, host, format_48_cases(host))
