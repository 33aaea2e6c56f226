"""CY — Verify a Visa CVV (CVV2, iCVV, Mastercard CVC).

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyCVV) and jPOS's CVV2
(jpos/jPOS, jpos/src/test/java/org/jpos/security/jceadapter/JCESecurityModuleTest.java),
keys under the public test LMK. Every CVV is re-derived with tests/oracle.py
(psec.cvv.generate_cvv on the CVK decrypted by the oracle); CW's CVVs go back to CY.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import cw, cy
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

CVK_U = "U9B4934384B19946B040CD702B4D58145"  # clear 0123456789ABCDEF FEDCBA9876543210
CVK_AB = "0A61E674E88C6A7EEABC38C2B2BB492F"  # the same key as CVK A · CVK B, each under the LMK on its own
JPOS_CVK = "U479D751977AA598CB481F548226DBF2B"  # clear 1334577913345779 1334577913345779
JPOS_CVK_AB = "56FBB74CDEAD6949" + "69E636CF27A47EEE"  # clear 1334577913345779 · 8664432086644320
CLEAR = oracle.from_lmk("402", CVK_U)


def cvv(pan: str, expiry: str, service_code: str, field: str = CVK_U) -> str:
    return oracle.visa_cvv(oracle.from_lmk("402", field), pan, expiry, service_code)


def other(value: str) -> str:
    """Another CVV: each digit plus one."""
    return "".join(str((int(d) + 1) % 10) for d in value)


def flip(key: bytes) -> bytes:
    """The key with its last byte's parity broken."""
    return key[:-1] + bytes([key[-1] ^ 1])


CVV2 = cvv("4123456789012345", "8701", "000")
ICVV = cvv("4123456789012345", "8701", "999")

CASES = [
    # ThalesSim.
    (f"{CVK_U}5614123456789012345;8701101", b"00"),
    (f"{CVK_U}1114123456789012345;8701101", b"01"),
    (f"{CVK_AB}5614123456789012345;8701101", b"00"),
    (f"{CVK_AB}6494999988887777;9105111", b"00"),
    (f"{CVK_AB}1114999988887777;9105111", b"01"),
    # CVV2 (service code 000) and iCVV (999).
    (f"{CVK_AB}{CVV2}4123456789012345;8701000", b"00"),
    (f"{CVK_AB}{other(CVV2)}4123456789012345;8701000", b"01"),
    (f"{CVK_U}{ICVV}4123456789012345;8701999", b"00"),
    (f"{CVK_U}{ICVV}4123456789012345;8701101", b"01"),  # the iCVV (651, psec) is not the CVV1 (561)
    # jPOS.
    (f"{JPOS_CVK}204123456789012;1108000", b"00"),
    (f"{JPOS_CVK_AB}453123456789012;1108000", b"00"),
    (f"{JPOS_CVK_AB}204123456789012;1108000", b"01"),
    # PANs of 19 digits and of one; the LMK identifier.
    (f"{CVK_U}{cvv('4123456789012345678', '2512', '201')}4123456789012345678;2512201", b"00"),
    (f"{CVK_AB}{cvv('7', '2512', '201')}7;2512201", b"00"),
    (f"{CVK_U}5614123456789012345;8701101%00", b"00"),
    # Errors.
    (f"{oracle.to_lmk('402', 'U', flip(CLEAR))}5614123456789012345;8701101", b"10"),
    (f"{oracle.to_lmk('402', 'Z', CLEAR[:8])}5614123456789012345;8701101", b"27"),  # a single-length CVK
    (f"{oracle.to_lmk('402', 'T', CLEAR + CLEAR[:8])}5614123456789012345;8701101", b"27"),
    (f"{CVK_U}5614123456789012345;8701101%01", b"13"),  # LMK 01 not loaded
    (f"{CVK_U}5614123456789012345;8701101%0A", b"13"),
    (f"{CVK_U}56A4123456789012345;8701101", b"15"),  # CVV not numeric
    (f"{CVK_U}561;8701101", b"15"),  # no PAN
    (f"{CVK_U}56;8701101", b"15"),
    (f"{CVK_U}56141234567890123456789;8701101", b"15"),  # PAN of 20 digits
    (f"{CVK_U}5614123456789012345870110", b"15"),  # no ;
    (f"{CVK_U}5614123456789012345;870A101", b"15"),
    (f"{CVK_U}5614123456789012345;870110", b"15"),  # service code short
    (f"{CVK_U}5614123456789012345;87011010", b"15"),  # a byte too many
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert CLEAR.hex().upper() == "0123456789ABCDEFFEDCBA9876543210"
    assert oracle.from_lmk("402", CVK_AB) == CLEAR
    assert cvv("4123456789012345", "8701", "101") == "561"
    assert cvv("4999988887777", "9105", "111") == "649"
    assert cvv("123456789012", "1108", "000", JPOS_CVK) == "204"
    assert cvv("123456789012", "1108", "000", JPOS_CVK_AB) == "453"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_cy_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(cy, host, request_.encode()) == answer


@pytest.mark.parametrize("service_code", ["101", "000", "999", "226"])
def test_cvvs_from_cw_verify_with_cy(host: Host, service_code: str) -> None:
    clear = bytes.fromhex("89ABCDEF01234567FEDCBA9876543210")
    key = oracle.to_lmk("402", "U", clear)
    card = f"5412345678901234;2709{service_code}"
    answer = native(cw, host, f"{key}{card}".encode())
    assert answer == f"00{oracle.visa_cvv(clear, '5412345678901234', '2709', service_code)}".encode()
    value = answer[2:].decode()
    assert native(cy, host, f"{key}{value}{card}".encode()) == b"00"
    assert native(cy, host, f"{key}{other(value)}{card}".encode()) == b"01"


@pytest.mark.wasm
def test_cy_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CY.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(cy, host, request_.encode()), request_


@pytest.mark.wasm
async def test_cy_over_tcp(built_plugins: Path) -> None:
    requests = [f"CY{CVK_U}5614123456789012345;8701101", f"CY{CVK_U}1114123456789012345;8701101"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"CZ00", b"CZ01"]


def test_the_real_units_cvv_verifies_under_a_key_block_cvk() -> None:
    # REAL (test.js verifyCvvEncode 2): CY with the CVK block (LMK 01), CVV 181, PAN 502265400089000092, 2010, 620.
    host = kb_oracle.make_host()
    assert native(cy, host, f"{kb_oracle.CVK}181502265400089000092;2010620%01".encode()) == b"00"
    assert native(cy, host, f"{kb_oracle.CVK}182502265400089000092;2010620%01".encode()) == b"01"
