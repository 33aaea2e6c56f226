"""FE — Translate a TMK, TPK or PVK from LMK to ZMK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). The default-scheme row for a
double-length key reuses ThalesSim's A8 vector for the same key in scheme U;
its 16 H check value is computed here with the oracle (ThalesSim publishes 6 H).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fe
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
SINGLE_ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15
TPK = "0406FBB23A5214DF"  # key type 002, clear 0B681FC20E62C734
TPK2 = "U8463435FC4B4DAA0C49025272C29B12C"  # key type 002, clear D3DCC7EA9BCB755D254620B376B3D007
TPK2_KCV = oracle.kcv(bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007"))

CASES = [
    (f"{SINGLE_ZMK}{TPK}", b"0035ED0C0EA7F7D0FA0035BBE340A4B763"),
    (f"{ZMK}{TPK2};XX1", b"00XF7D53991678347EFB3026882F724E6EE070753"),
    (f"{ZMK}{TPK2}", f"00U2C62A23D001B97412950CD8BE66C7639{TPK2_KCV}".encode()),  # default U for a double-length key
    (f"{ZMK}{TPK2};UU1", b"00U2C62A23D001B97412950CD8BE66C7639070753"),
    (f"{ZMK}{TPK};Z01%00", b"0055FF9012A3854818" + b"0035BB"),  # the FC vector's TPK under the double ZMK
    (f"{ZMK}{TPK}0", b"0055FF9012A3854818" + b"0035BBE340A4B763"),  # Atalla variant 0
    (f"{ZMK}{TPK};UU1", b"27"),  # a single-length key cannot be scheme U
    (f"{ZMK}{TPK};QZ1", b"26"),  # no scheme Q
    (f"{ZMK}{TPK};ZQ1", b"26"),  # key scheme LMK: 0 or a scheme letter
    (f"{SINGLE_ZMK}{TPK2};UU1", b"26"),  # scheme U needs a double- or triple-length ZMK
    (f"{ZMK}{TPK};ZZ2", b"15"),  # check value type 2
    (f"{ZMK}ACE9B8A0BE50C09B", b"11"),  # a ZMK (04-05) given as TPK: parity fails under 14-15
    (f"{TPK}{TPK}", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"{ZMK}{TPK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZMK}{TPK}7", b"15"),  # Atalla variant 7 not supported
    (f"{ZMK}{TPK[:-1]}", b"15"),  # key field short
    (f"{ZMK}{TPK};ZZ1;", b"15"),  # trailing byte
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    single = oracle.from_lmk("000", SINGLE_ZMK)  # single DES: 3DES with K1 = K2 = K3
    tpk = oracle.from_lmk("002", TPK)
    assert oracle.encrypt(single, "Z", tpk) == "35ED0C0EA7F7D0FA"
    assert oracle.encrypt(ZMK_CLEAR, "Z", tpk) == "55FF9012A3854818"
    tpk2 = oracle.from_lmk("002", TPK2)
    assert oracle.encrypt(ZMK_CLEAR, "X", tpk2) == "XF7D53991678347EFB3026882F724E6EE"
    assert TPK2_KCV[:6] == "070753"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fe_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(fe, host, request_.encode()) == answer


@pytest.mark.wasm
def test_fe_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FE.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fe, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fe_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FE{SINGLE_ZMK}{TPK}".encode(), f"FE{ZMK}".encode()) == [
        b"FF0035ED0C0EA7F7D0FA0035BBE340A4B763",
        b"FF15",
    ]
