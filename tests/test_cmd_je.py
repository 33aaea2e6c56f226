"""JE — Translate a PIN from ZPK to LMK encryption.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb and ThalesSim.Tests.Unit/Commands/HostCommandTests.cs:
JE with ZPK U1EF828AA8F6B80EB83E19FBC373F3A85, PIN 1234, account 550000025321
-> 01234), under its "0" + PIN convention, replayed with the simulator-mode host;
the output blocks of its CA/CC/JG tests (ZPKs BAB32D775A38E4AB and the T-scheme
TA5E…A5CD) as further sources; the PLUS (04) example of the payShield host command
reference ("PIN block format 04"). Every block is re-derived with the independent
psec oracle (tests/oracle.py). On the default host (hsmd's own encryption of the
PIN under the LMK) the answers are checked by round trips through JG.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import je, jg
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE, make_runtime
from tests.tcp import exchange

ACCOUNT = "550000025321"
ZPK = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # under LMK 06-07, clear C7152C20BC2C830EA7EC9E8334ABE3FE
ZPK1 = "BAB32D775A38E4AB"  # single length, clear 13F10E5D868A529E
ZPK3 = "TA5E7D4FE829B0D83C5E7352636C16C7827E197349E34A5CD"  # clear 0DF8F7E6D373863729E6451FA8D0981FCE79EA200829E09B
TPK = "U8463435FC4B4DAA0C49025272C29B12C"  # a TPK (LMK 14-15)
ISO0 = "91DDDA0A7C12CFAA"  # ISO 0 of 1234 for ACCOUNT under ZPK
DIEBOLD = "82206CCD872229C2"  # 1234FFFFFFFFFFFF under ZPK
PLUS_PAN = "FF2283400000123456"
PLUS = "8FC36E989ED7CE75"  # 05921A1CBFFFFFED (PIN 92389, the manual's format 04 example) under ZPK
UNDER_LMK = "41055"  # PIN 1234 for ACCOUNT under the test LMK in hsmd's own encryption

BAD_BLOCKS = {  # under ZPK, for ACCOUNT (format 01)
    "FC6D4D8CC0AF9F24": "03126AFFFFFDACDE",  # length 3
    "357063B51C53866F": "0D1261567892411E",  # length 13
    "FC618D1B79C83254": "041261FFFFFDACDF",  # last fill nibble not F
    "1DF96173F5C9E87B": "141261FFFFFDACDE",  # control nibble 1
}

CASES = [
    (f"{ZPK}{ISO0}01{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{ZPK}{DIEBOLD}03{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{ZPK1}E98FFDA17099AF5501{ACCOUNT}", f"00{UNDER_LMK}".encode()),  # ThalesSim's JG/CA output blocks
    (f"{ZPK1}F7808F2CBEC6316803{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{ZPK3}98A841D13467F18501123456789012", b"0061940"),  # ThalesSim's T-scheme JG block: 1234 for 123456789012
    (f"{ZPK}{ISO0}01{ACCOUNT}%00", f"00{UNDER_LMK}".encode()),
    (f"{ZPK}{PLUS}04{PLUS_PAN}", b"00482012"),  # 92389 for 340000012345
    (f"{ZPK}FC6D4D8CC0AF9F2401{ACCOUNT}", b"24"),
    (f"{ZPK}357063B51C53866F01{ACCOUNT}", b"24"),
    (f"{ZPK}FC618D1B79C8325401{ACCOUNT}", b"20"),
    (f"{ZPK}1DF96173F5C9E87B01{ACCOUNT}", b"20"),
    (f"{ZPK}{ISO0}01400000123456", b"20"),  # another account: the ISO 0 block no longer decodes
    (f"{ZPK}{ISO0}34{ACCOUNT}", b"23"),  # EMV PIN change formats: KU only
    (f"{ZPK}{ISO0}35{ACCOUNT}", b"23"),
    (f"{ZPK}{ISO0}42{ACCOUNT}", b"23"),
    (f"{ZPK}{ISO0}00{ACCOUNT}", b"23"),
    (f"{TPK}{ISO0}01{ACCOUNT}", b"10"),  # a TPK is no ZPK: parity fails under 06-07
    (f"{ZPK}{ISO0}01{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{ZPK}{ISO0}1{ACCOUNT}", b"15"),  # format one digit: the fields shift
    (f"{ZPK}{ISO0[:-1]}01{ACCOUNT}", b"15"),  # block short
    (f"{ZPK}{ISO0}01{ACCOUNT[:-1]}X", b"15"),  # account not numeric
    (f"{ZPK}{PLUS}04{ACCOUNT}", b"15"),  # format 04 needs 18 characters
    (f"U{ZPK[1:-1]}{ISO0}01{ACCOUNT}", b"15"),  # key short
]

SIM_CASES = [
    (f"{ZPK}{ISO0}01{ACCOUNT}", b"0001234"),  # ThalesSim HostCommandTests.vb / .cs
    (f"{ZPK}{DIEBOLD}03{ACCOUNT}", b"0001234"),
    (f"{ZPK3}98A841D13467F18501123456789012", b"0001234"),
]


def simulator_host() -> Host:
    """ThalesSim's PIN under the LMK ("0" + PIN), to replay its published vectors."""
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))


def test_vectors_agree_with_an_independent_implementation() -> None:
    zpk = oracle.from_lmk("001", ZPK)
    assert zpk.hex().upper() == "C7152C20BC2C830EA7EC9E8334ABE3FE"
    assert oracle.pinlmk_encode_block(zpk, "01", "1234", ACCOUNT) == ISO0
    assert oracle.pinlmk_encode_block(zpk, "03", "1234", ACCOUNT) == DIEBOLD
    zpk1 = oracle.from_lmk("001", ZPK1)
    assert oracle.pinlmk_encode_block(zpk1, "01", "1234", ACCOUNT) == "E98FFDA17099AF55"
    assert oracle.pinlmk_encode_block(zpk1, "03", "1234", ACCOUNT) == "F7808F2CBEC63168"
    assert oracle.pinlmk_encode_block(oracle.from_lmk("001", ZPK3), "01", "1234", "123456789012") == "98A841D13467F185"
    assert psec.pinblock.encode_pinblock_iso_0("92389", "2283400000120").hex().upper() == "05921A1CBFFFFFED"
    assert oracle.pinlmk_encode_block(zpk, "01", "92389", "228340000012") == PLUS
    for block, clear in BAD_BLOCKS.items():
        assert oracle.encrypt(zpk, "Z", bytes.fromhex(clear)) == block


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_je_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(je, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_je_thalessim_vectors_in_simulator_mode(request_: str, answer: bytes) -> None:
    assert native(je, simulator_host(), request_.encode()) == answer


def test_je_then_jg_gives_the_block_back(host: Host) -> None:
    for request_, block, fmt in ((f"{ZPK}{ISO0}01{ACCOUNT}", ISO0, "01"), (f"{ZPK}{DIEBOLD}03{ACCOUNT}", DIEBOLD, "03")):
        under_lmk = native(je, host, request_.encode())[2:].decode()
        assert native(jg, host, f"{ZPK}{fmt}{ACCOUNT}{under_lmk}".encode()) == b"00" + block.encode()


def test_je_then_jg_translates_like_thalessims_cc(host: Host) -> None:
    # ThalesSim's CC test: F7808F2CBEC63168 (03) under ZPK1 -> 91DDDA0A7C12CFAA (01) under ZPK.
    under_lmk = native(je, host, f"{ZPK1}F7808F2CBEC6316803{ACCOUNT}".encode())[2:].decode()
    assert native(jg, host, f"{ZPK}01{ACCOUNT}{under_lmk}".encode()) == f"00{ISO0}".encode()


def test_iso3_block_with_random_fill_is_stored_as_the_same_pin(host: Host) -> None:
    zpk = oracle.from_lmk("001", ZPK)
    for _ in range(5):
        clear = psec.pinblock.encode_pinblock_iso_3("1234", ACCOUNT + "0")
        block = oracle.encrypt(zpk, "Z", clear)
        assert native(je, host, f"{ZPK}{block}47{ACCOUNT}".encode()) == f"00{UNDER_LMK}".encode()


@pytest.mark.wasm
def test_je_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "JE.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(je, host, request_.encode()), request_


@pytest.mark.wasm
async def test_je_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"JE{ZPK}{ISO0}01{ACCOUNT}".encode(), f"JE{TPK}{ISO0}01{ACCOUNT}".encode()) == [
        f"JF00{UNDER_LMK}".encode(),
        b"JF10",
    ]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# JC's cases (tests/test_cmd_jc.py, `aes_cases`): a P0 key block serves as the ZPK as it does as the TPK.


def test_je_translates_format_48_under_an_aes_zpk() -> None:
    from tests.test_cmd_jc import aes_cases

    host = kb_oracle.make_host()
    for request_, answer in aes_cases(host):
        assert native(je, host, request_.encode()) == answer, request_


@pytest.mark.wasm
def test_je_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    from tests.test_cmd_jc import aes_cases

    host = kb_oracle.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "JE.wasm")
        for request_, answer in aes_cases(host):
            assert in_component(runtime, plugin, request_.encode()) == native(je, host, request_.encode()) == answer, request_
