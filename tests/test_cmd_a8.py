"""A8 — Export a Key.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). Export/import round trips are in
tests/test_cmd_a6.py.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a0, a8
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
TPK = "7BB126F2BE631486"  # key type 002 under LMK 14-15
TPK2 = "U8463435FC4B4DAA0C49025272C29B12C"  # key type 002, clear D3DCC7EA9BCB755D254620B376B3D007
SINGLE_ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15
TMK = oracle.to_lmk("002", "U", bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070"))  # ZMK's clear value as a TMK (LMK 14-15)

CASES = [
    (f"002{ZMK}{TPK}Z", b"0016224FDAA779AFB31FFD3C"),
    (f"002{ZMK}{TPK2}U", b"00U2C62A23D001B97412950CD8BE66C7639070753"),
    (f"002{ZMK}{TPK2}X", b"00XF7D53991678347EFB3026882F724E6EE070753"),  # X of the same key: FC/FE vectors
    (f"002{ZMK}{TPK}Z0%00", b"0016224FDAA779AFB31FFD3C"),  # Atalla variant 0, LMK 00
    (f"002{SINGLE_ZMK}0406FBB23A5214DFZ", b"0035ED0C0EA7F7D0FA0035BB"),  # single-length ZMK: A6/FE vectors
    # The ; ZMK/TMK flag (docs/A8_exportKey.png): 0 the ZMK as without it, 1 a TMK of the same clear value.
    (f"002;0{ZMK}{TPK}Z", b"0016224FDAA779AFB31FFD3C"),
    (f"002;1{TMK}{TPK}Z", b"0016224FDAA779AFB31FFD3C"),
    (f"002;1{TMK}{TPK2}U%00", b"00U2C62A23D001B97412950CD8BE66C7639070753"),
    (f"002;1{ZMK}{TPK}Z", b"10"),  # a ZMK read as a TMK (LMK 14-15) fails parity
    (f"002;2{ZMK}{TPK}Z", b"15"),  # flag 0 or 1
    (f"002;{ZMK}{TPK}Z", b"15"),
    (f"002{ZMK}{TPK}U", b"27"),  # a single-length key cannot be scheme U
    (f"002{ZMK}{TPK}Q", b"26"),  # no scheme Q
    (f"002{SINGLE_ZMK}{TPK2}U", b"26"),  # scheme U needs a double- or triple-length ZMK
    (f"0ZZ{ZMK}{TPK}Z", b"04"),  # no key type 0ZZ
    (f"001{ZMK}{TPK}Z", b"11"),  # the TPK read as a ZPK (LMK 06-07) fails parity
    (f"0020406FBB23A5214DF{TPK}Z", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"002{ZMK}{TPK}Z%01", b"13"),  # LMK 01 not loaded
    (f"002{ZMK}{TPK}Z7", b"15"),  # Atalla variant 7 not supported
    (f"002{ZMK}{TPK}", b"15"),  # key scheme ZMK missing
    (f"002{ZMK}{TPK[:-1]}Z", b"15"),  # key field short
    (f"002{ZMK}{TPK}ZZ", b"15"),  # trailing byte
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    # ZMK U-scheme under 04-05 (byte 8 ^A6 / ^5A); TPK under 14-15 plain; the TPK under the clear ZMK.
    zmk = oracle.from_lmk("000", ZMK)
    tpk = oracle.from_lmk("002", TPK)
    assert oracle.odd_parity(tpk)
    assert oracle.encrypt(zmk, "Z", tpk) == "16224FDAA779AFB3"
    assert oracle.kcv(tpk, 6) == "1FFD3C"
    # Double-length TPK to scheme U under the ZMK (byte 8 of the ZMK ^A6 / ^5A).
    tpk2 = oracle.from_lmk("002", TPK2)
    assert tpk2.hex().upper() == "D3DCC7EA9BCB755D254620B376B3D007"
    assert oracle.encrypt(zmk, "U", tpk2) == "U2C62A23D001B97412950CD8BE66C7639"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_a8_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(a8, host, request_.encode()) == answer


@pytest.mark.wasm
def test_a8_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "A8.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(a8, host, request_.encode()), request_


@pytest.mark.wasm
async def test_a8_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"A8002{ZMK}{TPK}Z".encode(), f"A8002{ZMK}{TPK}".encode()) == [
        b"A90016224FDAA779AFB31FFD3C",
        b"A915",
    ]


# --------------------------------------------------------------------------- key blocks and TR-31 (issue 8)
# LMK 01: the public 3DES key-block test LMK, as on the ut-codec-payshield unit (tests/kb_oracle.py).
# Every TR-31 answer is read back with psec.tr31, an independent implementation.

KB = kb_oracle
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")


def split_answer(answer: bytes) -> tuple[str, str]:
    """(tagged block, 6 H check value) of a key-block A8 answer."""
    assert answer[:2] == b"00", answer
    return answer[2:-6].decode("ascii"), answer[-6:].decode("ascii")


def test_the_real_units_export_of_zpk_1() -> None:
    # REAL (test.js exportKeyEncode 2 / exportKeyDecode 2): A8FFF + ZMK-1 + ZPK-1 + S%01&N answered
    # S00072P0TB00N00FFE1D89671C973C7F0DAF91CB2EBF37949… (then random padding) and 4FE9FD.
    block, kcv = split_answer(native(a8, KB.make_host(), f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01&N".encode()))
    assert block[:49] == KB.ZPK_1_EXPORTED[:49] and kcv == "4FE9FD"
    assert KB.open_block(KB.ZMK_1_CLEAR, block) == ("00072P0TB00N00FF", KB.ZPK_1_CLEAR)
    # Without '&' the copy keeps exportability E.
    block, _ = split_answer(native(a8, KB.make_host(), f"001{KB.ZMK_1}{KB.ZPK_1}S%01".encode()))
    assert KB.open_block(KB.ZMK_1_CLEAR, block)[0] == "00072P0TB00E00FF"


@pytest.mark.parametrize(("tail", "version"), [("!A", "A"), ("!B", "B"), ("!C", "C"), ("", "B"), ("&N!B", "B")])
def test_tr31_exports_read_back_with_psec(tail: str, version: str) -> None:
    # aws-samples payshield/commands.py: A8FFF + KEK + key + R%nn!B on a key-block unit.
    block, kcv = split_answer(native(a8, KB.make_host(), f"FFF{KB.ZMK_1}{KB.ZPK_1}R%01{tail}".encode()))
    assert block[0] == "R" and kcv == "4FE9FD"
    header, clear = psec.tr31.unwrap(KB.ZMK_1_CLEAR, block[1:])
    assert clear == KB.ZPK_1_CLEAR
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == (version, "P0", "T", "B")
    assert header.exportability == ("N" if "&N" in tail else "E")


def test_an_aes_key_leaves_as_tr31_d_under_an_aes_zmk() -> None:
    host = KB.make_host()
    zmk = native(a0, host, b"0FFFS%02#K0A3B00E00")[2:-6].decode()
    key = native(a0, host, b"0FFFS%02#D0A1B00E00")[2:-6].decode()
    block, kcv = split_answer(native(a8, host, f"FFF{zmk}{key}R%02!D".encode()))
    header, clear = psec.tr31.unwrap(KB.open_block(KB.KA, zmk)[1], block[1:])
    assert header.version_id == "D" and header.algorithm == "A" and clear == KB.open_block(KB.KA, key)[1]
    assert kcv == KB.aes_kcv(clear)


def test_a_variant_lmk_key_leaves_as_tr31_with_the_header_fields(host: Host) -> None:
    # aws-samples payshield/commands.py, variant-LMK unit: A8 009 + ZMK + BDK + R%00&B0X00S00!B.
    bdk = oracle.to_lmk("009", "U", bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"))
    block, kcv = split_answer(native(a8, host, f"009{ZMK}{bdk}R%00&B0X00S00!B".encode()))
    header, clear = psec.tr31.unwrap(ZMK_CLEAR, block[1:])
    assert (header.version_id, header.key_usage, header.mode_of_use, header.exportability) == ("B", "B0", "X", "S")
    assert clear.hex().upper() == "0123456789ABCDEFFEDCBA9876543210" and kcv == oracle.kcv(clear, 6)


BLOCK_CASES = [
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}U%01", b"AA"),  # exportability E: only in a key block
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01&S", b"AA"),  # exportability may only tighten
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}R%01!D", b"BB"),  # version D needs an AES ZMK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}R%01!Q", b"BE"),
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01!B", b"15"),  # a version ID belongs to TR-31
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01&", b"15"),
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01X", b"15"),
    (f"FFF{KB.ZPK_1}{KB.ZPK_1}S%01", b"A6"),  # a ZPK is no ZMK
    (f"402{KB.ZMK_1}{KB.ZPK_1}S%01", b"A6"),  # a P0 block is no CVK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1[:-1]}0S%01", b"A4"),
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}S%00", b"A1"),  # LMK 00 is a variant LMK
    (f"FFF{KB.ZMK_1}{KB.ZPK_1}Q%01", b"26"),
    (f"001{ZMK}{oracle.to_lmk('001', 'U', bytes.fromhex('0123456789ABCDEFFEDCBA9876543210'))}R%00!B", b"A6"),  # no header fields
]


@pytest.mark.parametrize(("request_", "answer"), BLOCK_CASES)
def test_key_block_error_codes(request_: str, answer: bytes) -> None:
    assert native(a8, KB.make_host(), request_.encode()) == answer


@pytest.mark.wasm
def test_a8_component_exports_key_blocks_as_the_logic_does(built_plugins: Path) -> None:
    host = KB.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "A8.wasm")
        for request_, _ in BLOCK_CASES:
            assert in_component(runtime, plugin, request_.encode()) == native(a8, host, request_.encode()), request_
        block, kcv = split_answer(in_component(runtime, plugin, f"FFF{KB.ZMK_1}{KB.ZPK_1}R%01!B".encode()))
        assert psec.tr31.unwrap(KB.ZMK_1_CLEAR, block[1:])[1] == KB.ZPK_1_CLEAR and kcv == "4FE9FD"
        block, _ = split_answer(in_component(runtime, plugin, f"FFF{KB.ZMK_1}{KB.ZPK_1}S%01&N".encode()))
        assert block[:49] == KB.ZPK_1_EXPORTED[:49]
