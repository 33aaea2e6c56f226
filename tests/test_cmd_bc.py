"""BC — Verify a terminal PIN using the comparison method.

The PIN under LMK 02-03 is hsmd's own encryption (a real unit's is not
public), so the default host's vectors are round trips: the host encrypts a
PIN under the LMK (`pin_to_lmk`, as JA/JC/JE do) and BC compares it with a
PIN block built independently with tests/oracle.py (psec). ThalesSim's
convention ("0" + the PIN in the clear) is replayed on a simulator-mode host
with ThalesSim's keys and blocks (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb: `TestVerifyTerminalPINUsingComparisonMethod`,
and the JC vectors, whose TPK and blocks give "01234").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.native import NativeHsm
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import bc
from tests import kb_oracle, oracle
from tests.commands import in_component, key_block, native
from tests.conftest import make_runtime
from tests.kb_oracle import X9243_BLOCK, X9243_PAN, X9243_PIN_KEY_BLOCK
from tests.tcp import exchange

TPK_Z = "0406FBB23A5214DF"  # clear 0B681FC20E62C734
TPK_U = "U8463435FC4B4DAA0C49025272C29B12C"  # clear D3DCC7EA9BCB755D254620B376B3D007
ZPK_U = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # a ZPK (under 06-07)
ACCOUNT = "550000025321"
TPK = "002"
FORMATS = ("01", "02", "03", "04", "05", "34", "35", "47")
ISO0 = "6428EB94035AF53B"  # PIN 1234 in format 01 under TPK_U, account 550000025321
DIEBOLD = "028DCC093FB0471F"  # PIN 1234 in format 03 under TPK_U
LMK_PIN_1234 = "41055"  # 1234 under LMK 02-03 for account 550000025321 (hsmd's cipher, the test LMK)
LMK_PIN_1235 = "78292"


def _under_tpk_u(clear: str) -> str:
    return oracle.pinblock_encrypt(TPK, TPK_U, clear)


def lmk_pin(host: Host, pin: str, account: str, lmk_id: int | None = None) -> str:
    """`pin` under LMK 02-03 (of LMK `lmk_id`) as the host encrypts it, from a format 01 block the oracle built."""
    hsm = NativeHsm(host, RequestScope("setup"))
    block = _under_tpk_u(oracle.pinblock_encode("01", pin, account))
    return hsm.pin_to_lmk(hsm.pin_from_block(hsm.key_from_lmk(TPK, TPK_U), block, "01", account), account, lmk_id)


CASES = [
    (f"{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}", b"00"),
    (f"{TPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1234}", b"00"),
    (f"{TPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1234}%00", b"00"),
    (f"{TPK_Z}AE7A708F877571A901{ACCOUNT}{LMK_PIN_1234}", b"00"),  # ThalesSim CA source block, single-length TPK
    (f"{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1235}", b"01"),
    (f"{TPK_U}{DIEBOLD}03{ACCOUNT}{LMK_PIN_1235}", b"01"),
    # Errors.
    (f"{ZPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}", b"10"),  # a ZPK as the TPK: parity fails under 14-15
    (f"{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}%01", b"13"),  # LMK 01 not loaded
    (f"{TPK_U}{ISO0}01{ACCOUNT}41056", b"14"),  # not a PIN under the LMK: its check digit fails
    (f"{TPK_U}{ISO0}01{ACCOUNT}4105", b"15"),  # PIN under LMK of 4 digits
    (f"{TPK_U}{ISO0}01{ACCOUNT}4105A", b"15"),  # PIN under LMK not numeric
    (f"{TPK_U}{ISO0}01{ACCOUNT}", b"15"),  # no PIN under LMK
    (f"{TPK_U}{ISO0[:-1]}G01{ACCOUNT}{LMK_PIN_1234}", b"15"),  # PIN block not hex
    (f"{TPK_U}{_under_tpk_u('041261FFFFFDACDF')}01{ACCOUNT}{LMK_PIN_1234}", b"20"),  # fill not F
    (f"{TPK_U}{_under_tpk_u('141261FFFFFDACDE')}01{ACCOUNT}{LMK_PIN_1234}", b"20"),  # control nibble 1
    (f"{TPK_U}{ISO0}99{ACCOUNT}{LMK_PIN_1234}", b"23"),  # ThalesSim's test: format 99
    (f"{TPK_U}{ISO0}41{ACCOUNT}{LMK_PIN_1234}", b"23"),  # 41: Visa PIN change, KU only
    (f"{TPK_U}{_under_tpk_u('03126AFFFFFDACDE')}01{ACCOUNT}{LMK_PIN_1234}", b"24"),  # length nibble 3
    (f"{TPK_U}{_under_tpk_u('0D1261567892411E')}01{ACCOUNT}{LMK_PIN_1234}", b"24"),  # length nibble 13
]


def test_vectors_agree_with_an_independent_implementation(host: Host) -> None:
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt(TPK, TPK_U, ISO0), ACCOUNT) == "1234"
    assert oracle.pinblock_decode("03", oracle.pinblock_decrypt(TPK, TPK_U, DIEBOLD)) == "1234"
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt(TPK, TPK_Z, "AE7A708F877571A9"), ACCOUNT) == "1234"
    assert not oracle.odd_parity(oracle.from_lmk(TPK, ZPK_U))
    # The PINs under the LMK are the host's own encryption of 1234 and 1235 (a round trip, not an oracle).
    assert lmk_pin(host, "1234", ACCOUNT) == LMK_PIN_1234
    assert lmk_pin(host, "1235", ACCOUNT) == LMK_PIN_1235


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_bc_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(bc, host, request_.encode()) == answer


@pytest.mark.parametrize("pin_format", FORMATS)
@pytest.mark.parametrize("pin", ["4729", "372015", "904718263551"])
def test_every_format_verifies_against_the_pin_under_the_lmk(host: Host, pin_format: str, pin: str) -> None:
    if pin_format == "02" and len(pin) > 6:
        pin = pin[:6]  # a Docutel block holds at most 6 digits
    pan = "4000001234567899"
    account = pan[-13:-1]
    field = pan.rjust(18, "F") if pin_format == "04" else account
    bound = pan[:12] if pin_format == "04" else account
    block = _under_tpk_u(oracle.pinblock_encode(pin_format, pin, bound))
    right, wrong = lmk_pin(host, pin, account), lmk_pin(host, pin[:-1] + str((int(pin[-1]) + 1) % 10), account)
    assert native(bc, host, f"{TPK_U}{block}{pin_format}{field}{right}".encode()) == b"00"
    assert native(bc, host, f"{TPK_U}{block}{pin_format}{field}{wrong}".encode()) == b"01"
    shorter = lmk_pin(host, pin[:-1], account) if len(pin) > 4 else lmk_pin(host, pin + "0", account)
    assert native(bc, host, f"{TPK_U}{block}{pin_format}{field}{shorter}".encode()) == b"01"


def test_the_pin_under_the_lmk_is_bound_to_the_account(host: Host) -> None:
    other = "550000025322"
    block = _under_tpk_u(oracle.pinblock_encode("03", "1234"))
    assert native(bc, host, f"{TPK_U}{block}03{other}{lmk_pin(host, '1234', other)}".encode()) == b"00"
    # 1234's encryption for 550000025321 is no PIN under the LMK for ...322 (its check digit fails: 14),
    # and for 123456789012 it decrypts to another PIN (01).
    assert native(bc, host, f"{TPK_U}{block}03{other}{LMK_PIN_1234}".encode()) == b"14"
    assert native(bc, host, f"{TPK_U}{block}03123456789012{LMK_PIN_1234}".encode()) == b"01"


def simulator_host(key_types: KeyTypeTable | None = None) -> Host:
    return Host(LmkSet({0: TEST_LMK}), "0007-E000", key_types, PinSettings(pin_under_lmk="simulator"))


def test_thalessim_vectors_on_a_simulator_mode_host() -> None:
    # ThalesSim holds a PIN under the LMK as "0" + PIN; its JC vectors decrypt TPK_U's blocks to 01234.
    host = simulator_host()
    assert native(bc, host, f"{TPK_U}{DIEBOLD}03{ACCOUNT}01234".encode()) == b"00"
    assert native(bc, host, f"{TPK_U}{ISO0}01{ACCOUNT}01234".encode()) == b"00"
    assert native(bc, host, f"{TPK_U}{ISO0}01{ACCOUNT}01235".encode()) == b"01"
    assert native(bc, host, f"{TPK_U}{ISO0}01{ACCOUNT}11234".encode()) == b"14"
    # TestVerifyTerminalPINUsingComparisonMethod: its TPK, format 03, account from PAN 5044070000253211.
    tpk = "UBB7A05C1CC51C1B7242626495B8A93D4"
    account = "5044070000253211"[3:15]
    for pin in ("2871", "50913", "826401"):
        block = oracle.pinblock_encrypt(TPK, tpk, oracle.pinblock_encode("03", pin))
        assert native(bc, host, f"{tpk}{block}03{account}0{pin}".encode()) == b"00"
        assert native(bc, host, f"{tpk}{block}03{account}0{pin[::-1]}".encode()) == b"01"
        assert native(bc, host, f"{tpk}{block}99{account}0{pin}".encode()) == b"23"


def test_in_pci_mode_the_tpk_is_key_type_70d() -> None:
    host = simulator_host(key_types=KeyTypeTable("pci"))
    tpk_70d = oracle.to_lmk("70D", "U", oracle.from_lmk(TPK, TPK_U))
    block = oracle.pinblock_encrypt("70D", tpk_70d, "1234FFFFFFFFFFFF")
    assert native(bc, host, f"{tpk_70d}{block}03{ACCOUNT}01234".encode()) == b"00"
    assert native(bc, host, f"{TPK_U}{DIEBOLD}03{ACCOUNT}01234".encode()) == b"10"  # under 14-15: a PVK now


@pytest.mark.wasm
def test_bc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "BC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(bc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_bc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins,
        f"BC{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1234}".encode(),
        f"BC{TPK_U}{ISO0}01{ACCOUNT}{LMK_PIN_1235}".encode(),
        f"BC{TPK_U}{ISO0}99{ACCOUNT}{LMK_PIN_1234}".encode(),
    ) == [b"BD00", b"BD01", b"BD23"]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# As CA's (tests/test_cmd_ca.py): PIN keys generated by A0 under the AES key-block test LMK (%02) and opened by the
# independent key-block oracle, the terminal's block made by psec's format 4 (tests/oracle.py). The PIN under the
# LMK is the host's own encryption (a round trip, as above) for the PAN's 12 digits before its check digit. Checks
# on another PAN use a fixed block: the X9.24-3 worked example (PIN 1234, PAN 4111111111111111) under its PIN key,
# put in a key block under the AES test LMK by the key-block oracle.

ISO4_PAN = "4321987654321098765"


def aes_cases(host: Host) -> list[tuple[str, bytes]]:
    """BC (and BE: tests/test_cmd_be.py) requests with format 48 under AES PIN keys (usage P0), and their answers."""
    key, clear = key_block(host, "02", "P0A1B00N00")
    tdes_key, _ = key_block(host, "02", "P0T2B00N00")
    fixed = X9243_PIN_KEY_BLOCK
    block = oracle.iso4_encrypt(clear, "98765", ISO4_PAN)
    account = ISO4_PAN[-13:-1]
    right, wrong = lmk_pin(host, "98765", account, 2), lmk_pin(host, "98766", account, 2)
    x_right = lmk_pin(host, "1234", X9243_PAN[-13:-1], 2)
    return [
        (f"{key}{block}48{ISO4_PAN};{right}%02", b"00"),
        (f"{key}{block}48{ISO4_PAN};{wrong}%02", b"01"),
        (f"{fixed}{X9243_BLOCK}48{X9243_PAN};{x_right}%02", b"00"),
        # The block binds the whole PAN: its check digit or its first digit changed, it no longer decodes.
        (f"{fixed}{X9243_BLOCK}48{X9243_PAN[:-1]}2;{x_right}%02", b"20"),
        (f"{fixed}{X9243_BLOCK}485{X9243_PAN[1:]};{x_right}%02", b"20"),
        # The PIN under the LMK is bound to the 12 digits before the check digit, not the PAN's first 12.
        (f"{fixed}{X9243_BLOCK}48{X9243_PAN};{lmk_pin(host, '1234', X9243_PAN[:12], 2)}%02", b"14"),
        (f"{tdes_key}{block[:16]}48{ISO4_PAN};{right}%02", b"23"),  # 48 needs an AES key
        (f"{key}{block}01{account}{right}%02", b"23"),  # an AES key takes 48 only
        (f"{key}{block}48{ISO4_PAN}{right}%02", b"15"),  # the PAN without its delimiter
        (f"{key}{block}481234567890;{right}%02", b"15"),  # a PAN under 12 digits
        # 16 H under an AES key: the 32 H block takes in the format and 14 PAN digits, the next field is malformed.
        (f"{key}{block[:16]}48{ISO4_PAN};{right}%02", b"15"),
    ]


def test_bc_verifies_format_48_under_an_aes_tpk() -> None:
    host = kb_oracle.make_host()
    for request_, answer in aes_cases(host):
        assert native(bc, host, request_.encode()) == answer, request_


@pytest.mark.wasm
def test_bc_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    host = kb_oracle.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "BC.wasm")
        for request_, answer in aes_cases(host):
            assert in_component(runtime, plugin, request_.encode()) == native(bc, host, request_.encode()) == answer, request_
