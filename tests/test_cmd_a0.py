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

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a0
from tests import kb_oracle, oracle
from tests.commands import in_component, native, pci_host
from tests.conftest import make_runtime
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
    pci = pci_host()
    tmk_clear = "D3DCC7EA9BCB755D254620B376B3D007"
    tmk_80d = oracle.to_lmk("80D", "U", bytes.fromhex(tmk_clear))
    # In PCI mode a TPK is 70D; the TMK (80D) carries it, read with the TMK flag of the ; layout.
    check_mode_1(native(a0, pci, f"170DU;1{tmk_80d}U".encode()), "70D", "U", "U", tmk_clear)
    # The same TMK stored as 002 is a PVK in PCI mode: read as 80D its parity fails.
    assert native(a0, pci, f"170DU;1{TMK}U".encode()) == b"10"


# --------------------------------------------------------------------------- key-block form (issue 8)
# LMK 01 is the public 3DES key-block test LMK, 02 the AES one (tests/kb_oracle.make_host). Each answer is
# read back with the independent block reader of tests/kb_oracle.py (or psec.tr31 for TR-31 copies).
# Layouts: ut-codec-payshield test/config/test.js (real unit: A00FFFS%01#K0T2B00E00 and mode 1
# A01FFFS0 + ZMK + S%01#K0T2B00E00), aws-samples payshield/commands.py (A00FFFS#P0T2N00E00).


def check_block_answer(answer: bytes, lmk: bytes, header: str, copies: int = 1) -> list[str]:
    """Assert `copies` key fields and a 6 H check value; return the fields (the first under `lmk`, with `header`)."""
    assert answer[:2] == b"00", answer
    text, fields = answer[2:].decode("ascii"), []
    for _ in range(copies):
        length = 1 + int(text[2:6])
        fields.append(text[:length])
        text = text[length:]
    opened_header, clear = kb_oracle.open_block(lmk, fields[0])
    assert opened_header == header
    expected = kb_oracle.aes_kcv(clear) if header[7] == "A" else oracle.kcv(clear, 6)
    assert text == expected
    return fields


@pytest.mark.parametrize(
    ("request_", "lmk", "header"),
    [
        ("0FFFS%01#K0T2B00E00", kb_oracle.K3, "00072K0TB00E0001"),  # the real unit's request
        ("0FFFS%01#P0T2N00E00", kb_oracle.K3, "00072P0TN00E0001"),
        ("0FFFS%01#V2T3V01S00", kb_oracle.K3, "00088V2TV01S0001"),  # triple length
        ("0FFFS%02#D0A3B00E00", kb_oracle.KA, "10128D0AB00E0002"),  # AES-256 under the AES LMK: CMAC check value
        ("0FFFS%02#M6A1C00N00", kb_oracle.KA, "10096M6AC00N0002"),
        ("0FFFS%01#P0T2B00E01KS0CABCDEFGH", kb_oracle.K3, "00088P0TB00E0201KS0CABCDEFGHPB04"),  # PB pads to 8
        ("0fffS%01#C0T2G00N00", kb_oracle.K3, "00072C0TG00N0001"),
    ],
)
def test_key_block_mode_0_generates_a_block_under_the_lmk(request_: str, lmk: bytes, header: str) -> None:
    check_block_answer(native(a0, kb_oracle.make_host(), request_.encode()), lmk, header)


def test_the_real_units_mode_1_request_and_its_tmk_flag() -> None:
    # REAL request (test.js generateKeyEncode 3): K0 generated and sent under ZMK-1, exportability E kept.
    answer = native(a0, kb_oracle.make_host(), f"1FFFS0{kb_oracle.ZMK_1}S%01#K0T2B00E00".encode())
    fields = check_block_answer(answer, kb_oracle.K3, "00072K0TB00E0001", 2)
    assert kb_oracle.open_block(kb_oracle.ZMK_1_CLEAR, fields[1])[0] == "00072K0TB00E00FF"
    # Flag 1: the K0 block read as a TMK (key type 002 in the non-PCI table; usage K0 suits it).
    answer = native(a0, kb_oracle.make_host(), f"1FFFS1{kb_oracle.ZMK_1}S%01#P0T2B00E00".encode())
    check_block_answer(answer, kb_oracle.K3, "00072P0TB00E0001", 2)


def test_key_block_request_without_lmk_identifier_uses_the_default_lmk() -> None:
    # aws-samples' request carries no %nn: the unit's default LMK (here 01) takes it.
    check_block_answer(native(a0, kb_oracle.make_host(default=1), b"0FFFS#P0T2N00E00"), kb_oracle.K3, "00072P0TN00E0001")


@pytest.mark.parametrize(
    ("request_", "export_header"),
    [
        (f"1FFFS0{kb_oracle.ZMK_1}S%01#P0T2B00E00", "00072P0TB00E00FF"),  # the real unit's layout: flag 0, no ';'
        (f"1FFFS;0{kb_oracle.ZMK_1}S%01#P0T2B00E00&N", "00072P0TB00N00FF"),  # modified exportability of the copy
        (f"1FFFS{kb_oracle.ZMK_1}S%01#P0T2B00E00", "00072P0TB00E00FF"),  # no flag: a ZMK
    ],
)
def test_key_block_mode_1_also_returns_a_thales_block_under_the_zmk(request_: str, export_header: str) -> None:
    answer = native(a0, kb_oracle.make_host(), request_.encode())
    fields = check_block_answer(answer, kb_oracle.K3, "00072P0TB00E0001", 2)
    header, clear = kb_oracle.open_block(kb_oracle.ZMK_1_CLEAR, fields[1])
    assert header == export_header
    assert clear == kb_oracle.open_block(kb_oracle.K3, fields[0])[1]


@pytest.mark.parametrize("version", ["A", "B", "C", ""])
def test_key_block_mode_1_exports_tr31_that_psec_reads(version: str) -> None:
    bang = f"!{version}" if version else ""
    answer = native(a0, kb_oracle.make_host(), f"1FFFS0{kb_oracle.ZMK_1}R%01#P0T2B00E00{bang}".encode())
    fields = check_block_answer(answer, kb_oracle.K3, "00072P0TB00E0001", 2)
    assert fields[1][0] == "R"
    header, clear = psec.tr31.unwrap(kb_oracle.ZMK_1_CLEAR, fields[1][1:])
    assert header.version_id == (version or "B") and header.key_usage == "P0"  # B: hsmd's default under a TDES KEK
    assert clear == kb_oracle.open_block(kb_oracle.K3, fields[0])[1]


BLOCK_ERROR_CASES = [
    ("0FFFS%01#P0T2C00E00", b"A8"),  # a PIN key cannot have mode C
    ("0FFFS%01#ZZT2B00E00", b"A6"),
    ("0FFFS%01#P0X9B00E00", b"A7"),
    ("0FFFS%01#P0A3B00E00", b"A7"),  # no AES key under the 3DES key-block LMK
    ("0FFFS%01#P0T2B00Q00", b"AA"),
    ("0FFFS%01#P0T2B00EX1", b"AB"),
    ("0FFFS%01#P0T2B00E01KS02", b"AC"),
    ("0FFFS%00#P0T2B00E00", b"A1"),  # LMK 00 is a variant LMK
    ("0FFFS#P0T2B00E00", b"A1"),  # …and the default one
    ("0FFFS%03#P0T2B00E00", b"13"),
    ("0FFFS%01", b"15"),  # no '#' fields
    ("0FFFS%01#P0T2B00E0", b"15"),
    ("0FFFS%01#P0T2B00E00&N", b"15"),  # '&' belongs to mode 1
    (f"1FFFS0{kb_oracle.ZMK_1}S%01#P0T2B00N00", b"AA"),  # exportability N: no copy under the ZMK
    (f"1FFFS0{kb_oracle.ZMK_1}U%01#P0T2B00E00", b"AA"),  # E: only in a key block
    (f"1FFFS0{kb_oracle.ZMK_1}S%01#P0T2B00E00&S", b"AA"),  # exportability cannot loosen
    (f"1FFFS0{kb_oracle.ZMK_1}S%01#P0T2B00E00!B", b"15"),  # a version ID needs scheme R
    (f"1FFFS0{kb_oracle.ZMK_1}R%01#P0T2B00E00!D", b"BB"),  # version D needs an AES ZMK
    (f"1FFFS0{kb_oracle.ZPK_1}S%01#P0T2B00E00", b"A6"),  # a ZPK is no ZMK
    (f"1FFFS0{kb_oracle.ZMK_1[:-1]}0S%01#P0T2B00E00", b"A4"),  # tampered ZMK
    (f"1FFFS0{kb_oracle.ZMK_1}Q%01#P0T2B00E00", b"26"),
]


@pytest.mark.parametrize(("request_", "answer"), BLOCK_ERROR_CASES)
def test_key_block_error_codes(request_: str, answer: bytes) -> None:
    assert native(a0, kb_oracle.make_host(), request_.encode()) == answer


@pytest.mark.wasm
def test_a0_component_answers_key_block_requests_as_the_logic_does(built_plugins: Path) -> None:
    host = kb_oracle.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "A0.wasm")
        for request_, _ in BLOCK_ERROR_CASES:
            assert in_component(runtime, plugin, request_.encode()) == native(a0, host, request_.encode()), request_
        check_block_answer(in_component(runtime, plugin, b"0FFFS%02#D0A3B00E00"), kb_oracle.KA, "10128D0AB00E0002")
        answer = in_component(runtime, plugin, f"1FFFS0{kb_oracle.ZMK_1}R%01#P0T2B00E00!A".encode())
        fields = check_block_answer(answer, kb_oracle.K3, "00072P0TB00E0001", 2)
        assert psec.tr31.unwrap(kb_oracle.ZMK_1_CLEAR, fields[1][1:])[1] == kb_oracle.open_block(kb_oracle.K3, fields[0])[1]


def test_a_variant_key_also_leaves_as_tr31(host: Host) -> None:
    """ut-codec-payshield docs/A0_generateKey.png, "generating a variant key, and exporting to TR-31
    format": key scheme ZMK R, then `&` header fields and `!` version after the LMK identifier. psec
    opens the block under the ZMK's clear value; it holds the key the LMK copy holds."""
    answer = native(a0, host, f"1001U{ZMK}R%00&P0E00N00!B".encode())
    assert answer[:2] == b"00"
    under_lmk, rest = answer[2:35].decode(), answer[35:].decode()
    block, kcv = rest[:-6], rest[-6:]
    assert block[0] == "R"
    header, clear = psec.tr31.unwrap(bytes.fromhex(ZMK_CLEAR), block[1:])
    assert (header.version_id, header.key_usage, header.mode_of_use, header.exportability) == ("B", "P0", "E", "N")
    assert clear == oracle.from_lmk("001", under_lmk) and kcv == oracle.kcv(clear, 6)
    assert native(a0, host, f"1001U{ZMK}R%00!B".encode()) == b"A6"  # no header fields: no key usage (as A8)
    assert native(a0, host, f"1001U{ZMK}U%00&P0E00N00".encode()) == b"15"  # header fields need scheme R
