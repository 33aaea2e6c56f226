"""A6 — Import a Key.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). The round trips
export with A8 and import with A6 keys put under the LMK here with the oracle
(the variant rules of shared/reference/payshield.md, "Variant LMK").
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a6, a8
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
ZMK2 = "U71979DEB8587E2734F1E99D5DCAEF9AC"
ZPK2_UNDER_ZMK2 = "U482C4E722BB0CF1845E1E5BD16310119"  # clear 1C25CDFE23D931075D2602B6D9F26E16
ZPK_UNDER_ZMK = "2B930A07119F93A8"  # clear 13F10E5D868A529E
SINGLE_ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15
TPK_UNDER_SINGLE_ZMK = "35ED0C0EA7F7D0FA"  # clear 0B681FC20E62C734

CASES = [
    (f"001{ZMK2}{ZPK2_UNDER_ZMK2}U", b"00U0E07CDC0161A0DE3B5AA44DF227EC9DEABDEBC"),
    (f"001{ZMK}{ZPK_UNDER_ZMK}Z", b"00BAB32D775A38E4AB73936E"),
    (f"002{SINGLE_ZMK}{TPK_UNDER_SINGLE_ZMK}Z", b"000406FBB23A5214DF0035BB"),  # a single-length ZMK
    (f"001{ZMK}{ZPK_UNDER_ZMK}Z0%00", b"00BAB32D775A38E4AB73936E"),  # Atalla variant 0, LMK 00
    (f"001{ZMK}{ZPK_UNDER_ZMK}z", b"00BAB32D775A38E4AB73936E"),  # scheme letters read case-blind
    (f"001{ZMK}{ZPK_UNDER_ZMK}X", b"27"),  # a single-length key cannot be scheme X
    (f"001{ZMK}{ZPK_UNDER_ZMK}Q", b"26"),  # no scheme Q
    (f"0ZZ{ZMK}{ZPK_UNDER_ZMK}Z", b"04"),  # no key type 0ZZ
    (f"70D{ZMK}{ZPK_UNDER_ZMK}Z", b"04"),  # 70D is a PCI-mode key type; this host runs the non-PCI table
    (f"001{ZMK}{ZPK_UNDER_ZMK}Z%01", b"13"),  # LMK 01 not loaded
    (f"001{ZMK}{ZPK_UNDER_ZMK}Z7", b"15"),  # Atalla variant 7 not supported
    (f"001{ZMK}{ZPK_UNDER_ZMK}", b"15"),  # key scheme LMK missing
    (f"001{ZMK}{ZPK_UNDER_ZMK[:-1]}Z", b"15"),  # key field short
    (f"001{ZMK}{ZPK_UNDER_ZMK}Z;", b"15"),  # trailing byte
    (f"0010406FBB23A5214DF{ZPK_UNDER_ZMK}Z", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"001{ZMK}{oracle.encrypt(ZMK_CLEAR, 'Z', bytes(8))}Z", b"11"),  # all-zero key
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    # U-scheme key under a U-scheme ZMK: the ZMK's halves under 04-05 ^A6/^5A at byte 8, the key's under the ZMK likewise.
    zmk = oracle.from_lmk("000", ZMK2)
    zpk = oracle.decrypt(zmk, ZPK2_UNDER_ZMK2)
    assert zpk.hex().upper() == "1C25CDFE23D931075D2602B6D9F26E16"
    assert oracle.to_lmk("001", "U", zpk) == "U0E07CDC0161A0DE3B5AA44DF227EC9DE"
    assert oracle.kcv(zpk, 6) == "ABDEBC"
    # Single-length ZMK (single DES = 3DES with K1=K2=K3), TPK to LMK 14-15.
    single = bytes.fromhex("E951A1D6EF08EA15")
    assert oracle.to_lmk("000", "Z", single) == SINGLE_ZMK
    tpk = oracle.decrypt(single, TPK_UNDER_SINGLE_ZMK)
    assert oracle.to_lmk("002", "Z", tpk) == "0406FBB23A5214DF"
    assert oracle.kcv(tpk, 6) == "0035BB"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_a6_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(a6, host, request_.encode()) == answer


def test_key_with_even_parity_is_imported_with_advice_01(host: Host) -> None:
    # 13F10E5D868A529F (last byte flipped to even parity) under the clear ZMK, computed with the oracle.
    even = oracle.encrypt(ZMK_CLEAR, "Z", bytes.fromhex("13F10E5D868A529F"))
    assert native(a6, host, f"001{ZMK}{even}Z".encode()) == b"01BAB32D775A38E4AB73936E"


ROUND_TRIPS = [
    # key type, clear key (odd parity), scheme under the LMK, scheme under the ZMK
    ("001", "13F10E5D868A529E", "Z", "Z"),
    ("001", "1C25CDFE23D931075D2602B6D9F26E16", "U", "U"),
    ("002", "D3DCC7EA9BCB755D254620B376B3D007", "U", "X"),
    ("402", "0123456789ABCDEFFEDCBA9876543210", "U", "U"),  # type variant 4 on 14-15
    ("002", "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567", "T", "T"),
    ("00A", "C226AB6E8A4C941F91CEBCE96BF7C498", "X", "U"),
    ("001", "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567", "Y", "Y"),
]


@pytest.mark.parametrize(("key_type", "clear_hex", "lmk_scheme", "zmk_scheme"), ROUND_TRIPS)
def test_a8_export_then_a6_import_returns_the_same_key(host: Host, key_type: str, clear_hex: str, lmk_scheme: str, zmk_scheme: str) -> None:
    clear = bytes.fromhex(clear_hex)
    assert oracle.odd_parity(clear)
    under_lmk_text = oracle.to_lmk(key_type, lmk_scheme, clear)
    kcv = oracle.kcv(clear, 6).encode()

    exported = native(a8, host, f"{key_type}{ZMK}{under_lmk_text}{zmk_scheme}".encode())
    assert exported == b"00" + oracle.encrypt(ZMK_CLEAR, zmk_scheme, clear).encode() + kcv
    under_zmk = exported[2:-6].decode()

    imported = native(a6, host, f"{key_type}{ZMK}{under_zmk}{lmk_scheme}".encode())
    assert imported == b"00" + under_lmk_text.encode() + kcv


@pytest.mark.wasm
def test_a6_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "A6.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(a6, host, request_.encode()), request_


@pytest.mark.wasm
async def test_a6_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"A6001{ZMK}{ZPK_UNDER_ZMK}Z".encode(), f"A6001{ZMK}".encode()) == [
        b"A700BAB32D775A38E4AB73936E",
        b"A715",
    ]


# --------------------------------------------------------------------------- key blocks (issue 8)
# LMK 01: the public 3DES key-block test LMK, as on the ut-codec-payshield unit (tests/kb_oracle.py).

KB = kb_oracle


def test_the_real_units_import_of_zpk_1() -> None:
    # REAL (test.js importKeyEncode 2 / importKeyDecode 2): A6FFF + ZMK-1 + ZPK-1 under ZMK-1 + S%01 answered
    # S00072P0TB00N0001EA421618B34F5FA1A77F7CF6480111B9… (the rest is random padding) with check value 4FE9FD.
    answer = native(a6, KB.make_host(), f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%01".encode())
    assert answer[:51] == b"00S00072P0TB00N0001EA421618B34F5FA1A77F7CF6480111B9"
    assert answer[-6:] == b"4FE9FD"
    assert KB.open_block(KB.K3, answer[2:-6].decode()) == ("00072P0TB00N0001", KB.ZPK_1_CLEAR)


def test_the_real_units_export_of_zpk_1_imports_back() -> None:
    # REAL (test.js exportKeyDecode 2): the block A8 returned under ZMK-1 holds ZPK-1 (4FE9FD); a ZPK key type suits it.
    answer = native(a6, KB.make_host(), f"001{KB.ZMK_1}{KB.ZPK_1_EXPORTED}S%01".encode())
    assert answer[:2] == b"00" and answer[-6:] == b"4FE9FD"


@pytest.mark.parametrize("version", ["A", "B", "C"])
def test_a_tr31_block_made_by_psec_imports_under_a_key_block_zmk(version: str) -> None:
    block = psec.tr31.wrap(KB.ZMK_1_CLEAR, f"{version}0000P0TB00E0000", KB.ZPK_1_CLEAR)
    answer = native(a6, KB.make_host(), f"FFF{KB.ZMK_1}R{block}S%01".encode())
    assert answer[:2] == b"00" and answer[-6:] == b"4FE9FD"
    assert KB.open_block(KB.K3, answer[2:-6].decode()) == ("00072P0TB00E0001", KB.ZPK_1_CLEAR)


def test_a_tr31_block_imports_under_a_variant_zmk_into_a_variant_lmk(host: Host) -> None:
    # A variant-LMK unit takes TR-31 as well: the key type says where it goes, the scheme how.
    block = psec.tr31.wrap(ZMK_CLEAR, "B0000P0TB00E0000", KB.ZPK_1_CLEAR)
    answer = native(a6, host, f"001{ZMK}R{block}U".encode())
    assert answer[:2] == b"00" and answer[-6:] == b"4FE9FD"
    assert oracle.from_lmk("001", answer[2:-6].decode()) == KB.ZPK_1_CLEAR


BLOCK_CASES = [
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1[:-1]}0S%01", b"A4"),  # tampered
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%00", b"A1"),  # LMK 00 is a variant LMK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}U%01", b"A1"),  # a key-block LMK stores key blocks only
    (f"402{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%01", b"A6"),  # a P0 block is no CVK
    (f"FFF{KB.ZPK_1}{KB.ZPK_1_UNDER_ZMK_1}S%01", b"A6"),  # a ZPK is no ZMK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1[:40]}S%01", b"15"),  # block shorter than its length field says
    (f"FFF{KB.ZMK_1}S0007XP0TB00N00FFS%01", b"15"),  # length field not digits
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%02", b"A1"),  # a 3DES-LMK block under the AES LMK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%03", b"13"),
]


@pytest.mark.parametrize(("request_", "answer"), BLOCK_CASES)
def test_key_block_error_codes(request_: str, answer: bytes) -> None:
    assert native(a6, KB.make_host(), request_.encode()) == answer


@pytest.mark.wasm
def test_a6_component_imports_key_blocks_as_the_logic_does(built_plugins: Path) -> None:
    host = KB.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "A6.wasm")
        for request_, _ in BLOCK_CASES:
            assert in_component(runtime, plugin, request_.encode()) == native(a6, host, request_.encode()), request_
        answer = in_component(runtime, plugin, f"FFF{KB.ZMK_1}{KB.ZPK_1_UNDER_ZMK_1}S%01".encode())
        assert answer[:51] == b"00S00072P0TB00N0001EA421618B34F5FA1A77F7CF6480111B9" and answer[-6:] == b"4FE9FD"
        block = psec.tr31.wrap(KB.ZMK_1_CLEAR, "B0000P0TB00E0000", KB.ZPK_1_CLEAR)
        assert in_component(runtime, plugin, f"FFF{KB.ZMK_1}R{block}S%01".encode())[-6:] == b"4FE9FD"
