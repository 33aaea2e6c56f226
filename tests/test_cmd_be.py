"""BE — Verify an interchange PIN using the comparison method.

The PIN under LMK 02-03 is hsmd's own encryption (a real unit's is not
public), so the default host's vectors are round trips: the host encrypts a
PIN under the LMK (`pin_to_lmk`, as JA/JC/JE do) and BE compares it with a
PIN block built independently with tests/oracle.py (psec). ThalesSim's
convention ("0" + the PIN in the clear) is replayed on a simulator-mode host
with ThalesSim's keys and blocks (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb: `TestVerifyInterchangePINUsingComparisonMethod`,
and the JE vectors, whose ZPK and blocks give "01234").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.native import NativeHsm
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import be
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

ZPK_Z = "BAB32D775A38E4AB"  # clear 13F10E5D868A529E
ZPK_U = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # clear C7152C20BC2C830EA7EC9E8334ABE3FE
TPK_U = "U8463435FC4B4DAA0C49025272C29B12C"  # a TPK (under 14-15)
ACCOUNT = "550000025321"
ZPK = "001"
FORMATS = ("01", "02", "03", "04", "05", "34", "35", "47")
ISO0 = "91DDDA0A7C12CFAA"  # PIN 1234 in format 01 under ZPK_U, account 550000025321
DIEBOLD = "82206CCD872229C2"  # PIN 1234 in format 03 under ZPK_U
LMK_PIN_1234 = "41055"  # 1234 under LMK 02-03 for account 550000025321 (hsmd's cipher, the test LMK)
LMK_PIN_1235 = "78292"


def _under_zpk_u(clear: str) -> str:
    return oracle.pinblock_encrypt(ZPK, ZPK_U, clear)


def lmk_pin(host: Host, pin: str, account: str) -> str:
    """`pin` under LMK 02-03 as the host encrypts it, from a format 01 block the oracle built."""
    hsm = NativeHsm(host, RequestScope("setup"))
    block = _under_zpk_u(oracle.pinblock_encode("01", pin, account))
    return hsm.pin_to_lmk(hsm.pin_from_block(hsm.key_from_lmk(ZPK, ZPK_U), block, "01", account), account)


CASES = [
    (f"{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}", b"00"),
    (f"{ZPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1234}", b"00"),
    (f"{ZPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1234}%00", b"00"),
    (f"{ZPK_Z}E98FFDA17099AF5501{ACCOUNT}{LMK_PIN_1234}", b"00"),  # ThalesSim CA answer, single-length ZPK
    (f"{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1235}", b"01"),
    (f"{ZPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1235}", b"01"),
    # Errors.
    (f"{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}", b"10"),  # a TPK as the ZPK: parity fails under 06-07
    (f"{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}%01", b"13"),  # LMK 01 not loaded
    (f"{ZPK_U}{ISO0}01{ACCOUNT}41056", b"14"),  # not a PIN under the LMK: its check digit fails
    (f"{ZPK_U}{ISO0}01{ACCOUNT}41055123456789", b"15"),  # PIN under LMK of 14 digits
    (f"{ZPK_U}{ISO0}01{ACCOUNT}4105 ", b"15"),  # PIN under LMK not numeric
    (f"{ZPK_U}{ISO0}0155000002532{LMK_PIN_1234}", b"15"),  # account short: the PIN's first digit is read into it
    (f"{ZPK_U}{ISO0}0A{ACCOUNT}{LMK_PIN_1234}", b"15"),  # format not numeric
    (f"{ZPK_U}{_under_zpk_u('041261FFFFFDACDF')}01{ACCOUNT}{LMK_PIN_1234}", b"20"),  # fill not F
    (f"{ZPK_U}{_under_zpk_u('1234F5FFFFFFFFFF')}03{ACCOUNT}{LMK_PIN_1234}", b"20"),  # IBM 3624 fill broken
    (f"{ZPK_U}{_under_zpk_u('241234FFFFFFFFFF')}05{ACCOUNT}{LMK_PIN_1234}", b"20"),  # ISO 1 control nibble 2
    (f"{ZPK_U}{ISO0}99{ACCOUNT}{LMK_PIN_1234}", b"23"),  # ThalesSim's test: format 99
    (f"{ZPK_U}{ISO0}42{ACCOUNT}{LMK_PIN_1234}", b"23"),  # 42: Visa PIN change, KU only
    (f"{ZPK_U}{_under_zpk_u('131234ABCDEF0123')}05{ACCOUNT}{LMK_PIN_1234}", b"24"),  # ISO 1 length 3
    (f"{ZPK_U}{_under_zpk_u('0D1261567892411E')}01{ACCOUNT}{LMK_PIN_1234}", b"24"),  # length nibble 13
]


def test_vectors_agree_with_an_independent_implementation(host: Host) -> None:
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt(ZPK, ZPK_U, ISO0), ACCOUNT) == "1234"
    assert oracle.pinblock_decode("03", oracle.pinblock_decrypt(ZPK, ZPK_U, DIEBOLD)) == "1234"
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt(ZPK, ZPK_Z, "E98FFDA17099AF55"), ACCOUNT) == "1234"
    assert not oracle.odd_parity(oracle.from_lmk(ZPK, TPK_U))
    # The PINs under the LMK are the host's own encryption of 1234 and 1235 (a round trip, not an oracle).
    assert lmk_pin(host, "1234", ACCOUNT) == LMK_PIN_1234
    assert lmk_pin(host, "1235", ACCOUNT) == LMK_PIN_1235


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_be_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(be, host, request_.encode()) == answer


@pytest.mark.parametrize("pin_format", FORMATS)
@pytest.mark.parametrize("pin", ["8350", "619204", "280571946633"])
def test_every_format_verifies_against_the_pin_under_the_lmk(host: Host, pin_format: str, pin: str) -> None:
    if pin_format == "02" and len(pin) > 6:
        pin = pin[:6]  # a Docutel block holds at most 6 digits
    pan = "550000025321987654"  # 18 digits: format 04's longest PAN
    account = pan[-13:-1]
    field = pan if pin_format == "04" else account
    bound = pan[:12] if pin_format == "04" else account
    block = _under_zpk_u(oracle.pinblock_encode(pin_format, pin, bound))
    right, wrong = lmk_pin(host, pin, account), lmk_pin(host, pin[:-1] + str((int(pin[-1]) + 1) % 10), account)
    assert native(be, host, f"{ZPK_U}{block}{pin_format}{field}{right}".encode()) == b"00"
    assert native(be, host, f"{ZPK_U}{block}{pin_format}{field}{wrong}".encode()) == b"01"
    assert native(be, host, f"{ZPK_U}{block}{pin_format}{field}{right}%00".encode()) == b"00"


def test_thalessim_vectors_on_a_simulator_mode_host() -> None:
    # ThalesSim holds a PIN under the LMK as "0" + PIN; its JE vectors decrypt ZPK_U's blocks to 01234.
    host = Host(LmkSet({0: TEST_LMK}), "0007-E000", pin_settings=PinSettings(pin_under_lmk="simulator"))
    assert native(be, host, f"{ZPK_U}{ISO0}01{ACCOUNT}01234".encode()) == b"00"
    assert native(be, host, f"{ZPK_U}{DIEBOLD}03{ACCOUNT}01234".encode()) == b"00"
    assert native(be, host, f"{ZPK_U}{DIEBOLD}03{ACCOUNT}04321".encode()) == b"01"
    assert native(be, host, f"{ZPK_U}{DIEBOLD}03{ACCOUNT}012345".encode()) == b"01"
    assert native(be, host, f"{ZPK_U}{DIEBOLD}03{ACCOUNT}91234".encode()) == b"14"
    # TestVerifyInterchangePINUsingComparisonMethod: its ZPK, format 03, account from PAN 5044070000253211.
    zpk = "U402F396F7ABEDC14976EB65959AA99B2"
    account = "5044070000253211"[3:15]
    for pin in ("3095", "71842", "660217"):
        block = oracle.pinblock_encrypt(ZPK, zpk, oracle.pinblock_encode("03", pin))
        assert native(be, host, f"{zpk}{block}03{account}0{pin}".encode()) == b"00"
        assert native(be, host, f"{zpk}{block}03{account}0{pin[::-1]}".encode()) == b"01"
        assert native(be, host, f"{zpk}{block}99{account}0{pin}".encode()) == b"23"


@pytest.mark.wasm
def test_be_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "BE.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(be, host, request_.encode()), request_


@pytest.mark.wasm
async def test_be_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins,
        f"BE{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}".encode(),
        f"BE{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1235}".encode(),
        f"BE{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}".encode(),
    ) == [b"BF00", b"BF01", b"BF10"]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# BC's cases (tests/test_cmd_bc.py, `aes_cases`): a P0 key block serves as the ZPK as it does as the TPK.


def test_be_verifies_format_48_under_an_aes_zpk() -> None:
    from tests.test_cmd_bc import aes_cases

    host = kb_oracle.make_host()
    for request_, answer in aes_cases(host):
        assert native(be, host, request_.encode()) == answer, request_


@pytest.mark.wasm
def test_be_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    from tests.test_cmd_bc import aes_cases

    host = kb_oracle.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "BE.wasm")
        for request_, answer in aes_cases(host):
            assert in_component(runtime, plugin, request_.encode()) == native(be, host, request_.encode()) == answer, request_
