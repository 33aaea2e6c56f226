"""A0 — Generate a key.

A generated key is random, so there is no published answer to compare with:
every answer is checked by decrypting it independently under the public test
LMK with tests/oracle.py (psec and the variant-LMK rules of
shared/reference/payshield.md, not hsmd's key code), then checking odd
parity, the 6 H check value, and (mode 1) that the key under the ZMK/TMK is
the same clear key. Input keys: ThalesSim's host-command tests
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb), keys
under the public test LMK whose clear values notes/research.md §2.14 verified.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a0
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
ZMK_CLEAR = "851A0D9D0B2A1602622AD0B0E9E6B070"
ZMK_SINGLE = "4ED06495741C280C"  # clear E951A1D6EF08EA15
ZMK_BARE32 = "FF43378ED5D85B1BC465BF000335FBF1"  # clear 570E3115102C9D6B70EA920B134AE594 (legacy 32 H, ECB)
TMK = "U8463435FC4B4DAA0C49025272C29B12C"  # key type 002, clear D3DCC7EA9BCB755D254620B376B3D007
TPK_SINGLE = "0406FBB23A5214DF"  # key type 002: fails the parity check under 04-05


def check_generated(answer: bytes, key_type: str, scheme: str) -> bytes:
    """Assert a mode-0 answer carries a good key of `key_type` under the LMK in `scheme`; return the clear key."""
    assert answer[:2] == b"00", answer
    under_lmk, kcv = oracle.split_keys(answer[2:].decode("ascii"), 1)
    assert oracle.scheme_of(under_lmk) == scheme
    clear = oracle.from_lmk(key_type, under_lmk)
    assert len(clear) == oracle.LENGTHS[scheme]
    assert oracle.odd_parity(clear)
    halves = {clear[i : i + 8] for i in range(0, len(clear), 8)}
    assert len(halves) == len(clear) // 8  # double/triple keys are never single keys in disguise
    assert kcv == oracle.kcv(clear, 6)
    return clear


KEY_TYPES = ["000", "001", "002", "003", "402", "009", "00A"]


@pytest.mark.parametrize("scheme", ["Z", "U", "T", "X", "Y"])
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_mode_0_generates_a_key_under_the_lmk(host: Host, key_type: str, scheme: str) -> None:
    check_generated(native(a0, host, f"0{key_type}{scheme}".encode()), key_type, scheme)


def test_generated_keys_differ(host: Host) -> None:
    assert native(a0, host, b"0002U") != native(a0, host, b"0002U")


def test_lower_case_key_type_and_scheme_are_read(host: Host) -> None:
    check_generated(native(a0, host, b"000au"), "00A", "U")


MODE_1 = [
    # (request, LMK scheme, scheme under the ZMK/TMK, clear ZMK/TMK)
    (f"1001U{ZMK}U", "U", "U", ZMK_CLEAR),
    (f"1001U{ZMK}X", "U", "X", ZMK_CLEAR),
    (f"1001X{ZMK}U", "X", "U", ZMK_CLEAR),
    (f"1402T{ZMK}T", "T", "T", ZMK_CLEAR),
    (f"1009Y{ZMK}Y", "Y", "Y", ZMK_CLEAR),
    (f"1003Z{ZMK}Z", "Z", "Z", ZMK_CLEAR),
    (f"1000U{ZMK}U0", "U", "U", ZMK_CLEAR),  # Atalla variant 0
    (f"100AU{ZMK}U%00", "U", "U", ZMK_CLEAR),
    (f"1001Z{ZMK_SINGLE}Z", "Z", "Z", "E951A1D6EF08EA15"),
    (f"1001X{ZMK_SINGLE}X", "X", "X", "E951A1D6EF08EA15"),
    (f"1001U{ZMK_BARE32}U", "U", "U", "570E3115102C9D6B70EA920B134AE594"),
    (f"1001U;0{ZMK}U", "U", "U", ZMK_CLEAR),  # newer layout, ZMK
    (f"1002U;1{TMK}U", "U", "U", "D3DCC7EA9BCB755D254620B376B3D007"),  # newer layout, TMK (type 002)
    (f"1003Z;1{TMK}Z", "Z", "Z", "D3DCC7EA9BCB755D254620B376B3D007"),
]


def check_mode_1(answer: bytes, key_type: str, lmk_scheme: str, kek_scheme: str, kek_clear: str) -> None:
    """Assert a mode-1 answer: a good key under the LMK, and the same clear key under the ZMK/TMK."""
    assert answer[:2] == b"00", answer
    under_lmk, under_kek, kcv = oracle.split_keys(answer[2:].decode("ascii"), 2)
    clear = check_generated(b"00" + (under_lmk + kcv).encode(), key_type, lmk_scheme)
    assert oracle.scheme_of(under_kek) == kek_scheme
    assert oracle.decrypt(bytes.fromhex(kek_clear), under_kek) == clear


@pytest.mark.parametrize(("request_", "lmk_scheme", "kek_scheme", "kek_clear"), MODE_1)
def test_mode_1_also_returns_the_key_under_the_zmk(host: Host, request_: str, lmk_scheme: str, kek_scheme: str, kek_clear: str) -> None:
    check_mode_1(native(a0, host, request_.encode()), request_[1:4], lmk_scheme, kek_scheme, kek_clear)


def test_clear_keys_of_the_input_zmks_agree_with_psec() -> None:
    # The oracle's own footing: the ZMKs/TMK above decrypt to the clear values notes/research.md §2.14 verified.
    assert oracle.from_lmk("000", ZMK).hex().upper() == ZMK_CLEAR
    assert oracle.from_lmk("000", ZMK_SINGLE).hex().upper() == "E951A1D6EF08EA15"
    assert oracle.from_lmk("000", ZMK_BARE32).hex().upper() == "570E3115102C9D6B70EA920B134AE594"
    assert oracle.from_lmk("002", TMK).hex().upper() == "D3DCC7EA9BCB755D254620B376B3D007"
    assert oracle.kcv(bytes.fromhex(ZMK_CLEAR), 6) == "E14F4E"


ERROR_CASES = [
    ("0FFFU", b"04"),  # no key type FFF
    ("0ZZZU", b"04"),
    ("0302U", b"04"),  # pair 02 with variant 3 is not in the table
    ("0002Q", b"26"),  # no scheme Q
    ("00020", b"26"),
    (f"1001U{ZMK}Q", b"26"),  # scheme under the ZMK
    (f"1001U{ZMK_SINGLE}U", b"26"),  # a single-length ZMK cannot protect with the U variants
    (f"1001U{ZMK}Z", b"27"),  # a double-length key cannot travel as scheme Z
    (f"1001Z{ZMK}U", b"27"),
    (f"1002U{TPK_SINGLE}Z", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"1002U{TMK}U", b"10"),
    (f"1001U;1{TMK}U", b"29"),  # a TMK may not carry a ZPK
    ("2002U", b"15"),  # mode 2
    ("A002U", b"15"),  # derive modes are not supported
    ("", b"15"),
    ("0", b"15"),
    ("000", b"15"),  # key type truncated
    ("0002", b"15"),  # no key scheme
    ("0002UX", b"15"),  # anything after the fields
    (f"0002U;0{ZMK}U", b"15"),  # mode 0 takes no ZMK
    ("1002U", b"15"),  # mode 1 without a ZMK
    (f"1002U{ZMK}", b"15"),  # no scheme under the ZMK
    (f"1002U{ZMK[:-1]}U", b"15"),  # ZMK truncated
    (f"1002U{ZMK[:-1]}GU", b"15"),  # ZMK not hex
    (f"1002U;2{ZMK}U", b"15"),  # ZMK/TMK flag 2
    (f"1002U{ZMK}U7", b"15"),  # Atalla variant 7 not supported
    ("0002U%01", b"13"),  # LMK 01 not loaded
    ("0002U%0A", b"13"),
    (f"1002U{ZMK}U%01", b"13"),
]


@pytest.mark.parametrize(("request_", "answer"), ERROR_CASES)
def test_a0_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(a0, host, request_.encode()) == answer


CASES = ERROR_CASES  # the answers the component must reproduce byte for byte (success answers are random)


@pytest.mark.wasm
def test_a0_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "A0.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(a0, host, request_.encode()), request_


@pytest.mark.wasm
def test_a0_component_generates_good_keys(runtime: Runtime, built_plugins: Path) -> None:
    plugin = runtime.load(built_plugins / "A0.wasm")
    for key_type in KEY_TYPES:
        for scheme in ("Z", "U", "T", "X", "Y"):
            check_generated(in_component(runtime, plugin, f"0{key_type}{scheme}".encode()), key_type, scheme)
    for request_, lmk_scheme, kek_scheme, kek_clear in MODE_1:
        check_mode_1(in_component(runtime, plugin, request_.encode()), request_[1:4], lmk_scheme, kek_scheme, kek_clear)


@pytest.mark.wasm
async def test_a0_over_tcp(built_plugins: Path) -> None:
    generated, refused = await exchange(built_plugins, f"A01001U{ZMK}U".encode(), b"A00FFFU")
    assert generated[:2] == b"A1"
    check_mode_1(generated[2:], "001", "U", "U", ZMK_CLEAR)
    assert refused == b"A104"


def test_in_pci_mode_the_tmk_flag_means_key_type_80d() -> None:
    from hsmd.host import TEST_LMK, LmkSet
    from hsmd.host.key_types import KeyTypeTable

    pci = Host(LmkSet({0: TEST_LMK}), "0007-E000", KeyTypeTable("pci"))
    tmk_clear = "D3DCC7EA9BCB755D254620B376B3D007"
    tmk_80d = oracle.to_lmk("80D", "U", bytes.fromhex(tmk_clear))
    # In PCI mode a TPK is 70D; the TMK (80D) carries it, read with the TMK flag of the ; layout.
    check_mode_1(native(a0, pci, f"170DU;1{tmk_80d}U".encode()), "70D", "U", "U", tmk_clear)
    # The same TMK stored as 002 is a PVK in PCI mode: read as 80D its parity fails.
    assert native(a0, pci, f"170DU;1{TMK}U".encode()) == b"10"
