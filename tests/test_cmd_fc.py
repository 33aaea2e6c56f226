"""FC — Translate a TMK, TPK or PVK from ZMK to LMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). Rows marked "derived" are answers
for published keys in a form no public test shows (the default scheme of a
double-length key, the 16 H check value), computed here with the oracle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fc
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
SINGLE_ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15
TPK_UNDER_SINGLE_ZMK = "35ED0C0EA7F7D0FA"  # clear 0B681FC20E62C734
TPK_UNDER_ZMK = "55FF9012A3854818"  # the same TPK under ZMK
TPK2_UNDER_ZMK = "XF7D53991678347EFB3026882F724E6EE"  # clear D3DCC7EA9BCB755D254620B376B3D007
TPK2_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")

TPK2_U_UNDER_ZMK = oracle.encrypt(ZMK_CLEAR, "U", TPK2_CLEAR)
TPK2_KCV = oracle.kcv(TPK2_CLEAR)
TPK_EVEN_UNDER_ZMK = oracle.encrypt(ZMK_CLEAR, "Z", bytes.fromhex("0B681FC20E62C735"))  # last byte even parity
ZEROS_UNDER_ZMK = oracle.encrypt(ZMK_CLEAR, "Z", bytes(8))

CASES = [
    (f"{SINGLE_ZMK}{TPK_UNDER_SINGLE_ZMK}", b"000406FBB23A5214DF0035BBE340A4B763"),
    (f"{ZMK}{TPK_UNDER_ZMK}", b"000406FBB23A5214DF0035BBE340A4B763"),
    (f"{ZMK}{TPK2_UNDER_ZMK};XU1", b"00U8463435FC4B4DAA0C49025272C29B12C070753"),
    (f"{ZMK}{TPK2_UNDER_ZMK}", f"00U8463435FC4B4DAA0C49025272C29B12C{TPK2_KCV}".encode()),  # derived: default U
    (f"{ZMK}{TPK2_U_UNDER_ZMK};0U0", f"00U8463435FC4B4DAA0C49025272C29B12C{TPK2_KCV}".encode()),  # derived: U under the ZMK
    (f"{ZMK}{TPK_UNDER_ZMK};0Z1%00", b"000406FBB23A5214DF0035BB"),
    (f"{ZMK}{TPK_UNDER_ZMK}0", b"000406FBB23A5214DF0035BBE340A4B763"),  # Atalla variant 0
    (f"{ZMK}{TPK2_UNDER_ZMK};XX0", b"00XD1E216E151D847386D8C31307254F3A0" + TPK2_KCV.encode()),  # derived: X under 14-15
    (f"{ZMK}{TPK_UNDER_ZMK};XU1", b"27"),  # a single-length key cannot be scheme U
    (f"{ZMK}{TPK_UNDER_ZMK};XQ1", b"26"),  # no scheme Q
    (f"{ZMK}{TPK_UNDER_ZMK};QZ1", b"26"),  # reserved field: 0 or a scheme letter
    (f"{ZMK}{TPK_UNDER_ZMK};XZ2", b"15"),  # check value type 2
    (f"{ZMK}{TPK_UNDER_ZMK};XZ", b"15"),  # check value type missing
    (f"{ZMK}{TPK_EVEN_UNDER_ZMK}", b"11"),  # received key not odd parity: refused
    (f"{ZMK}{ZEROS_UNDER_ZMK}", b"11"),  # all-zero key
    (f"0406FBB23A5214DF{TPK_UNDER_ZMK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"{ZMK}{TPK_UNDER_ZMK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZMK}{TPK_UNDER_ZMK}7", b"15"),  # Atalla variant 7 not supported
    (f"{ZMK}{TPK_UNDER_ZMK[:-1]}", b"15"),  # key field short
    (f"{ZMK}{TPK_UNDER_ZMK};XZ1Z", b"15"),  # trailing byte
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    single = oracle.from_lmk("000", SINGLE_ZMK)  # single DES: 3DES with K1 = K2 = K3
    tpk = oracle.decrypt(single, TPK_UNDER_SINGLE_ZMK)
    assert oracle.encrypt(ZMK_CLEAR, "Z", tpk) == TPK_UNDER_ZMK
    assert oracle.to_lmk("002", "Z", tpk) == "0406FBB23A5214DF"
    assert oracle.kcv(tpk) == "0035BBE340A4B763"
    # X under the ZMK is plain ECB; U under LMK 14-15 varies byte 8 by ^A6 / ^5A.
    tpk2 = oracle.decrypt(ZMK_CLEAR, TPK2_UNDER_ZMK)
    assert tpk2 == TPK2_CLEAR
    assert oracle.to_lmk("002", "U", tpk2) == "U8463435FC4B4DAA0C49025272C29B12C"
    assert oracle.to_lmk("002", "X", tpk2) == "XD1E216E151D847386D8C31307254F3A0"
    assert TPK2_KCV[:6] == "070753"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fc_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(fc, host, request_.encode()) == answer


@pytest.mark.wasm
def test_fc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FC{SINGLE_ZMK}{TPK_UNDER_SINGLE_ZMK}".encode(), f"FC{ZMK}".encode()) == [
        b"FD000406FBB23A5214DF0035BBE340A4B763",
        b"FD15",
    ]
