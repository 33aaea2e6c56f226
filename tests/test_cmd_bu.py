"""BU — Generate a Key Check Value.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). The `;` key type and `; 00 1`
blocks follow the request layout of ut-codec-payshield's
generateKeyCheckValueEncode tests; their answers here are the same keys'
check values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a0, bu
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # key type 002, clear 0B681FC20E62C734
ZMK = "ACE9B8A0BE50C09B"  # key type 000, clear 0B38AE52E32FEA1F
ZMK2 = "U93CB819F8FEE4F78BF9C4CDD84750DB1"  # key type 000, clear BA134F1680987CA7AB4A2A01B3E3F1BF
ZPK2 = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # key type 001, clear C7152C20BC2C830EA7EC9E8334ABE3FE

CASES = [
    (f"020{TPK}", b"000035BBE340A4B763"),
    (f"000{ZMK}", b"004BD5E2482582C2C4"),
    (f"001{ZMK2}", b"00B70AD25C94548822"),
    (f"011{ZPK2}", b"006F1E3F74F826B7EB"),
    (f"020{TPK};001", b"000035BB"),  # check value type 1: 6 H
    (f"020{TPK};000%00", b"000035BBE340A4B763"),  # check value type 0, LMK 00
    (f"FF0{TPK};002", b"000035BBE340A4B763"),  # key type after FF
    (f"FF1{ZPK2};001;001", b"006F1E3F"),  # key type after FF, then check value type 1
    (f"ff1{ZMK2};000", b"00B70AD25C94548822"),
    (f"021{TPK}", b"05"),  # length flag double, key single
    (f"000{ZMK2}", b"05"),  # length flag single, key double
    (f"002{ZMK2}", b"05"),  # length flag triple, key double
    (f"023{TPK}", b"05"),  # no length flag 3
    (f"030{TPK}", b"10"),  # the TPK read as a TAK (LMK 16-17) fails parity
    (f"010{TPK}", b"10"),  # the TPK read as a ZPK (LMK 06-07) fails parity
    (f"ZZ0{TPK}", b"15"),  # no key type code ZZ
    (f"0F0{TPK}", b"15"),  # 0F is no LMK pair code
    (f"FF0{TPK}", b"15"),  # FF without '; key type'
    (f"FF0{TPK};0ZZ", b"04"),  # no key type 0ZZ
    (f"FF0{TPK};70D", b"04"),  # 70D is a PCI-mode key type; this host runs the non-PCI table
    (f"020{TPK};002", b"15"),  # check value type 2
    (f"020{TPK};00", b"15"),  # check value type missing
    (f"020{TPK}%01", b"13"),  # LMK 01 not loaded
    (f"020{TPK[:-1]}", b"15"),  # key field short
    (f"020{TPK}0", b"15"),  # trailing byte
    ("02", b"15"),  # length flag missing
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    zmk = oracle.from_lmk("000", ZMK)
    assert zmk.hex().upper() == "0B38AE52E32FEA1F"
    assert oracle.kcv(zmk) == "4BD5E2482582C2C4"
    zmk2 = oracle.from_lmk("000", ZMK2)
    assert zmk2.hex().upper() == "BA134F1680987CA7AB4A2A01B3E3F1BF"
    assert oracle.kcv(zmk2) == "B70AD25C94548822"
    zpk2 = oracle.from_lmk("001", ZPK2)
    assert oracle.kcv(zpk2) == "6F1E3F74F826B7EB"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_bu_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(bu, host, request_.encode()) == answer


@pytest.mark.wasm
def test_bu_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "BU.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(bu, host, request_.encode()), request_


@pytest.mark.wasm
async def test_bu_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"BU020{TPK}".encode(), f"BU021{TPK}".encode()) == [
        b"BV000035BBE340A4B763",
        b"BV05",
    ]


# --------------------------------------------------------------------------- key blocks (issue 8)
# LMK 01: the public 3DES key-block test LMK, 02 the AES one (tests/kb_oracle.py).

KB = kb_oracle
BLOCK_CASES = [
    # REAL (test.js generateKeyCheckValueEncode 3 / Decode 2): BUFFF + ZMK-1 + ;FFF;001 answered 2356F2.
    (f"FFF{KB.ZMK_1};FFF;001%01", b"002356F2"),
    (f"FFF{KB.ZMK_1};FFF;000%01", b"00" + oracle.kcv(KB.ZMK_1_CLEAR).encode()),
    (f"01F{KB.ZPK_1};001%01", b"004FE9FD"),  # legacy code 01 (a ZPK): a P0 block suits it
    (f"fff{KB.ZPK_1};FFF%01", b"00" + oracle.kcv(KB.ZPK_1_CLEAR).encode()),
    (f"FFF{KB.AES_LMK_BDK};FFF;001%02", b"00" + oracle.kcv(bytes(range(16)), 6).encode()),  # BP-Tools: a TDES BDK
    (f"FF1{KB.ZMK_1};FFF%01", b"05"),  # a key block goes with length flag F
    ("FFFU1457FF6ADF6250C66C368416B4C9D383;000", b"05"),  # and flag F with a key block only
    (f"02F{KB.ZMK_1};001%01", b"002356F2"),  # legacy code 02 (TMK/TPK/PVK): a K0 block suits a TMK
    (f"03F{KB.ZMK_1}%01", b"A6"),  # code 03 (a TAK): a K0 block is none
    (f"FFF{KB.ZMK_1};FFF", b"A1"),  # the default LMK 00 is a variant LMK
    (f"FFF{KB.ZMK_1[:-1]}0;FFF%01", b"A4"),
    (f"FFF{KB.ZMK_1[:30]};FFF%01", b"15"),  # block cut short
]


@pytest.mark.parametrize(("request_", "answer"), BLOCK_CASES)
def test_key_block_check_values(request_: str, answer: bytes) -> None:
    assert native(bu, KB.make_host(), request_.encode()) == answer


def test_an_aes_keys_check_value_is_its_cmac() -> None:
    host = KB.make_host()
    key = native(a0, host, b"0FFFS%02#D0A3B00E00")[2:-6].decode()
    clear = KB.open_block(KB.KA, key)[1]
    assert native(bu, host, f"FFF{key};FFF;001%02".encode()) == b"00" + KB.aes_kcv(clear).encode()


def test_the_real_units_request_without_lmk_identifier() -> None:
    # The unit's default LMK was 01: the request carries no %nn.
    assert native(bu, KB.make_host(default=1), f"FFF{KB.ZMK_1};FFF;001".encode()) == b"002356F2"


@pytest.mark.wasm
def test_bu_component_answers_key_blocks_as_the_logic_does(built_plugins: Path) -> None:
    host = KB.make_host()
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "BU.wasm")
        for request_, answer in BLOCK_CASES:
            assert in_component(runtime, plugin, request_.encode()) == answer, request_
