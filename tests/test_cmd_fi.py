"""FI — Generate a ZEK or ZAK.

The key is random, so every success is checked by recomputation, as IA's are:
tests/oracle.py (psec and the variant-LMK rules of shared/reference/payshield.md,
not hsmd's key code) decrypts the key under the LMK pair its flag names (ZEK
30-31, key type 00A; ZAK 26-27, key type 008, as ThalesSim's
GenerateZEKorZAK_FI encrypts them) and under the ZMK; both must give the same
odd-parity key of the length the schemes name, with the oracle's check value.
The ZMKs and their clear values are IA's (ThalesSim's host-command tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fi, ia
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_ia import EVEN_ZMK, SINGLE_ZMK, SINGLE_ZMK_CLEAR, TRIPLE_ZMK, TRIPLE_ZMK_CLEAR, ZMK, ZMK_CLEAR

KEY_TYPE = {"0": "00A", "1": "008"}

# request -> (clear ZMK, scheme under it, scheme under the LMK, check value digits)
SUCCESSES = {
    f"0{ZMK};UU1": (ZMK_CLEAR, "U", "U", 6),  # ThalesSim's FI test request
    f"1{ZMK};UU1": (ZMK_CLEAR, "U", "U", 6),
    f"0{ZMK}": (ZMK_CLEAR, "Z", "Z", 16),  # no block: single length, 16 H check value
    f"1{ZMK}0": (ZMK_CLEAR, "Z", "Z", 16),  # Atalla variant 0
    f"0{ZMK};XU0%00": (ZMK_CLEAR, "X", "U", 16),
    f"1{ZMK};TT1": (ZMK_CLEAR, "T", "T", 6),
    f"0{SINGLE_ZMK};ZZ1": (SINGLE_ZMK_CLEAR, "Z", "Z", 6),
    f"1{TRIPLE_ZMK};YT0": (TRIPLE_ZMK_CLEAR, "Y", "T", 16),
}

ERRORS = [
    (f"2{ZMK};UU1", b"15"),  # flag neither ZEK nor ZAK
    (f"A{ZMK};UU1", b"15"),
    ("", b"15"),  # no flag
    ("0", b"15"),  # no ZMK
    (f"0{ZMK};ZU1", b"15"),  # schemes of different lengths
    (f"1{ZMK};UX1", b"26"),  # X is not a scheme under the LMK
    (f"0{SINGLE_ZMK};UU1", b"26"),  # scheme U needs a double-length ZMK
    (f"1{ZMK};UU2", b"15"),  # check value type 2
    (f"0{ZMK}7", b"15"),  # Atalla variant 7 not supported
    (f"0{ZMK}%01", b"13"),  # LMK 01 not loaded
    (f"1{ZMK}X", b"15"),  # trailing data
    (f"0{EVEN_ZMK}", b"10"),  # ZMK parity
]


def check_generated(answer: bytes, request: str) -> bytes:
    """The clear key, after checking both encryptions of it and its check value agree."""
    zmk, zmk_scheme, lmk_scheme, kcv_digits = SUCCESSES[request]
    text = answer.decode()
    assert text[:2] == "00", text
    clear, check = oracle.generated_key(text[2:], zmk, zmk_scheme, KEY_TYPE[request[0]], lmk_scheme)
    assert check == oracle.kcv(clear, kcv_digits)
    return clear


@pytest.mark.parametrize("request_", list(SUCCESSES))
def test_fi_generates_a_zek_or_zak_under_the_zmk_and_its_lmk_pair(host: Host, request_: str) -> None:
    check_generated(native(fi, host, request_.encode()), request_)


def test_a_zek_and_a_zak_are_encrypted_under_different_lmk_pairs(host: Host) -> None:
    # The same clear key under 30-31 and under 26-27 gives different text: a ZEK is not taken for a ZAK.
    zek = native(fi, host, f"0{ZMK};UU1".encode()).decode()[2:]
    clear = check_generated(f"00{zek}".encode(), f"0{ZMK};UU1")
    assert oracle.to_lmk("00A", "U", clear) == zek[33:66]
    assert oracle.to_lmk("008", "U", clear) != zek[33:66]


def test_fi_keys_are_fresh_each_time(host: Host) -> None:
    request = f"1{ZMK};UU1"
    assert check_generated(native(fi, host, request.encode()), request) != check_generated(native(fi, host, request.encode()), request)


@pytest.mark.parametrize(("request_", "code"), ERRORS)
def test_fi_error_codes(host: Host, request_: str, code: bytes) -> None:
    assert native(fi, host, request_.encode()) == code


def test_after_its_flag_fi_answers_every_ia_error_as_ia_does(host: Host) -> None:
    from tests.test_cmd_ia import ERRORS as IA_ERRORS

    for request_, code in IA_ERRORS:
        assert native(fi, host, b"0" + request_.encode()) == native(ia, host, request_.encode()) == code, request_


@pytest.mark.wasm
def test_fi_component_answers_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FI.wasm")
    for request_ in SUCCESSES:
        wasm = in_component(runtime, plugin, request_.encode())
        ours = native(fi, host, request_.encode())
        assert len(wasm) == len(ours), request_
        assert check_generated(wasm, request_) != check_generated(ours, request_)  # two fresh keys
    for request_, _ in ERRORS:
        assert in_component(runtime, plugin, request_.encode()) == native(fi, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fi_over_tcp(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, f"FI0{ZMK};UU1".encode(), f"FI2{ZMK};UU1".encode())
    assert answers[0][:2] == b"FJ"
    check_generated(answers[0][2:], f"0{ZMK};UU1")
    assert answers[1] == b"FJ15"
