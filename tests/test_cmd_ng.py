"""NG — Decrypt an encrypted PIN.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb: NG123456789012 01234 -> NH00 1234F), under
its "0" + PIN convention, replayed with the simulator-mode host. ThalesSim sends
no reference number; hsmd appends the manual's 12-digit field as twelve zeros
(its derivation is not public: see logic/ng.py). On the default host the PIN
under the LMK comes from JE given ThalesSim's PIN block, whose PIN the
independent psec oracle (tests/oracle.py) decodes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import ba, je, ng
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE
from tests.tcp import exchange

ACCOUNT = "550000025321"
REFERENCE = "000000000000"
ZPK = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # under LMK 06-07, clear C7152C20BC2C830EA7EC9E8334ABE3FE
ZPK_BLOCK = "91DDDA0A7C12CFAA"  # ISO 0 (01) block of 1234 for 550000025321 under the ZPK (ThalesSim's JE test)
UNDER_LMK = "41055"  # PIN 1234 for 550000025321 under the test LMK in hsmd's own encryption (= JE of ZPK_BLOCK)

# The default host: clear PINs are disabled (17); malformed fields are 15, a PIN failing its check 14.
CASES = [
    (f"{ACCOUNT}{UNDER_LMK}", b"17"),
    (f"{ACCOUNT}{UNDER_LMK}%00", b"17"),
    (f"{ACCOUNT}01234", b"14"),  # not a PIN under the LMK for this account (fails hsmd's check digit)
    (f"{ACCOUNT}4105", b"15"),  # 4 digits
    (f"{ACCOUNT}41055123456789", b"15"),  # 14 digits
    (f"{ACCOUNT}4105F", b"15"),  # not decimal
    (f"{ACCOUNT[:-1]}X{UNDER_LMK}", b"15"),  # account not numeric
    (ACCOUNT, b"15"),  # no PIN
]

AUTHORISED_CASES = [
    (f"{ACCOUNT}{UNDER_LMK}", f"001234F{REFERENCE}".encode()),
    ("4000001234563254405", f"00123456F{REFERENCE}".encode()),  # BA of 123456F for 400000123456
    (f"{ACCOUNT}01234", b"14"),
    (f"{ACCOUNT}{UNDER_LMK}%01", b"13"),  # LMK 01 not loaded
]

SIM_CASES = [
    ("12345678901201234", f"001234F{REFERENCE}".encode()),  # ThalesSim: NH00 1234F (no reference number)
    ("123456789012012345678", f"0012345678F{REFERENCE}".encode()),
    ("12345678901211234", b"14"),  # "0" + PIN: a leading 1 is no PIN under the LMK
]


def authorised_host(mode: str = "encrypted") -> Host:
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True, pin_under_lmk=mode))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ng_default_host_refuses_clear_pins(host: Host, request_: str, answer: bytes) -> None:
    assert native(ng, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), AUTHORISED_CASES)
def test_ng_authorised_known_answers_and_error_codes(request_: str, answer: bytes) -> None:
    assert native(ng, authorised_host(), request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_ng_thalessim_vectors_in_simulator_mode(request_: str, answer: bytes) -> None:
    assert native(ng, authorised_host("simulator"), request_.encode()) == answer


def test_simulator_mode_unauthorised_is_17() -> None:
    sim = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))
    assert native(ng, sim, b"12345678901201234") == b"17"


def test_pin_from_je_reads_back_as_the_oracles_pin() -> None:
    hsm = authorised_host()
    pin = oracle.pinlmk_decode_block(oracle.from_lmk("001", ZPK), "01", ZPK_BLOCK, ACCOUNT)
    under_lmk = native(je, hsm, f"{ZPK}{ZPK_BLOCK}01{ACCOUNT}".encode())[2:].decode()
    assert under_lmk == UNDER_LMK
    assert native(ng, hsm, f"{ACCOUNT}{under_lmk}".encode()) == f"00{pin}F{REFERENCE}".encode()


def test_ba_then_ng_gives_back_the_clear_pin_for_every_length() -> None:
    hsm = authorised_host()
    for n in range(4, 13):
        pin = "9876543210987"[:n]
        under_lmk = native(ba, hsm, f"{pin}F{ACCOUNT}".encode())[2:].decode()
        assert native(ng, hsm, f"{ACCOUNT}{under_lmk}".encode()) == f"00{pin}F{REFERENCE}".encode()


@pytest.mark.wasm
def test_ng_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "NG.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ng, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ng_over_tcp(built_plugins: Path) -> None:
    # hsmd's default configuration does not allow clear PINs.
    assert await exchange(built_plugins, f"NG{ACCOUNT}{UNDER_LMK}".encode(), f"NG{ACCOUNT}4105".encode()) == [b"NH17", b"NH15"]
