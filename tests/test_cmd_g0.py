"""G0 — Translate a PIN from BDK to ZPK encryption (Triple-DES DUKPT).

Vectors: ThalesSim (nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb):
its three CI requests (TDES DUKPT blocks; G0 adds the source format 01) and
its G0 test's keys (ZPK U1EF828AA8F6B80EB83E19FBC373F3A85, KSN
FFFF9876543210E00008); jPOS's TDES DUKPT table (jpos/jPOS,
jpos/src/test/java/org/jpos/security/jceadapter/DUKPTTest.java: BDK
0123456789ABCDEFFEDCBA9876543210, PIN 1234, PAN 4012345678909). Every block
and key is re-derived below with the DUKPT oracle in tests/oracle.py (ANSI
X9.24-1:2004 Annex A written out with psec.des).
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import g0, je, jg
from tests import oracle
from tests.commands import in_component, key_block, native
from tests.tcp import exchange

BDK = "U8E3D3E2FD5919657F05A1AA90D32A014"  # type 009, clear 0123456789ABCDEFFEDCBA9876543210
ZPK = "U9D961F6AF1D24B38AB37B320022FF57D"  # ThalesSim's CI ZPK, clear 1C1C..1C
ZPK_G0 = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # ThalesSim's G0 ZPK, clear C7152C20BC2C830EA7EC9E8334ABE3FE
ACCOUNT = "401234567890"
KSN = "FFFF9876543210"
ANSWER = b"00047D26134E85E7DADF01"

BDK_CLEAR = oracle.from_lmk("009", BDK)
ZPK_CLEAR = oracle.from_lmk("001", ZPK)

# jPOS DUKPTTest, TDES: counter -> PIN block (PIN 1234, PAN 4012345678909).
JPOS_TDES = {
    "E00001": "1B9C1845EB993A7A", "E00002": "10A01C8D02C69107", "E00003": "18DC07B94797B466",
    "E00004": "0BC79509D5645DF7", "E00005": "5BC0AF22AD87B327", "E00006": "A16DF70AE36158D8",
    "E00007": "27711C16CB257F8E", "E00008": "50E55547A5027551", "E00009": "536CF7F678ACFC8D",
    "E0000A": "EDABBA23221833FE", "E0000B": "2328981C57B4BDBA", "E0000C": "038D03CC926CF286",
    "E0000D": "6C8AA97088B62C68", "E0000E": "F17C9E1D72CD4950", "E0000F": "B170F6E7F7F2F64A",
    "E00010": "D5D9638559EF53D6", "E00011": "D544F8CDD292C863", "E00012": "7A21BD10F36DC41D",
    "E00013": "78649BD17D0DFA60", "E00014": "7E7E16EA0C31AD56", "E00015": "72105C22EBC791E6",
    "EFF800": "33365F5CC6F23C35", "EFF801": "3A86BF003F835C9D", "EFF802": "3DB977D05C36DF3F",
    "EFF804": "BA83243305712099", "EFF808": "B0DA04AC90A36D85", "EFF810": "2CF02BD9C309EEDA",
    "EFF820": "9D1E2F77AEEE81C6", "EFF840": "40870B0F8BA2011C", "EFF880": "22E340D6ABB40981",
    "EFF900": "1A4C10AFBA03A430", "EFFA00": "849763B43E5F9CFF", "EFFC00": "DEFC6F09F8927B71",
    "F00000": "73EC88AD0AC5830E",
}  # fmt: skip
THALESSIM_CI = ("E00001", "E00010", "EFFC00")


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


def iso0(pin_field: str) -> str:
    """A clear ISO format 0 block (16 H) from its PIN field, bound to ACCOUNT (written out, to break it on purpose)."""
    return f"{int(pin_field, 16) ^ int('0000' + ACCOUNT, 16):016X}"


def tdes_block(counter: str, clear: str) -> str:
    return oracle.dukpt_encrypt_block(BDK_CLEAR, KSN + counter, clear)


E1 = JPOS_TDES["E00001"]
G0_ANSWER = f"0004{oracle.pinblock_encrypt('001', ZPK_G0, '041274EDCBA9876F')}01".encode()
PLUS = oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("04", "1234", ACCOUNT))

CASES = [
    # ThalesSim's CI requests, with the source format G0 adds.
    *((f"{BDK}{ZPK}605{KSN}{c}{JPOS_TDES[c]}0101{ACCOUNT}", ANSWER) for c in THALESSIM_CI),
    # ThalesSim's G0 keys: counter 8 under its ZPK.
    (f"{BDK}{ZPK_G0}605{KSN}E00008{JPOS_TDES['E00008']}0101{ACCOUNT}", G0_ANSWER),
    (f"{BDK}{ZPK}6059876543210E00001{E1}0101{ACCOUNT}", ANSWER),  # the KSN without its F padding
    (f"{BDK}{ZPK}A05{KSN}E00001{E1}0101{ACCOUNT}", ANSWER),
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0101{ACCOUNT}%00", ANSWER),
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0104{ACCOUNT}", f"0004{PLUS}04".encode()),
    (f"{BDK}{oracle.to_lmk('001', 'Z', ZPK_CLEAR[:8])}605{KSN}E00001{E1}0101{ACCOUNT}", ANSWER),  # single ZPK 1C..1C
    # Errors.
    (f"{oracle.to_lmk('009', 'U', flip(BDK_CLEAR))}{ZPK}605{KSN}E00001{E1}0101{ACCOUNT}", b"10"),
    (f"{BDK}{oracle.to_lmk('001', 'U', flip(ZPK_CLEAR))}605{KSN}E00001{E1}0101{ACCOUNT}", b"11"),
    (f"{oracle.to_lmk('009', 'Z', BDK_CLEAR[:8])}{ZPK}605{KSN}E00001{E1}0101{ACCOUNT}", b"27"),
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0401{ACCOUNT}", b"23"),  # source format 01 only
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0147{ACCOUNT}", b"23"),  # destination 01 or 04
    (f"{BDK}{ZPK}605{KSN}E00001{tdes_block('E00001', iso0('041234FFFFFFFFFE'))}0101{ACCOUNT}", b"20"),  # F fill broken (last digit E)
    (f"{BDK}{ZPK}605{KSN}E00001{tdes_block('E00001', iso0('03123FFFFFFFFFFF'))}0101{ACCOUNT}", b"24"),  # PIN 123
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0101{ACCOUNT}%01", b"13"),
    (f"{BDK}{ZPK}A059876543210E00001{E1}0101{ACCOUNT}", b"15"),  # descriptor and KSN disagree
    (f"{BDK}{ZPK}6050000876543210E00001{E1}0101{ACCOUNT}", b"15"),  # padding that is not F
    (f"{BDK}{ZPK}605F{KSN}E00001{E1}0101{ACCOUNT}", b"15"),  # KSN of 21 digits
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0A01{ACCOUNT}", b"15"),  # format not numeric
    (f"{BDK}{ZPK}605{KSN}E00001{E1}0101", b"15"),  # account missing
]


def test_the_oracle_reproduces_the_x9_24_and_jpos_tdes_values() -> None:
    assert oracle.dukpt_ipek(BDK_CLEAR, KSN + "E00000").hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"
    assert oracle.dukpt_key(BDK_CLEAR, KSN + "E00001").hex().upper() == "042666B49184CFA368DE9628D0397BC9"
    assert oracle.dukpt_key(BDK_CLEAR, KSN + "E00001", "pin").hex().upper() == "042666B49184CF5C68DE9628D0397B36"
    for counter, block in JPOS_TDES.items():
        assert oracle.dukpt_pinblock(BDK_CLEAR, KSN + counter, "1234", ACCOUNT) == block, counter
    assert oracle.from_lmk("001", ZPK_G0).hex().upper() == "C7152C20BC2C830EA7EC9E8334ABE3FE"
    assert oracle.pinblock_encrypt("001", ZPK, "041274EDCBA9876F") == "7D26134E85E7DADF"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_g0_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(g0, host, request_.encode()) == answer


@pytest.mark.parametrize(("counter", "block"), JPOS_TDES.items())
def test_g0_translates_every_block_of_the_jpos_table(host: Host, counter: str, block: str) -> None:
    assert native(g0, host, f"{BDK}{ZPK}605{KSN}{counter}{block}0101{ACCOUNT}".encode()) == ANSWER


def test_g0_then_je_and_jg_give_the_same_zpk_block_back(host: Host) -> None:
    answer = native(g0, host, f"{BDK}{ZPK_G0}A05{KSN}EFF810{JPOS_TDES['EFF810']}0101{ACCOUNT}".encode())
    block = answer[4:20].decode()
    under_lmk = native(je, host, f"{ZPK_G0}{block}01{ACCOUNT}".encode())
    assert under_lmk[:2] == b"00"
    assert native(jg, host, f"{ZPK_G0}01{ACCOUNT}{under_lmk[2:].decode()}".encode()) == b"00" + block.encode()


@pytest.mark.wasm
def test_g0_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "G0.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(g0, host, request_.encode()), request_


@pytest.mark.wasm
async def test_g0_over_tcp(built_plugins: Path) -> None:
    requests = [f"G0{BDK}{ZPK}605{KSN}E00001{E1}0101{ACCOUNT}", f"G0{BDK}{ZPK}605{KSN}E00001{E1}0401{ACCOUNT}"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"G1" + ANSWER, b"G123"]


# --------------------------------------------------------------------------- AES DUKPT (ANSI X9.24-3), format 48
# Keys generated by A0 under the AES key-block test LMK (%02) and opened by the independent key-block
# oracle; the terminal's PIN block is built with the X9.24-3 oracle and psec's ISO 9564-1 format 4
# (tests/oracle.py). The host's derivation is pinned to the X9.24-3 published vectors in tests/test_aes_host.py.

ISO4_PAN = "4111111111111111"


def test_g0_translates_an_aes_dukpt_pin_block() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()

    def generated(header: str) -> tuple[str, bytes]:
        return key_block(host, "02", header)

    bdk, bdk_clear = generated("B0A1X00N00")
    zpk, zpk_clear = generated("P0A2B00N00")
    tdes_zpk, tdes_clear = generated("P0T2B00N00")
    ksn = "1234567890123456" + "00000005"
    source = oracle.iso4_encrypt(oracle.aes_dukpt_key(bdk_clear, ksn, "pin"), "246813", ISO4_PAN)
    answer = native(g0, host, f"{bdk}{zpk}A05{ksn}{source}4848{ISO4_PAN};%02".encode())
    assert answer[:4] == b"0006" and answer[-2:] == b"48" and len(answer) == 4 + 32 + 2
    assert oracle.iso4_decrypt(zpk_clear, answer[4:36].decode(), ISO4_PAN) == "246813"
    # To a TDES ZPK in ANSI format 0: bound to the ISO4_PAN's 12 rightmost digits before the check digit.
    to_tdes = native(g0, host, f"{bdk}{tdes_zpk}A05{ksn}{source}4801{ISO4_PAN};%02".encode())
    clear0 = oracle.pinblock_encode("01", "246813", ISO4_PAN[-13:-1])
    assert to_tdes == f"0006{psec.des.encrypt_tdes_ecb(tdes_clear, bytes.fromhex(clear0)).hex().upper()}01".encode()
    assert native(g0, host, f"{bdk}{zpk}A05{ksn}{source}0148{ISO4_PAN};%02".encode()) == b"23"  # an AES BDK's PIN blocks are 48
    assert native(g0, host, f"{bdk}{zpk}A05{ksn}{source}4847{ISO4_PAN};%02".encode()) == b"23"


def test_g0_translates_from_one_bdk_to_another_as_a_unit_did() -> None:
    """REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js, translatePinBdkBdkZpk): a payShield
    10K under its LMK 01 (the 3DES key-block test LMK) translated PIN block 741311DA9D5D6C32 from BDK1-1
    to BDK1-2, both with KSN FFFF000001315240003A, and answered G100 06 BBF74DF0FFA00ED1 01. The oracle
    opens both blocks with the key-block oracle and derives each terminal's DUKPT PIN key itself."""
    from tests import kb_oracle

    host = kb_oracle.make_host()
    source = kb_oracle.BDK
    destination = "S00072B0TN00E0001134E8D68D46BC8356F84F598155A1B5C44199D9847A2A58B64BE091F"  # BDK1-2, check value 55771A
    ksn, block, account = "FFFF000001315240003A", "741311DA9D5D6C32", "600000000000"
    keys = [oracle.dukpt_key(kb_oracle.open_block(kb_oracle.K3, field)[1], ksn, "pin") for field in (source, destination)]
    pin = oracle.pinblock_decode("01", psec.des.decrypt_tdes_ecb(keys[0], bytes.fromhex(block)).hex().upper(), account)
    expected = psec.des.encrypt_tdes_ecb(keys[1], bytes.fromhex(oracle.pinblock_encode("01", pin, account))).hex().upper()
    assert expected == "BBF74DF0FFA00ED1"
    tail = f"{block}0101{account}%01"
    assert native(g0, host, f"{source}{destination}A05{ksn}A05{ksn}{tail}".encode()) == b"0006BBF74DF0FFA00ED101"
    # The destination terminal's KSN picks its key: another counter, another block, the same PIN.
    other = ksn[:-1] + "B"
    answer = native(g0, host, f"{source}{destination}A05{ksn}A05{other}{tail}".encode())
    other_key = oracle.dukpt_key(kb_oracle.open_block(kb_oracle.K3, destination)[1], other, "pin")
    assert (
        answer
        == b"0006"
        + psec.des.encrypt_tdes_ecb(other_key, bytes.fromhex(oracle.pinblock_encode("01", pin, account))).hex().upper().encode()
        + b"01"
    )
    assert native(g0, host, f"{source}{destination}A05{ksn}A05{ksn[:-1]}{tail}".encode()) == b"15"  # destination KSN short
    assert native(g0, host, f"{source}{destination}A05{ksn}{tail}".encode()) == b"15"  # no destination KSN
    assert native(g0, host, f"{source}{kb_oracle.ZPK_1}A05{ksn}{tail}".encode()) == b"0006FC99D994F1D3D3B801"  # to a ZPK, as the unit
