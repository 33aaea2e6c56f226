"""BA — Encrypt a clear PIN.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb and ThalesSim.Tests.Unit/Commands/HostCommandTests.cs),
under its "0" + PIN convention for the PIN under the LMK, replayed with the
simulator-mode host. On the default host (hsmd's own encryption of the PIN under
the LMK) the answer is checked by round trips: through NG, and through JG to a
PIN block that the independent psec oracle (tests/oracle.py) decodes and that
equals ThalesSim's published JG block.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import ba, jg, ng
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE
from tests.tcp import exchange

ACCOUNT = "550000025321"
ZPK = "BAB32D775A38E4AB"  # ZPK under LMK 06-07, clear 13F10E5D868A529E (ThalesSim's JG tests)

# The default host: clear PINs are disabled (17); malformed fields are 15 before that.
CASES = [
    (f"1234F{ACCOUNT}", b"17"),
    (f"123456FFFFFFF{ACCOUNT}", b"17"),
    (f"1234F{ACCOUNT}%00", b"17"),
    (f"12345{ACCOUNT}", b"15"),  # no F padding
    (f"12F4F{ACCOUNT}", b"15"),  # F inside the PIN
    (f"FFFFF{ACCOUNT}", b"15"),  # no digits
    (f"1234FFFFFFFFFF{ACCOUNT}", b"15"),  # field of 14
    (f"1234F{ACCOUNT[:-1]}X", b"15"),  # account not numeric
    ("1234F", b"15"),  # no account
    (f"1234F{ACCOUNT}%1", b"15"),  # a malformed %1 is no LMK identifier: the fields shift
]

# Authorised, hsmd's own PIN under the LMK (regression values of hsmd's cipher under the test LMK).
AUTHORISED_CASES = [
    (f"1234F{ACCOUNT}", b"0041055"),  # = JE of ThalesSim's PIN block for 1234 (tests/test_cmd_je.py)
    (f"1234f{ACCOUNT}", b"0041055"),  # lower-case padding
    (f"1234FFFFFFFFF{ACCOUNT}", b"0041055"),  # padded to a legacy encrypted length of 13
    ("123456F400000123456", b"003254405"),
    (f"123F{ACCOUNT}", b"24"),  # 3 digits
    (f"1234567890123F{ACCOUNT}", b"15"),  # 13 digits: field of 14
    (f"1234F{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
]

# Simulator mode, authorised: ThalesSim's published vectors.
SIM_CASES = [
    ("1234F012345678901", b"0001234"),  # HostCommandTests.cs
    ("1234F407000025321", b"0001234"),  # HostCommandTests.vb, account "5044070000253211".Substring(3, 12)
    ("123456789012F012345678901", b"000123456789012"),
    # HostCommandTests.cs also sends "01234" (no F) and expects 01234: ThalesSim strips a leading 0
    # when no F is present. The manual's field is the PIN padded with F, so hsmd answers 15.
    ("01234012345678901", b"15"),
]


def authorised_host(mode: str = "encrypted") -> Host:
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True, pin_under_lmk=mode))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ba_default_host_refuses_clear_pins(host: Host, request_: str, answer: bytes) -> None:
    assert native(ba, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), AUTHORISED_CASES)
def test_ba_authorised_known_answers_and_error_codes(request_: str, answer: bytes) -> None:
    assert native(ba, authorised_host(), request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_ba_thalessim_vectors_in_simulator_mode(request_: str, answer: bytes) -> None:
    assert native(ba, authorised_host("simulator"), request_.encode()) == answer


def test_simulator_mode_unauthorised_is_17() -> None:
    sim = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))
    assert native(ba, sim, b"1234F012345678901") == b"17"


@pytest.mark.parametrize("pin", ["1234", "987654", "000000000000"])
def test_encrypted_pin_reads_back_through_ng(pin: str) -> None:
    hsm = authorised_host()
    under_lmk = native(ba, hsm, f"{pin}F{ACCOUNT}".encode())[2:].decode()
    assert len(under_lmk) == len(pin) + 1
    assert native(ng, hsm, f"{ACCOUNT}{under_lmk}".encode()) == f"00{pin}F000000000000".encode()


def test_encrypted_pin_leaves_through_jg_as_thalessims_block() -> None:
    hsm = authorised_host()
    under_lmk = native(ba, hsm, f"1234F{ACCOUNT}".encode())[2:].decode()
    # ThalesSim's JG vectors (HostCommandTests.vb) for PIN 1234, account 550000025321, re-derived with psec.
    zpk = oracle.from_lmk("001", ZPK)
    for fmt, block in (("01", "E98FFDA17099AF55"), ("03", "F7808F2CBEC63168")):
        assert oracle.pinlmk_encode_block(zpk, fmt, "1234", ACCOUNT) == block
        assert native(jg, hsm, f"{ZPK}{fmt}{ACCOUNT}{under_lmk}".encode()) == b"00" + block.encode()


def test_encrypted_pin_is_bound_to_the_account() -> None:
    hsm = authorised_host()
    under_lmk = native(ba, hsm, f"1234F{ACCOUNT}".encode())[2:].decode()
    assert native(ng, hsm, f"{ACCOUNT}{under_lmk}".encode()) == b"001234F000000000000"
    assert native(ng, hsm, f"400000123456{under_lmk}".encode()) != b"001234F000000000000"


@pytest.mark.wasm
def test_ba_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "BA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ba, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ba_over_tcp(built_plugins: Path) -> None:
    # hsmd's default configuration does not allow clear PINs.
    assert await exchange(built_plugins, f"BA1234F{ACCOUNT}".encode(), f"BA12345{ACCOUNT}".encode()) == [b"BB17", b"BB15"]
