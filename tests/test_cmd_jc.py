"""JC — Translate a PIN from TPK to LMK encryption.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb and ThalesSim.Tests.Unit/Commands/HostCommandTests.cs:
JC with TPK U8463435FC4B4DAA0C49025272C29B12C, PIN 1234, account 550000025321
-> 01234), under its "0" + PIN convention, replayed with the simulator-mode host;
the source blocks of its CA test (TPK 0406FBB23A5214DF); the PLUS (04) example of
the payShield host command reference ("PIN block format 04": PIN 92389, PAN
2283400000123456, clear block 05921A1CBFFFFFED). Every block is re-derived with
the independent psec oracle (tests/oracle.py). On the default host (hsmd's own
encryption of the PIN under the LMK) the answers are checked by round trips
through JG (to ThalesSim's published CA output blocks) and NG.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.native import NativeHsm
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import jc, jg, ng
from tests import kb_oracle, oracle
from tests.commands import in_component, key_block, native
from tests.conftest import FIRMWARE, make_runtime
from tests.kb_oracle import X9243_BLOCK, X9243_PAN, X9243_PIN_KEY_BLOCK
from tests.tcp import exchange

ACCOUNT = "550000025321"
TPK = "U8463435FC4B4DAA0C49025272C29B12C"  # under LMK 14-15, clear D3DCC7EA9BCB755D254620B376B3D007
TPK1 = "0406FBB23A5214DF"  # single length under LMK 14-15, clear 0B681FC20E62C734
ZPK = "BAB32D775A38E4AB"  # a ZPK (LMK 06-07), clear 13F10E5D868A529E
DIEBOLD = "028DCC093FB0471F"  # 1234FFFFFFFFFFFF under TPK
ISO0 = "6428EB94035AF53B"  # ISO 0 of 1234 for ACCOUNT under TPK
PLUS_PAN = "FF2283400000123456"  # 18-character account field of format 04
PLUS = "1FC252C76DF228B4"  # 05921A1CBFFFFFED (PIN 92389, the manual's example) under TPK
UNDER_LMK = "41055"  # PIN 1234 for ACCOUNT under the test LMK in hsmd's own encryption

# Clear blocks (account-XORed for 01) that are not valid, under TPK, for ACCOUNT.
BAD_BLOCKS = {
    "4B5BD91211D16D78": "03126AFFFFFDACDE",  # length 3
    "8F704D5DFE96C0CB": "0D1261567892411E",  # length 13
    "BA0EAC47D1938B3F": "041261FFFFFDACDF",  # last fill nibble not F
    "4B53D57774670481": "141261FFFFFDACDE",  # control nibble 1
}

CASES = [
    (f"{TPK}{DIEBOLD}03{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{TPK}{ISO0}01{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{TPK1}DC80B186C30902B003{ACCOUNT}", f"00{UNDER_LMK}".encode()),  # ThalesSim's CA source blocks
    (f"{TPK1}AE7A708F877571A901{ACCOUNT}", f"00{UNDER_LMK}".encode()),
    (f"{TPK}{ISO0}01{ACCOUNT}%00", f"00{UNDER_LMK}".encode()),
    (f"{TPK}{PLUS}04{PLUS_PAN}", b"00482012"),  # 92389 for 340000012345 (the PAN's 12 digits before the check digit)
    (f"{TPK}4B5BD91211D16D7801{ACCOUNT}", b"24"),
    (f"{TPK}8F704D5DFE96C0CB01{ACCOUNT}", b"24"),
    (f"{TPK}BA0EAC47D1938B3F01{ACCOUNT}", b"20"),
    (f"{TPK}4B53D5777467048101{ACCOUNT}", b"20"),
    (f"{TPK}{ISO0}34{ACCOUNT}", b"23"),  # EMV PIN change formats: KU only
    (f"{TPK}{ISO0}35{ACCOUNT}", b"23"),
    (f"{TPK}{ISO0}41{ACCOUNT}", b"23"),
    (f"{TPK}{ISO0}99{ACCOUNT}", b"23"),
    (f"{ZPK}{ISO0}01{ACCOUNT}", b"10"),  # a ZPK is no TPK: parity fails under 14-15
    (f"{TPK}{ISO0}01{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{TPK}{ISO0}0A{ACCOUNT}", b"15"),  # format not numeric
    (f"{TPK}{ISO0[:-1]}G01{ACCOUNT}", b"15"),  # block not hex
    (f"{TPK}{ISO0}01{ACCOUNT[:-1]}", b"15"),  # account short
    (f"{TPK}{PLUS}04{ACCOUNT}", b"15"),  # format 04 needs 18 characters
    (f"{TPK}{ISO0}01{ACCOUNT}0", b"15"),  # trailing data
]

SIM_CASES = [
    (f"{TPK}{DIEBOLD}03{ACCOUNT}", b"0001234"),  # ThalesSim HostCommandTests.vb / .cs
    (f"{TPK}{ISO0}01{ACCOUNT}", b"0001234"),
    (f"{TPK}{PLUS}04{PLUS_PAN}", b"00092389"),  # simulator convention applied to the manual's 04 example
]


def simulator_host() -> Host:
    """ThalesSim's PIN under the LMK ("0" + PIN), to replay its published vectors."""
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))


def test_vectors_agree_with_an_independent_implementation() -> None:
    tpk = oracle.from_lmk("002", TPK)
    assert tpk.hex().upper() == "D3DCC7EA9BCB755D254620B376B3D007"
    assert oracle.pinlmk_decode_block(tpk, "03", DIEBOLD, ACCOUNT) == "1234"
    assert oracle.pinlmk_decode_block(tpk, "01", ISO0, ACCOUNT) == "1234"
    tpk1 = oracle.from_lmk("002", TPK1)
    assert oracle.pinlmk_encode_block(tpk1, "03", "1234", ACCOUNT) == "DC80B186C30902B0"
    assert oracle.pinlmk_encode_block(tpk1, "01", "1234", ACCOUNT) == "AE7A708F877571A9"
    # Format 04 binds the PAN's leftmost 12 digits: psec's ISO 0 over them (plus a stand-in check digit).
    assert psec.pinblock.encode_pinblock_iso_0("92389", "2283400000120").hex().upper() == "05921A1CBFFFFFED"
    assert oracle.pinlmk_encode_block(tpk, "01", "92389", "228340000012") == PLUS
    for block, clear in BAD_BLOCKS.items():
        assert oracle.encrypt(tpk, "Z", bytes.fromhex(clear)) == block


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_jc_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(jc, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_jc_thalessim_vectors_in_simulator_mode(request_: str, answer: bytes) -> None:
    assert native(jc, simulator_host(), request_.encode()) == answer


def test_jc_then_jg_gives_thalessims_ca_output_blocks(host: Host) -> None:
    # ThalesSim's CA test (HostCommandTests.vb): TPK1 block DC80B186C30902B0 (03) -> ZPK block per format.
    under_lmk = native(jc, host, f"{TPK1}DC80B186C30902B003{ACCOUNT}".encode())[2:].decode()
    zpk = oracle.from_lmk("001", ZPK)
    for fmt, block in (("01", "E98FFDA17099AF55"), ("03", "F7808F2CBEC63168")):
        assert oracle.pinlmk_encode_block(zpk, fmt, "1234", ACCOUNT) == block
        assert native(jg, host, f"{ZPK}{fmt}{ACCOUNT}{under_lmk}".encode()) == b"00" + block.encode()


def test_plus_pin_is_stored_for_the_account_before_the_check_digit() -> None:
    authorised = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    under_lmk = native(jc, authorised, f"{TPK}{PLUS}04{PLUS_PAN}".encode())[2:].decode()
    assert native(ng, authorised, f"340000012345{under_lmk}".encode()) == b"0092389F000000000000"


def test_pci_key_type_table_takes_the_tpk_as_70d() -> None:
    pci = Host(LmkSet({0: TEST_LMK}), FIRMWARE, key_types=KeyTypeTable("pci"))
    tpk_70d = oracle.to_lmk("70D", "U", oracle.from_lmk("002", TPK))
    assert native(jc, pci, f"{tpk_70d}{ISO0}01{ACCOUNT}".encode()) == f"00{UNDER_LMK}".encode()
    assert native(jc, pci, f"{TPK}{ISO0}01{ACCOUNT}".encode()) == b"10"  # 002 is a PVK there


@pytest.mark.wasm
def test_jc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "JC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(jc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_jc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"JC{TPK}{DIEBOLD}03{ACCOUNT}".encode(), f"JC{TPK}{ISO0}34{ACCOUNT}".encode()) == [
        f"JD00{UNDER_LMK}".encode(),
        b"JD23",
    ]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# As CA's (tests/test_cmd_ca.py): PIN keys generated by A0 under the AES key-block test LMK (%02) and opened by the
# independent key-block oracle, the terminal's block made by psec's format 4 (tests/oracle.py). The PIN under the
# LMK is stored for the PAN's 12 digits before its check digit; the expected value is the host's own encryption of
# the PIN for those digits (`lmk_pin`), and JG gives it back as blocks the oracle decodes. Checks on another PAN use
# a fixed block: the X9.24-3 worked example (PIN 1234, PAN 4111111111111111) under its PIN key, put in a key block
# under the AES test LMK by the key-block oracle.

ISO4_PAN = "4321987654321098765"


def lmk_pin(host: Host, pin: str, account: str, lmk_id: int | None = None) -> str:
    """`pin` under LMK 02-03 (of LMK `lmk_id`) as the host encrypts it, from a format 01 block the oracle built."""
    hsm = NativeHsm(host, RequestScope("setup"))
    block = oracle.pinlmk_encode_block(oracle.from_lmk("002", TPK), "01", pin, account)
    return hsm.pin_to_lmk(hsm.pin_from_block(hsm.key_from_lmk("002", TPK), block, "01", account), account, lmk_id)


def aes_cases(host: Host) -> list[tuple[str, bytes]]:
    """JC (and JE: tests/test_cmd_je.py) requests with format 48 under AES PIN keys (usage P0), and their answers."""
    key, clear = key_block(host, "02", "P0A1B00N00")
    tdes_key, _ = key_block(host, "02", "P0T2B00N00")
    fixed = X9243_PIN_KEY_BLOCK
    block = oracle.iso4_encrypt(clear, "98765", ISO4_PAN)
    short = oracle.iso4_encrypt(clear, "4729", ISO4_PAN[:12])  # a 12-digit PAN: 0 + its first 11 digits
    return [
        (f"{key}{block}48{ISO4_PAN};%02", f"00{lmk_pin(host, '98765', ISO4_PAN[-13:-1], 2)}".encode()),
        (f"{key}{short}48{ISO4_PAN[:12]};%02", f"00{lmk_pin(host, '4729', '0' + ISO4_PAN[:11], 2)}".encode()),
        (
            f"{fixed}{X9243_BLOCK}48{X9243_PAN};%02",
            f"00{lmk_pin(host, '1234', X9243_PAN[-13:-1], 2)}".encode(),
        ),
        # The block binds the whole PAN: its check digit or its first digit changed, it no longer decodes.
        (f"{fixed}{X9243_BLOCK}48{X9243_PAN[:-1]}2;%02", b"20"),
        (f"{fixed}{X9243_BLOCK}485{X9243_PAN[1:]};%02", b"20"),
        (f"{tdes_key}{block[:16]}48{ISO4_PAN};%02", b"23"),  # 48 needs an AES key
        (f"{key}{block}01{ISO4_PAN[-13:-1]}%02", b"23"),  # an AES key takes 48 only
        (f"{key}{block}48{ISO4_PAN}%02", b"15"),  # the PAN without its delimiter
        (f"{key}{block}481234567890;%02", b"15"),  # a PAN under 12 digits
        # 16 H under an AES key: the 32 H block takes in the format and 14 PAN digits, the next field is malformed.
        (f"{key}{block[:16]}48{ISO4_PAN};%02", b"15"),
    ]


def test_jc_translates_format_48_under_an_aes_tpk() -> None:
    host = kb_oracle.make_host()
    for request_, answer in aes_cases(host):
        assert native(jc, host, request_.encode()) == answer, request_


def test_jc_then_jg_gives_the_pin_of_a_format_48_block_back() -> None:
    host = kb_oracle.make_host()
    tpk, tpk_clear = key_block(host, "02", "P0A1B00N00")
    zpk, zpk_clear = key_block(host, "02", "P0A2B00N00")
    tdes_zpk, tdes_clear = key_block(host, "02", "P0T2B00N00")
    answer = native(jc, host, f"{tpk}{oracle.iso4_encrypt(tpk_clear, '372015', ISO4_PAN)}48{ISO4_PAN};%02".encode())
    assert answer[:2] == b"00" and len(answer) == 2 + 7
    under_lmk = answer[2:].decode()
    again = native(jg, host, f"{zpk}48{ISO4_PAN};{under_lmk}%02".encode())
    assert again[:2] == b"00" and oracle.iso4_decrypt(zpk_clear, again[2:].decode(), ISO4_PAN) == "372015"
    iso0 = native(jg, host, f"{tdes_zpk}01{ISO4_PAN[-13:-1]}{under_lmk}%02".encode())  # stored for these 12 digits
    clear0 = psec.des.decrypt_tdes_ecb(tdes_clear, bytes.fromhex(iso0[2:].decode())).hex().upper()
    assert oracle.pinblock_decode("01", clear0, ISO4_PAN[-13:-1]) == "372015"


@pytest.mark.wasm
def test_jc_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    host = kb_oracle.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "JC.wasm")
        for request_, answer in aes_cases(host):
            assert in_component(runtime, plugin, request_.encode()) == native(jc, host, request_.encode()) == answer, request_
