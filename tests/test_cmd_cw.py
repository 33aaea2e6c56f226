"""CW — Generate a Visa CVV (CVV2, iCVV, Mastercard CVC).

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestGenerateCVV) and jPOS's
(jpos/jPOS, jpos/src/test/java/org/jpos/security/jceadapter/JCESecurityModuleTest.java),
keys under the public test LMK. Every CVV is re-derived with tests/oracle.py
(psec.cvv.generate_cvv on the CVK decrypted by the oracle).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import cw
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

CVK_U = "U9B4934384B19946B040CD702B4D58145"  # clear 0123456789ABCDEF FEDCBA9876543210
CVK_AB = "0A61E674E88C6A7EEABC38C2B2BB492F"  # the same key as CVK A · CVK B, each under the LMK on its own
JPOS_CVK = "U479D751977AA598CB481F548226DBF2B"  # clear 1334577913345779 1334577913345779
JPOS_CVK_AB = "56FBB74CDEAD6949" + "69E636CF27A47EEE"  # clear 1334577913345779 · 8664432086644320
CLEAR = oracle.from_lmk("402", CVK_U)


def cvv(field: str, pan: str, expiry: str, service_code: str) -> bytes:
    """The oracle's answer: 00 and psec's CVV under the CVK field decrypted with the test LMK."""
    return f"00{oracle.visa_cvv(oracle.from_lmk('402', field), pan, expiry, service_code)}".encode()


def flip(key: bytes) -> bytes:
    """The key with its last byte's parity broken."""
    return key[:-1] + bytes([key[-1] ^ 1])


CASES = [
    # ThalesSim.
    (f"{CVK_U}4123456789012345;8701101", b"00561"),
    (f"{CVK_AB}4123456789012345;8701101", b"00561"),
    (f"{CVK_AB}4999988887777;9105111", b"00649"),
    # CVV2 (service code 000) and iCVV (999) of ThalesSim's card.
    (f"{CVK_AB}4123456789012345;8701000", cvv(CVK_AB, "4123456789012345", "8701", "000")),
    (f"{CVK_U}4123456789012345;8701999", cvv(CVK_U, "4123456789012345", "8701", "999")),
    # jPOS: CVV2 of PAN 123456789012, expiry 1108.
    (f"{JPOS_CVK}123456789012;1108000", b"00204"),
    (f"{JPOS_CVK_AB}123456789012;1108000", b"00453"),
    # PANs of 19 digits and of one; the LMK identifier.
    (f"{CVK_U}4123456789012345678;2512201", cvv(CVK_U, "4123456789012345678", "2512", "201")),
    (f"{CVK_AB}7;2512201", cvv(CVK_AB, "7", "2512", "201")),
    (f"{CVK_AB}4123456789012345;8701101%00", b"00561"),
    # Errors.
    (f"{oracle.to_lmk('402', 'U', flip(CLEAR))}4123456789012345;8701101", b"10"),
    (f"{oracle.to_lmk('402', 'Z', CLEAR[:8])}4123456789012345;8701101", b"27"),  # a single-length CVK
    (f"{oracle.to_lmk('402', 'T', CLEAR + CLEAR[:8])}4123456789012345;8701101", b"27"),
    (f"{CVK_U}4123456789012345;8701101%01", b"13"),  # LMK 01 not loaded
    (f"{CVK_U}4123456789012345;8701101%0A", b"13"),
    (f"{CVK_U}41234567890123456789;8701101", b"15"),  # PAN of 20 digits
    (f"{CVK_U};8701101", b"15"),  # no PAN
    (f"{CVK_U}41234567890123A5;8701101", b"15"),
    (f"{CVK_U}41234567890123458701101", b"15"),  # no ;
    (f"{CVK_U}4123456789012345;87A1101", b"15"),
    (f"{CVK_U}4123456789012345;870110", b"15"),  # service code short
    (f"{CVK_U}4123456789012345;87011011", b"15"),  # a byte too many
    (f"{CVK_U[:-1]}G4123456789012345;8701101", b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert CLEAR.hex().upper() == "0123456789ABCDEFFEDCBA9876543210"
    assert oracle.from_lmk("402", CVK_AB) == CLEAR
    assert oracle.visa_cvv(CLEAR, "4123456789012345", "8701", "101") == "561"
    assert oracle.visa_cvv(CLEAR, "4999988887777", "9105", "111") == "649"
    assert oracle.from_lmk("402", JPOS_CVK).hex().upper() == "13345779133457791334577913345779"
    assert oracle.from_lmk("402", JPOS_CVK_AB).hex().upper() == "13345779133457798664432086644320"
    assert oracle.visa_cvv(oracle.from_lmk("402", JPOS_CVK), "123456789012", "1108", "000") == "204"
    assert oracle.visa_cvv(oracle.from_lmk("402", JPOS_CVK_AB), "123456789012", "1108", "000") == "453"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_cw_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(cw, host, request_.encode()) == answer


@pytest.mark.wasm
def test_cw_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CW.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(cw, host, request_.encode()), request_


@pytest.mark.wasm
async def test_cw_over_tcp(built_plugins: Path) -> None:
    requests = [f"CW{CVK_U}4123456789012345;8701101", f"CW{CVK_U}4123456789012345;870110"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"CX00561", b"CX15"]


# --------------------------------------------------------------------------- key blocks (issue 8)
# REAL (ut-codec-payshield test/config/test.js, generateCvvEncode 2 / Decode 2): CW with the CVK block
# under the unit's LMK 01 (the 3DES key-block test LMK), PAN 502265400089000092, expiry 2010, service code
# 620 → CVV 181. The unit's default LMK was 01 (the request has no %nn).

KB = kb_oracle
CVK_BLOCK_CASES = [
    (f"{KB.CVK}502265400089000092;2010620%01", b"00181"),
    (f"{KB.ZPK_1}502265400089000092;2010620%01", b"A6"),  # a PIN key makes no CVV
    (f"{KB.CVK}502265400089000092;2010620%00", b"A1"),  # LMK 00 is a variant LMK
    (f"{KB.CVK[:-1]}0502265400089000092;2010620%01", b"A4"),
]


def test_the_real_units_cvv_under_a_key_block_cvk() -> None:
    assert oracle.visa_cvv(KB.CVK_CLEAR, "502265400089000092", "2010", "620") == "181"
    assert native(cw, KB.make_host(default=1), f"{KB.CVK}502265400089000092;2010620".encode()) == b"00181"


@pytest.mark.parametrize(("request_", "answer"), CVK_BLOCK_CASES)
def test_cw_with_key_blocks(request_: str, answer: bytes) -> None:
    assert native(cw, KB.make_host(), request_.encode()) == answer


@pytest.mark.wasm
def test_cw_component_takes_key_blocks(built_plugins: Path) -> None:
    with make_runtime(KB.make_host()) as runtime:
        plugin = runtime.load(built_plugins / "CW.wasm")
        for request_, answer in CVK_BLOCK_CASES:
            assert in_component(runtime, plugin, request_.encode()) == answer, request_
