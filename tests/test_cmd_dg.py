"""DG — Generate a Visa PVV of a PIN under the LMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestGenerateVISAPVV), keys under the
public test LMK, each re-derived below with tests/oracle.py (psec). ThalesSim's
"PIN under the LMK" is "0" + the clear PIN, so those vectors are replayed on a
host in simulator mode (PinSettings(pin_under_lmk="simulator")), natively only.
The default host's PIN under the LMK is hsmd's own encryption: its cases take a
PIN from NativeHsm.pin_to_lmk and check the PVV against psec, and the PVV goes
back to DC and EC (tests/test_cmd_dc.py, tests/test_cmd_ec.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hsmd_sdk import PinHandle

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.native import NativeHsm
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import dc, dg, ec
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE
from tests.tcp import exchange

PVK_X = "X367930344805B1FAD6146EF4ED7502B3"  # clear C8199237EA5857BC 40EF9DA2B5E96BBF
PVK_U = "U183DF6EA5EDFF7D5C91C8F2BA6451884"  # clear 86190176866EC17FB32685ADB6ADA83B
PVK_U2 = "UE9F05D2F2DB8A8579CA3E806B35E336F"  # clear 13345779133457791334577913345779
ACCOUNT = "550000025321"
PVK_CLEAR = oracle.from_lmk("002", PVK_X)

SIMULATOR_VECTORS = [
    (f"{PVK_X}01234{ACCOUNT}1", b"004402"),
    (f"{PVK_X[1:]}01234{ACCOUNT}1", b"004402"),
    (f"{PVK_U}01234{ACCOUNT}1", b"000481"),
    (f"{PVK_U2}012341234567890120", b"001226"),
]


def simulator_host() -> Host:
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))


def pin_under_lmk(pin: str, account: str) -> str:
    """`pin` under LMK 02-03 as the default host encrypts it (same LMK; only clear PIN entry needs authorisation)."""
    authorised = NativeHsm(Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True)), RequestScope("setup"))
    handle: PinHandle = authorised.pin_from_clear(pin)
    return authorised.pin_to_lmk(handle, account)


def flip(key: bytes) -> bytes:
    """The key with its last byte's parity broken."""
    return key[:-1] + bytes([key[-1] ^ 1])


PIN_1234 = pin_under_lmk("1234", ACCOUNT)
PIN_LONG = pin_under_lmk("97531864", "123456789012")

CASES = [
    (f"{PVK_X}{PIN_1234}{ACCOUNT}1", f"00{oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, '1234')}".encode()),
    (f"{PVK_X[1:]}{PIN_1234}{ACCOUNT}1%00", f"00{oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, '1234')}".encode()),
    (f"{PVK_U}{PIN_1234}{ACCOUNT}6", f"00{oracle.visa_pvv(oracle.from_lmk('002', PVK_U), ACCOUNT, 6, '1234')}".encode()),
    (f"{PVK_U2}{PIN_LONG}1234567890129", f"00{oracle.visa_pvv(oracle.from_lmk('002', PVK_U2), '123456789012', 9, '9753')}".encode()),
    # Errors.
    (f"{oracle.to_lmk('002', 'X', flip(PVK_CLEAR))}{PIN_1234}{ACCOUNT}1", b"10"),
    (f"{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}{PIN_1234}{ACCOUNT}1", b"27"),  # a single-length PVK
    (f"{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}{PIN_LONG}1234567890121%00", b"27"),
    (f"{oracle.to_lmk('002', 'T', PVK_CLEAR + PVK_CLEAR[:8])}{PIN_1234}{ACCOUNT}1", b"27"),
    (f"{PVK_X}{PIN_1234}{ACCOUNT}1%01", b"13"),  # LMK 01 not loaded
    (f"{PVK_X}{PIN_1234}{ACCOUNT}1%0A", b"15"),  # not an LMK identifier: part of the PIN field, which is then not digits
    (f"{PVK_X}{PIN_1234}{ACCOUNT}A", b"15"),  # PVKI not numeric
    (f"{PVK_X}{PIN_1234}{ACCOUNT[:-1]}A1", b"15"),  # account not numeric
    (f"{PVK_X}1234{ACCOUNT}1", b"15"),  # a PIN under the LMK has 5-13 digits
    (f"{PVK_X}12345678901234{ACCOUNT}1", b"15"),
    (f"{PVK_X}12A45{ACCOUNT}1", b"15"),
    (f"{PVK_X[:-1]}G{PIN_1234}{ACCOUNT}1", b"15"),  # PVK not hex
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert PVK_CLEAR.hex().upper() == "C8199237EA5857BC40EF9DA2B5E96BBF"
    assert oracle.from_lmk("002", PVK_X[1:]) == PVK_CLEAR
    assert oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "1234") == "4402"
    assert oracle.from_lmk("002", PVK_U).hex().upper() == "86190176866EC17FB32685ADB6ADA83B"
    assert oracle.visa_pvv(oracle.from_lmk("002", PVK_U), ACCOUNT, 1, "1234") == "0481"
    assert oracle.from_lmk("002", PVK_U2).hex().upper() == "13345779133457791334577913345779"
    assert oracle.visa_pvv(oracle.from_lmk("002", PVK_U2), "123456789012", 0, "1234") == "1226"


@pytest.mark.parametrize(("request_", "answer"), SIMULATOR_VECTORS)
def test_dg_thalessim_vectors_on_a_simulator_mode_host(request_: str, answer: bytes) -> None:
    assert native(dg, simulator_host(), request_.encode()) == answer


def test_simulator_mode_pin_without_its_leading_zero_is_error_14() -> None:
    assert native(dg, simulator_host(), f"{PVK_X}11234{ACCOUNT}1".encode()) == b"14"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_dg_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(dg, host, request_.encode()) == answer


def test_a_pin_under_the_lmk_is_bound_to_its_account(host: Host) -> None:
    # Under another account it decrypts to another PIN (00 and another PVV) or to no PIN at all (14).
    answer = native(dg, host, f"{PVK_X}{PIN_1234}1234567890121".encode())
    assert answer == b"14" or (answer[:2] == b"00" and answer[2:] != oracle.visa_pvv(PVK_CLEAR, "123456789012", 1, "1234").encode())


def test_the_pvv_of_dg_verifies_with_dc_and_ec(host: Host) -> None:
    pvk = oracle.to_lmk("002", "U", bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"))
    account, pin = "987654321098", "24681357"
    answer = native(dg, host, f"{pvk}{pin_under_lmk(pin, account)}{account}3".encode())
    assert answer[:2] == b"00"
    pvv = answer[2:].decode()
    assert pvv == oracle.visa_pvv(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), account, 3, pin)
    tpk, zpk = "U8463435FC4B4DAA0C49025272C29B12C", "U1EF828AA8F6B80EB83E19FBC373F3A85"
    under_tpk = oracle.pinblock_encrypt("002", tpk, oracle.pinblock_encode("01", pin, account))
    under_zpk = oracle.pinblock_encrypt("001", zpk, oracle.pinblock_encode("47", pin, account))
    assert native(dc, host, f"{tpk}{pvk}{under_tpk}01{account}3{pvv}".encode()) == b"00"
    assert native(ec, host, f"{zpk}{pvk}{under_zpk}47{account}3{pvv}".encode()) == b"00"
    assert native(ec, host, f"{zpk}{pvk}{under_zpk}47{account}4{pvv}".encode()) == b"01"  # another PVKI


@pytest.mark.wasm
def test_dg_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "DG.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(dg, host, request_.encode()), request_


@pytest.mark.wasm
async def test_dg_over_tcp(built_plugins: Path) -> None:
    requests = [f"DG{PVK_X}{PIN_1234}{ACCOUNT}1", f"DG{PVK_X}{PIN_1234}{ACCOUNT}A"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"DH004402", b"DH15"]
