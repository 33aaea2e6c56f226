"""IA — Generate a ZPK.

The ZPK is random, so every success is checked by recomputation:
tests/oracle.py (psec and the variant-LMK rules of shared/reference/payshield.md,
not hsmd's key code) decrypts the ZPK under LMK 06-07 and under the ZMK;
both must give the same odd-parity key of the length the schemes name, and
the returned check value must be the oracle's.

ZMKs: `U1457FF6ADF6250C66C368416B4C9D383` and `4ED06495741C280C` under the
public test LMK, clear values from ThalesSim's host-command tests
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb) and
re-derived below; the triple-length ZMK is made here with the oracle. The rule
"key under a ZMK = scheme variant only, no key-type variant" is pinned by
ThalesSim's GC vector (ZPK BAB32D775A38E4AB under the double ZMK).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ia
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
SINGLE_ZMK = "4ED06495741C280C"
SINGLE_ZMK_CLEAR = bytes.fromhex("E951A1D6EF08EA15")
TRIPLE_ZMK_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity

TRIPLE_ZMK = oracle.to_lmk("000", "T", TRIPLE_ZMK_CLEAR)
EVEN_ZMK = oracle.to_lmk("000", "U", bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B071"))  # last byte even

# request -> (clear ZMK, scheme under it, scheme under the LMK, check value digits)
SUCCESSES = {
    ZMK: (ZMK_CLEAR, "Z", "Z", 16),  # no block: single length, 16 H check value
    f"{ZMK}0": (ZMK_CLEAR, "Z", "Z", 16),  # Atalla variant 0
    f"{ZMK};ZZ0": (ZMK_CLEAR, "Z", "Z", 16),
    f"{ZMK};ZZ1": (ZMK_CLEAR, "Z", "Z", 6),
    f"{ZMK};UU0": (ZMK_CLEAR, "U", "U", 16),
    f"{ZMK};UU1": (ZMK_CLEAR, "U", "U", 6),
    f"{ZMK}00;xu1%00": (ZMK_CLEAR, "X", "U", 6),
    f"{ZMK};TT0": (ZMK_CLEAR, "T", "T", 16),  # triple-length ZPK (ThalesSim would answer 26)
    f"{ZMK};YT1": (ZMK_CLEAR, "Y", "T", 6),
    SINGLE_ZMK: (SINGLE_ZMK_CLEAR, "Z", "Z", 16),
    f"{SINGLE_ZMK};XU1": (SINGLE_ZMK_CLEAR, "X", "U", 6),  # X9.17: plain ECB, fine under a single ZMK
    f"{TRIPLE_ZMK};TT1": (TRIPLE_ZMK_CLEAR, "T", "T", 6),
    f"{TRIPLE_ZMK};UU0": (TRIPLE_ZMK_CLEAR, "U", "U", 16),
}

ERRORS = [
    (f"{ZMK};ZU1", b"15"),  # schemes of different lengths
    (f"{ZMK};UZ1", b"15"),
    (f"{ZMK};YU1", b"15"),
    (f"{ZMK};QU1", b"26"),  # no scheme Q
    (f"{ZMK};UQ1", b"26"),
    (f"{ZMK};UX1", b"26"),  # X is not a scheme under the LMK
    (f"{ZMK};0U1", b"26"),
    (f"{SINGLE_ZMK};UU1", b"26"),  # scheme U needs a double-length ZMK
    (f"{SINGLE_ZMK};TT1", b"26"),
    (f"{ZMK};UU2", b"15"),  # check value type 2
    (f"{ZMK};UU", b"15"),  # block cut short
    (f"{ZMK}7", b"15"),  # Atalla variant 7 not supported
    (f"{ZMK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZMK}X", b"15"),  # trailing data
    (ZMK[:-1], b"15"),  # key field short
    ("", b"15"),
    (EVEN_ZMK, b"10"),  # ZMK parity
    ("0406FBB23A5214DF", b"10"),  # a TPK given as ZMK: parity fails under 04-05
]


def check_generated(answer: bytes, zmk: bytes, zmk_scheme: str, lmk_scheme: str, kcv_digits: int) -> bytes:
    """The clear ZPK (key type 001), after checking both encryptions of it and its check value agree."""
    text = answer.decode()
    assert text[:2] == "00", text
    clear, check = oracle.generated_key(text[2:], zmk, zmk_scheme, "001", lmk_scheme)
    assert check == oracle.kcv(clear, kcv_digits)
    return clear


def test_oracle_reproduces_the_published_keys() -> None:
    assert oracle.from_lmk("000", ZMK) == ZMK_CLEAR
    assert oracle.from_lmk("000", SINGLE_ZMK) == SINGLE_ZMK_CLEAR
    # ThalesSim GC: ZPK BAB32D775A38E4AB (clear 13F10E5D868A529E, under 06-07) is 2B930A07119F93A8 under the ZMK.
    zpk = bytes.fromhex("13F10E5D868A529E")
    assert oracle.to_lmk("001", "Z", zpk) == "BAB32D775A38E4AB"
    assert oracle.encrypt(ZMK_CLEAR, "Z", zpk) == "2B930A07119F93A8"
    assert oracle.kcv(zpk) == "73936E441E46819D"


@pytest.mark.parametrize("request_", list(SUCCESSES))
def test_ia_generates_a_zpk_under_the_zmk_and_the_lmk(host: Host, request_: str) -> None:
    check_generated(native(ia, host, request_.encode()), *SUCCESSES[request_])


def test_ia_keys_are_fresh_each_time(host: Host) -> None:
    first = check_generated(native(ia, host, f"{ZMK};UU1".encode()), ZMK_CLEAR, "U", "U", 6)
    second = check_generated(native(ia, host, f"{ZMK};UU1".encode()), ZMK_CLEAR, "U", "U", 6)
    assert first != second


@pytest.mark.parametrize(("request_", "code"), ERRORS)
def test_ia_error_codes(host: Host, request_: str, code: bytes) -> None:
    assert native(ia, host, request_.encode()) == code


@pytest.mark.wasm
def test_ia_component_answers_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    # Keys are random: successes agree in shape and each decrypts consistently; errors agree exactly.
    plugin = runtime.load(built_plugins / "IA.wasm")
    for request_, expected in SUCCESSES.items():
        wasm = in_component(runtime, plugin, request_.encode())
        ours = native(ia, host, request_.encode())
        assert len(wasm) == len(ours), request_
        assert check_generated(wasm, *expected) != check_generated(ours, *expected)  # two fresh keys
    for request_, _ in ERRORS:
        assert in_component(runtime, plugin, request_.encode()) == native(ia, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ia_over_tcp(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, f"IA{ZMK};UU1".encode(), f"IA{EVEN_ZMK}".encode())
    assert answers[0][:2] == b"IB"
    check_generated(answers[0][2:], ZMK_CLEAR, "U", "U", 6)
    assert answers[1] == b"IB10"
