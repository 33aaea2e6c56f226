"""MA — Generate a MAC (ANSI X9.9 / X9.19) under a TAK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestGenerateMAC), TAK under the public
test LMK. ThalesSim sends the data hex-encoded and hex-decodes it; a real unit
(and hsmd) receives the bytes themselves, so the request carries the ASCII
text "givemeSOMEMACing" whose hex ThalesSim sends. Every MAC is re-derived
with tests/oracle.py (psec generate_cbc_mac / generate_retail_mac).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ma, mc
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TAK = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK_T = "T4DB4F74EB1146CC7BA39C03C09F1858BE0B31824B25EAA3A"  # triple length (oracle.to_lmk)
TAK_EVEN = "17256862C66FB7B2"  # clear E9CB01B93B20914E: even parity (oracle.to_lmk)
ZAK_U = "U4F24FC3AADA72104B6BE1D1E296CA774"  # a ZAK (LMK 26-27): parity fails under 16-17
DATA = b"givemeSOMEMACing"

CASES: list[tuple[bytes, bytes]] = [
    (TAK.encode() + DATA, b"00170C2BDB"),  # ThalesSim TestGenerateMAC
    (TAK.lower().encode() + DATA, b"00170C2BDB"),
    (TAK_U.encode() + DATA, b"00749E1762"),  # X9.19 under the double-length TAK
    (TAK.encode(), b"00EDFE6926"),  # no data: one zero block
    (TAK.encode() + DATA + b"%00", b"00FAEEDD7D"),  # no LMK identifier: "%00" is data
    (TAK.encode() + bytes(range(256)), f"00{oracle.mac_iso9797(oracle.from_lmk('003', TAK), 1, 1, bytes(range(256)))[:8]}".encode()),
    (TAK_T.encode() + DATA, b"27"),
    (TAK_EVEN.encode() + DATA, b"10"),
    (ZAK_U.encode() + DATA, b"10"),
    (TAK[:-1].encode(), b"15"),  # TAK field short
    (b"U19D25F349FD03CC3556BB05F65283CAG" + DATA, b"15"),  # TAK not hex
    (b"", b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    tak = oracle.from_lmk("003", TAK)
    assert tak.hex().upper() == "E9CB01B93B20914F"
    assert oracle.mac_iso9797(tak, 1, 1, DATA) == "170C2BDB611C591F"
    assert oracle.mac_iso9797(oracle.from_lmk("003", TAK_U), 3, 1, DATA) == "749E1762AEB3C6E1"
    assert oracle.mac_iso9797(tak, 1, 1, bytes(8)) == "EDFE6926B3B9D27C"  # the empty message, padded to a zero block
    assert oracle.mac_iso9797(tak, 1, 1, DATA + b"%00")[:8] == "FAEEDD7D"
    assert oracle.to_lmk("003", "T", oracle.with_odd_parity(bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"))) == TAK_T
    assert oracle.to_lmk("003", "Z", bytes.fromhex("E9CB01B93B20914E")) == TAK_EVEN
    assert not oracle.odd_parity(oracle.from_lmk("003", ZAK_U))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ma_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(ma, host, request_) == answer


def test_ma_mac_verifies_with_mc(host: Host) -> None:
    data = b"0123456789 any \x00\xff binary"
    mac = native(ma, host, TAK_U.encode() + data)[2:]
    assert native(mc, host, TAK_U.encode() + mac + data) == b"00"
    assert native(mc, host, TAK_U.encode() + mac + data[:-1]) == b"01"


@pytest.mark.wasm
def test_ma_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "MA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(ma, host, request_), request_


@pytest.mark.wasm
async def test_ma_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, b"MA" + TAK.encode() + DATA, b"MA" + TAK_T.encode() + DATA) == [b"MB00170C2BDB", b"MB27"]
