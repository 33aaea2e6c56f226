"""HC — Generate a TMK, TPK or PVK.

The new key is random, so every success is checked by recomputation:
tests/oracle.py (psec and the variant-LMK rules of shared/reference/payshield.md,
not hsmd's key code) decrypts the key under LMK 14-15 and under the current key,
and both must give the same odd-parity key of the length the schemes name.

Current keys: TPK `U8463435FC4B4DAA0C49025272C29B12C` and `0406FBB23A5214DF`
under the public test LMK, clear values from ThalesSim's host-command tests
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb) and
re-derived below; the triple-length TMK is made here with the oracle. The rule
"key under a TMK = scheme variant only, no key-type variant" is pinned by
ThalesSim's AE vector (a TMK-encrypted key under the same TPK).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import hc
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK = "U8463435FC4B4DAA0C49025272C29B12C"
TPK_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")
SINGLE_TPK = "0406FBB23A5214DF"
SINGLE_TPK_CLEAR = bytes.fromhex("0B681FC20E62C734")
TRIPLE_TMK_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity

TRIPLE_TMK = oracle.to_lmk("002", "T", TRIPLE_TMK_CLEAR)
EVEN_TMK = oracle.to_lmk("002", "U", bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D006"))  # last byte even

# request -> (clear current key, scheme under it, scheme under the LMK)
SUCCESSES = {
    TPK: (TPK_CLEAR, "Z", "Z"),  # no block: single length
    f"{TPK};ZZ0": (TPK_CLEAR, "Z", "Z"),
    f"{TPK};UU0": (TPK_CLEAR, "U", "U"),
    f"{TPK};XU1": (TPK_CLEAR, "X", "U"),
    f"{TPK};uu1%00": (TPK_CLEAR, "U", "U"),
    f"{TPK};TT0": (TPK_CLEAR, "T", "T"),
    f"{TPK};YT0": (TPK_CLEAR, "Y", "T"),
    SINGLE_TPK: (SINGLE_TPK_CLEAR, "Z", "Z"),
    f"{SINGLE_TPK};XU0": (SINGLE_TPK_CLEAR, "X", "U"),  # X9.17: plain ECB, fine under a single key
    f"{SINGLE_TPK};YT1": (SINGLE_TPK_CLEAR, "Y", "T"),
    f"{TRIPLE_TMK};TT1": (TRIPLE_TMK_CLEAR, "T", "T"),
    f"{TRIPLE_TMK};UU0": (TRIPLE_TMK_CLEAR, "U", "U"),
}

ERRORS = [
    (f"{TPK};ZU0", b"15"),  # schemes of different lengths
    (f"{TPK};UZ0", b"15"),
    (f"{TPK};UT0", b"15"),
    (f"{TPK};QU0", b"26"),  # no scheme Q
    (f"{TPK};UQ0", b"26"),
    (f"{TPK};UX0", b"26"),  # X is not a scheme under the LMK
    (f"{TPK};U00", b"26"),
    (f"{SINGLE_TPK};UU0", b"26"),  # scheme U needs a double-length current key
    (f"{SINGLE_TPK};TT0", b"26"),
    (f"{TPK};UU2", b"15"),  # check value type 2
    (f"{TPK};UU", b"15"),  # block cut short
    (f"{TPK}%01", b"13"),  # LMK 01 not loaded
    (f"{TPK}X", b"15"),  # trailing data
    (TPK[:-1], b"15"),  # key field short
    ("", b"15"),
    (EVEN_TMK, b"10"),  # current key parity
    ("U1457FF6ADF6250C66C368416B4C9D383", b"10"),  # a ZMK given as TMK: parity fails under 14-15
]


def check_generated(answer: bytes, kek: bytes, kek_scheme: str, lmk_scheme: str) -> bytes:
    """The clear new key (key type 002), after checking both encryptions of it agree."""
    text = answer.decode()
    assert text[:2] == "00", text
    clear, rest = oracle.generated_key(text[2:], kek, kek_scheme, "002", lmk_scheme)
    assert rest == ""  # no check value
    return clear


def test_oracle_reproduces_the_published_keys() -> None:
    assert oracle.from_lmk("002", TPK) == TPK_CLEAR
    assert oracle.from_lmk("002", SINGLE_TPK) == SINGLE_TPK_CLEAR
    assert oracle.kcv(SINGLE_TPK_CLEAR) == "0035BBE340A4B763"
    # ThalesSim AE: key 0406FBB23A5214DF (under LMK) re-encrypted under the TPK above = 508949F68B4060A4.
    assert oracle.encrypt(TPK_CLEAR, "Z", SINGLE_TPK_CLEAR) == "508949F68B4060A4"


@pytest.mark.parametrize("request_", list(SUCCESSES))
def test_hc_generates_a_key_under_the_current_key_and_the_lmk(host: Host, request_: str) -> None:
    check_generated(native(hc, host, request_.encode()), *SUCCESSES[request_])


def test_hc_keys_are_fresh_each_time(host: Host) -> None:
    first = check_generated(native(hc, host, f"{TPK};UU0".encode()), TPK_CLEAR, "U", "U")
    second = check_generated(native(hc, host, f"{TPK};UU0".encode()), TPK_CLEAR, "U", "U")
    assert first != second


@pytest.mark.parametrize(("request_", "code"), ERRORS)
def test_hc_error_codes(host: Host, request_: str, code: bytes) -> None:
    assert native(hc, host, request_.encode()) == code


@pytest.mark.wasm
def test_hc_component_answers_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    # Keys are random: successes agree in shape and each decrypts consistently; errors agree exactly.
    plugin = runtime.load(built_plugins / "HC.wasm")
    for request_, expected in SUCCESSES.items():
        wasm = in_component(runtime, plugin, request_.encode())
        ours = native(hc, host, request_.encode())
        assert len(wasm) == len(ours), request_
        assert check_generated(wasm, *expected) != check_generated(ours, *expected)  # two fresh keys
    for request_, _ in ERRORS:
        assert in_component(runtime, plugin, request_.encode()) == native(hc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_hc_over_tcp(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, f"HC{TPK};UU1".encode(), f"HC{EVEN_TMK}".encode())
    assert answers[0][:2] == b"HD"
    check_generated(answers[0][2:], TPK_CLEAR, "U", "U")
    assert answers[1] == b"HD10"
