"""HA — Generate a TAK.

The TAK is random, so every success is checked by recomputation:
tests/oracle.py (psec and the variant-LMK rules of shared/reference/payshield.md,
not hsmd's key code) decrypts the TAK under LMK 16-17 and under the TMK,
and both must give the same odd-parity key of the length the schemes name.

TMKs: `U8463435FC4B4DAA0C49025272C29B12C` and `0406FBB23A5214DF` (type 002)
under the public test LMK, clear values from ThalesSim's host-command tests
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb) and
re-derived below; the triple-length TMK is made here with the oracle. LMK 16-17 for
a TAK (key type 003) is the payShield pair table (code 03) and ThalesSim's
`GenerateTAK_HA`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ha
from tests import oracle
from tests.commands import in_component, native, pci_host
from tests.tcp import exchange

TMK = "U8463435FC4B4DAA0C49025272C29B12C"
TMK_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")
SINGLE_TMK = "0406FBB23A5214DF"
SINGLE_TMK_CLEAR = bytes.fromhex("0B681FC20E62C734")
TRIPLE_TMK_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity

TRIPLE_TMK = oracle.to_lmk("002", "T", TRIPLE_TMK_CLEAR)
EVEN_TMK = oracle.to_lmk("002", "U", bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D006"))  # last byte even

# request -> (clear TMK, scheme under it, scheme under the LMK)
SUCCESSES = {
    TMK: (TMK_CLEAR, "Z", "Z"),  # no block: single length
    f"{TMK};ZZ0": (TMK_CLEAR, "Z", "Z"),
    f"{TMK};UU0": (TMK_CLEAR, "U", "U"),
    f"{TMK};XU0": (TMK_CLEAR, "X", "U"),
    f"{TMK};uu0%00": (TMK_CLEAR, "U", "U"),
    f"{TMK};TT0": (TMK_CLEAR, "T", "T"),
    f"{TMK};YT0": (TMK_CLEAR, "Y", "T"),
    SINGLE_TMK: (SINGLE_TMK_CLEAR, "Z", "Z"),
    f"{SINGLE_TMK};XU0": (SINGLE_TMK_CLEAR, "X", "U"),  # X9.17: plain ECB, fine under a single key
    f"{SINGLE_TMK};YT0": (SINGLE_TMK_CLEAR, "Y", "T"),
    f"{TRIPLE_TMK};TT0": (TRIPLE_TMK_CLEAR, "T", "T"),
    f"{TRIPLE_TMK};UU0": (TRIPLE_TMK_CLEAR, "U", "U"),
}

ERRORS = [
    (f"{TMK};ZU0", b"15"),  # schemes of different lengths
    (f"{TMK};UZ0", b"15"),
    (f"{TMK};UT0", b"15"),
    (f"{TMK};QU0", b"26"),  # no scheme Q
    (f"{TMK};UQ0", b"26"),
    (f"{TMK};UX0", b"26"),  # X is not a scheme under the LMK
    (f"{TMK};U00", b"26"),
    (f"{SINGLE_TMK};UU0", b"26"),  # scheme U needs a double-length TMK
    (f"{SINGLE_TMK};TT0", b"26"),
    (f"{TMK};UU1", b"15"),  # reserved option must be 0
    (f"{TMK};UUZ", b"15"),
    (f"{TMK};UU", b"15"),  # block cut short
    (f"{TMK}%01", b"13"),  # LMK 01 not loaded
    (f"{TMK}X", b"15"),  # trailing data
    (TMK[:-1], b"15"),  # key field short
    ("", b"15"),
    (EVEN_TMK, b"10"),  # TMK parity
    ("U1457FF6ADF6250C66C368416B4C9D383", b"10"),  # a ZMK given as TMK: parity fails under 14-15
]


def check_generated(answer: bytes, kek: bytes, kek_scheme: str, lmk_scheme: str) -> bytes:
    """The clear TAK (key type 003), after checking both encryptions of it agree."""
    text = answer.decode()
    assert text[:2] == "00", text
    clear, rest = oracle.generated_key(text[2:], kek, kek_scheme, "003", lmk_scheme)
    assert rest == ""  # no check value
    return clear


def test_oracle_reproduces_the_published_keys() -> None:
    assert oracle.from_lmk("002", TMK) == TMK_CLEAR
    assert oracle.from_lmk("002", SINGLE_TMK) == SINGLE_TMK_CLEAR
    assert oracle.kcv(SINGLE_TMK_CLEAR) == "0035BBE340A4B763"
    # ThalesSim AE: key 0406FBB23A5214DF (under LMK) re-encrypted under the TMK above = 508949F68B4060A4.
    assert oracle.encrypt(TMK_CLEAR, "Z", SINGLE_TMK_CLEAR) == "508949F68B4060A4"


@pytest.mark.parametrize("request_", list(SUCCESSES))
def test_ha_generates_a_tak_under_the_tmk_and_the_lmk(host: Host, request_: str) -> None:
    check_generated(native(ha, host, request_.encode()), *SUCCESSES[request_])


def test_ha_keys_are_fresh_each_time(host: Host) -> None:
    first = check_generated(native(ha, host, f"{TMK};UU0".encode()), TMK_CLEAR, "U", "U")
    second = check_generated(native(ha, host, f"{TMK};UU0".encode()), TMK_CLEAR, "U", "U")
    assert first != second


@pytest.mark.parametrize(("request_", "code"), ERRORS)
def test_ha_error_codes(host: Host, request_: str, code: bytes) -> None:
    assert native(ha, host, request_.encode()) == code


@pytest.mark.wasm
def test_ha_component_answers_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    # Keys are random: successes agree in shape and each decrypts consistently; errors agree exactly.
    plugin = runtime.load(built_plugins / "HA.wasm")
    for request_, expected in SUCCESSES.items():
        wasm = in_component(runtime, plugin, request_.encode())
        ours = native(ha, host, request_.encode())
        assert len(wasm) == len(ours), request_
        assert check_generated(wasm, *expected) != check_generated(ours, *expected)  # two fresh keys
    for request_, _ in ERRORS:
        assert in_component(runtime, plugin, request_.encode()) == native(ha, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ha_over_tcp(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, f"HA{TMK};UU0".encode(), f"HA{EVEN_TMK}".encode())
    assert answers[0][:2] == b"HB"
    check_generated(answers[0][2:], TMK_CLEAR, "U", "U")
    assert answers[1] == b"HB10"


def test_in_pci_mode_ha_reads_its_tmk_as_key_type_80d() -> None:
    # PCI HSM compliance mode keeps TMKs under LMK 36-37 with variant 8 (key type 80D).
    tmk_80d = oracle.to_lmk("80D", "U", TMK_CLEAR)
    check_generated(native(ha, pci_host(), f"{tmk_80d};UU0".encode()), TMK_CLEAR, "U", "U")


def test_in_pci_mode_a_tmk_under_14_15_is_not_a_tmk() -> None:
    # The same TMK stored as 002 (a PVK in PCI mode) decrypts to garbage under 80D: parity fails.
    assert native(ha, pci_host(), f"{TMK};UU0".encode()) == b"10"
