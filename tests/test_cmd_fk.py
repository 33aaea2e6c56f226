"""FK — Translate a ZEK or ZAK from ZMK to LMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestTranslateZEKZAKFromZMKToLMK): a ZEK
and a ZAK under the single-length ZMK 4ED06495741C280C (scheme X under it),
keys under the public test LMK, each re-derived below with tests/oracle.py
(psec and the variant-LMK rules, not hsmd's key code). Also ThalesSim's
TestGenerateZEKAndCheckTranslation: FK gives back under the LMK what FI
generated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fa, fi, fk
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_fa import CASES as FA_CASES

ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15
ZEK_UNDER_ZMK = "X2C0E3EE7A5EFFA00C3CD721FE6E66B82"
ZAK_UNDER_ZMK = "XFF85E926874B18C660410136CE46BD48"
DOUBLE_ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070

CASES = [
    (f"0{ZMK}{ZEK_UNDER_ZMK};ZU1", b"00U913248D2781448EB99849CFFE39768AD468318"),  # ThalesSim, ZEK
    (f"1{ZMK}{ZAK_UNDER_ZMK};ZU0", b"00U9564EC9D49DE4E59BE82FE34B5CB17864BF61EA8437E3EDA"),  # ThalesSim, ZAK
    (f"1{ZMK}{ZAK_UNDER_ZMK}", b"00U9564EC9D49DE4E59BE82FE34B5CB17864BF61EA8437E3EDA"),  # no block: U for a double key
    (f"1{ZMK}{ZAK_UNDER_ZMK}0;XU1%00", b"00U9564EC9D49DE4E59BE82FE34B5CB1786" + b"4BF61E"),
    (f"2{ZMK}{ZEK_UNDER_ZMK};ZU1", b"15"),  # flag neither ZEK nor ZAK
    ("", b"15"),
    (f"0{ZMK}{ZEK_UNDER_ZMK};ZZ1", b"27"),  # a double-length key cannot be scheme Z
    (f"0{ZMK}{ZEK_UNDER_ZMK};ZQ1", b"26"),  # no scheme Q
    (f"0{ZMK}{ZEK_UNDER_ZMK};ZU2", b"15"),  # check value type 2
    (f"0{ZMK}{ZEK_UNDER_ZMK}%01", b"13"),  # LMK 01 not loaded
    (f"0{ZMK}{ZEK_UNDER_ZMK[:-1]}", b"15"),  # key field short
    (f"00406FBB23A5214DF{ZEK_UNDER_ZMK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    zmk = oracle.from_lmk("000", ZMK)
    assert zmk == bytes.fromhex("E951A1D6EF08EA15")
    zek, zak = oracle.decrypt(zmk, ZEK_UNDER_ZMK), oracle.decrypt(zmk, ZAK_UNDER_ZMK)
    assert oracle.to_lmk("00A", "U", zek) == "U913248D2781448EB99849CFFE39768AD"  # ZEK: LMK 30-31
    assert oracle.kcv(zek, 6) == "468318"
    assert oracle.to_lmk("008", "U", zak) == "U9564EC9D49DE4E59BE82FE34B5CB1786"  # ZAK: LMK 26-27
    assert oracle.kcv(zak) == "4BF61EA8437E3EDA"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fk_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(fk, host, request_.encode()) == answer


def test_after_its_flag_fk_answers_every_fa_case_as_fa_does_but_for_the_lmk_pair(host: Host) -> None:
    # Errors alike; successes differ only in the encryption under the LMK (30-31 for a ZEK, not 06-07).
    for request_, answer in FA_CASES:
        ours = native(fk, host, b"0" + request_.encode())
        if answer[:2] in (b"00", b"01"):
            assert ours[:2] == answer[:2] and len(ours) == len(answer) and ours != answer, request_
        else:
            assert ours == native(fa, host, request_.encode()) == answer, request_


def test_a_key_with_even_parity_is_translated_with_advice_01(host: Host) -> None:
    clear = bytes.fromhex("E951A1D6EF08EA15")
    even = oracle.encrypt(clear, "X", bytes.fromhex("0123456789ABCDEFFEDCBA9876543211"))  # last byte even
    answer = native(fk, host, f"0{ZMK}{even};ZU0".encode())
    assert answer[:2] == b"01"
    assert oracle.from_lmk("00A", answer[2:35].decode()) == bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_fk_gives_back_under_the_lmk_what_fi_generated(host: Host) -> None:
    for flag in "01":
        generated = native(fi, host, f"{flag}{DOUBLE_ZMK};UU1".encode()).decode()
        under_zmk, under_lmk, check = generated[2:35], generated[35:68], generated[68:]
        assert native(fk, host, f"{flag}{DOUBLE_ZMK}{under_zmk};UU1".encode()) == f"00{under_lmk}{check}".encode()


@pytest.mark.wasm
def test_fk_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FK.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fk, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fk_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FK0{ZMK}{ZEK_UNDER_ZMK};ZU1".encode(), f"FK2{ZMK}".encode()) == [
        b"FL00U913248D2781448EB99849CFFE39768AD468318",
        b"FL15",
    ]
