"""CI — Translate a PIN from BDK to ZPK encryption (single-DES DUKPT).

Vectors: jPOS's single-DES DUKPT table (jpos/jPOS,
jpos/src/test/java/org/jpos/security/jceadapter/DUKPTTest.java: BDK
0123456789ABCDEFFEDCBA9876543210, KSN FFFF9876543210E0xxxx, PIN 1234, PAN
4012345678909), each block re-derived below with the DUKPT oracle in
tests/oracle.py (ANSI X9.24-1:1998 written out with psec.des), translated to
ThalesSim's ZPK (nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb,
TestTranslatePINFromDukptoZPK: BDK U8E3D3E2FD5919657F05A1AA90D32A014, ZPK
U9D961F6AF1D24B38AB37B320022FF57D under the public test LMK). The translated
block is the same clear block under the same ZPK, so CI answers exactly
ThalesSim's expected 00 04 7D26134E85E7DADF 01.

ThalesSim's own CI requests carry TDES DUKPT blocks (its CI derives a TDES
key, against the manual): under CI's single-DES key they do not decrypt to a
PIN block (20); the same requests given to G0 give ThalesSim's answer
(tests/test_cmd_g0.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ci, je, jg
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

BDK = "U8E3D3E2FD5919657F05A1AA90D32A014"  # type 009, clear 0123456789ABCDEFFEDCBA9876543210
ZPK = "U9D961F6AF1D24B38AB37B320022FF57D"  # type 001, clear 1C1C..1C
ACCOUNT = "401234567890"  # PAN 4012345678909
KSN = "FFFF9876543210"  # + the counter's 6 digits
ANSWER = b"00047D26134E85E7DADF01"

BDK_CLEAR = oracle.from_lmk("009", BDK)
ZPK_CLEAR = oracle.from_lmk("001", ZPK)

# jPOS DUKPTTest, single DES: counter -> PIN block (PIN 1234, PAN 4012345678909).
JPOS_DES = {
    "E00001": "6B1431D0D9B23093",
    "E00002": "B76997F83C1479DB",
    "E00003": "925BC2A39652CF75",
    "E00009": "8DC939C56D0FD13C",
    "E0000F": "C578B541B9A58A5B",
    "E00010": "6268FFC127118969",
    "EFF800": "A6552D24B01E71A0",
    "EFFC00": "6DEF7FD593810AC7",
    "F00000": "3FAC6F8763C0B60C",
}
# ThalesSim's CI requests: TDES DUKPT blocks (counter -> block).
THALESSIM_TDES = {"E00001": "1B9C1845EB993A7A", "E00010": "D5D9638559EF53D6", "EFFC00": "DEFC6F09F8927B71"}


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


def iso0(pin_field: str) -> str:
    """A clear ISO format 0 block (16 H) from its PIN field, bound to ACCOUNT (written out, to break it on purpose)."""
    return f"{int(pin_field, 16) ^ int('0000' + ACCOUNT, 16):016X}"


def des_block(counter: str, clear: str) -> str:
    """A clear PIN block under the single-DES DUKPT key of KSN + counter (the oracle's)."""
    return oracle.dukpt_encrypt_block(BDK_CLEAR, KSN + counter, clear, single_des=True)


E1 = JPOS_DES["E00001"]
PLUS = oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("04", "1234", ACCOUNT))
PAN_9901 = oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("01", "9901", "999980000990"))

CASES = [
    # jPOS single-DES blocks -> ThalesSim's answer.
    *((f"{BDK}{ZPK}605{KSN}{counter}{block}01{ACCOUNT}", ANSWER) for counter, block in JPOS_DES.items()),
    (f"{BDK}{ZPK}6059876543210E00001{E1}01{ACCOUNT}", ANSWER),  # the KSN without its F padding
    (f"{BDK}{ZPK}A05{KSN}E00001{E1}01{ACCOUNT}", ANSWER),  # descriptor A05: 20 digits
    (f"{BDK}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}%00", ANSWER),
    (f"{BDK}{ZPK}605{KSN}E00001{E1}04{ACCOUNT}", f"0004{PLUS}04".encode()),  # PLUS, bound to the 12 digits
    # jPOS: PAN 9999999800009901, PIN 9901, counter 2.
    (f"{BDK}{ZPK}605{KSN}E00002E6F851D98E8DD72201999980000990", f"0004{PAN_9901}01".encode()),
    # ThalesSim's TDES blocks are no single-DES blocks.
    *((f"{BDK}{ZPK}605{KSN}{counter}{block}01{ACCOUNT}", b"20") for counter, block in THALESSIM_TDES.items()),
    # Errors.
    (f"{oracle.to_lmk('009', 'U', flip(BDK_CLEAR))}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}", b"10"),
    (f"{BDK}{oracle.to_lmk('001', 'U', flip(ZPK_CLEAR))}605{KSN}E00001{E1}01{ACCOUNT}", b"11"),
    (f"{oracle.to_lmk('009', 'Z', BDK_CLEAR[:8])}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}", b"27"),  # single length
    (f"{oracle.to_lmk('009', 'T', BDK_CLEAR + BDK_CLEAR[:8])}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}", b"27"),  # triple
    (f"{BDK}{ZPK}605{KSN}E00001{E1}47{ACCOUNT}", b"23"),  # destination 01 or 04 only
    (f"{BDK}{ZPK}605{KSN}E00001{E1}02{ACCOUNT}", b"23"),
    (f"{BDK}{ZPK}605{KSN}E00001{des_block('E00001', iso0('041234FFFFFFFFFE'))}01{ACCOUNT}", b"20"),  # F fill broken (last digit E)
    (f"{BDK}{ZPK}605{KSN}E00001{des_block('E00001', iso0('0D1234567890123F'))}01{ACCOUNT}", b"24"),  # 13 digits
    (f"{BDK}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{BDK}{ZPK}A059876543210E00001{E1}01{ACCOUNT}", b"15"),  # A05 describes 20 digits, 16 given
    (f"{BDK}{ZPK}6051234876543210E00001{E1}01{ACCOUNT}", b"15"),  # padding that is not F
    (f"{BDK}{ZPK}60543210E00001{E1}01{ACCOUNT}", b"15"),  # KSN of 11 digits
    (f"{BDK}{ZPK}605FFFFFF9876543210E00001{E1}01{ACCOUNT}", b"15"),  # KSN of 22 digits
    (f"{BDK}{ZPK}605FFFF987654321GE00001{E1}01{ACCOUNT}", b"15"),  # KSN not hex
    (f"{BDK}{ZPK}60G{KSN}E00001{E1}01{ACCOUNT}", b"15"),  # descriptor not hex
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0140123456789X", b"15"),  # account not numeric
    (f"{BDK}{ZPK}605{KSN}E00001{E1[:-1]}G01{ACCOUNT}", b"15"),  # PIN block not hex
    (f"{BDK}{ZPK}605{KSN}E00001", b"15"),  # fields missing
]


def test_the_oracle_reproduces_jpos_single_des_table() -> None:
    assert BDK_CLEAR.hex().upper() == "0123456789ABCDEFFEDCBA9876543210"
    assert oracle.dukpt_ipek(BDK_CLEAR, KSN + "E00000")[:8].hex().upper() == "6AC292FAA1315B4D"
    assert oracle.dukpt_des_pin_key(BDK_CLEAR, KSN + "E00001").hex().upper() == "35FDB4BBAEE6A293"
    for counter, block in JPOS_DES.items():
        assert oracle.dukpt_pinblock(BDK_CLEAR, KSN + counter, "1234", ACCOUNT, single_des=True) == block, counter
    assert oracle.dukpt_pinblock(BDK_CLEAR, KSN + "E00002", "9901", "999980000990", single_des=True) == "E6F851D98E8DD722"
    # ThalesSim's blocks are TDES DUKPT ones, and its answer is the clear block under the ZPK.
    for counter, block in THALESSIM_TDES.items():
        assert oracle.dukpt_pinblock(BDK_CLEAR, KSN + counter, "1234", ACCOUNT) == block, counter
    assert oracle.pinblock_encrypt("001", ZPK, "041274EDCBA9876F") == "7D26134E85E7DADF"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ci_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(ci, host, request_.encode()) == answer


def test_ci_then_je_and_jg_give_the_same_zpk_block_back(host: Host) -> None:
    answer = native(ci, host, f"{BDK}{ZPK}605{KSN}E00003{JPOS_DES['E00003']}01{ACCOUNT}".encode())
    block = answer[4:20].decode()
    under_lmk = native(je, host, f"{ZPK}{block}01{ACCOUNT}".encode())
    assert under_lmk[:2] == b"00"
    assert native(jg, host, f"{ZPK}01{ACCOUNT}{under_lmk[2:].decode()}".encode()) == b"00" + block.encode()


@pytest.mark.wasm
def test_ci_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CI.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ci, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ci_over_tcp(built_plugins: Path) -> None:
    requests = [f"CI{BDK}{ZPK}605{KSN}E00001{E1}01{ACCOUNT}", f"CI{BDK}{ZPK}605{KSN}E00001{E1}47{ACCOUNT}"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"CJ" + ANSWER, b"CJ23"]
