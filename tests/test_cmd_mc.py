"""MC — Verify a MAC (ANSI X9.9 / X9.19) under a TAK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyMAC), TAK under the public
test LMK; ThalesSim's hex-encoded data is sent here as the bytes it encodes
("givemeSOMEMACing", and with its last byte changed to "h" for the failure).
MACs re-derived with tests/oracle.py (psec). Round trip with MA in
tests/test_cmd_ma.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import mc
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TAK = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK_T = "T4DB4F74EB1146CC7BA39C03C09F1858BE0B31824B25EAA3A"  # triple length (oracle.to_lmk)
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
DATA = b"givemeSOMEMACing"

CASES: list[tuple[bytes, bytes]] = [
    (f"{TAK}170C2BDB".encode() + DATA, b"00"),  # ThalesSim TestVerifyMAC
    (f"{TAK}170c2bdb".encode() + DATA, b"00"),
    (f"{TAK}170C2BDB".encode() + DATA[:-1] + b"h", b"01"),  # ThalesSim: last byte changed
    (f"{TAK}170C2BDC".encode() + DATA, b"01"),
    (f"{TAK_U}749E1762".encode() + DATA, b"00"),  # X9.19
    (f"{TAK_U}170C2BDB".encode() + DATA, b"01"),
    (f"{TAK}EDFE6926".encode(), b"00"),  # no data
    (f"{TAK}FAEEDD7D".encode() + DATA + b"%00", b"00"),  # no LMK identifier: "%00" is data
    (f"{TAK}170C2BDB".encode() + DATA + b"%00", b"01"),
    (f"{TAK_T}170C2BDB".encode() + DATA, b"27"),
    (f"{TAK_EVEN}170C2BDB".encode() + DATA, b"10"),
    (f"{TAK}170C2BD".encode(), b"15"),  # MAC short
    (f"{TAK}170C2BDG".encode() + DATA, b"15"),  # MAC not hex
    (TAK[:-1].encode(), b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    tak = oracle.from_lmk("003", TAK)
    assert oracle.mac_iso9797(tak, 1, 1, DATA)[:8] == "170C2BDB"
    assert oracle.mac_iso9797(tak, 1, 1, DATA[:-1] + b"h")[:8] != "170C2BDB"
    assert oracle.mac_iso9797(oracle.from_lmk("003", TAK_U), 3, 1, DATA)[:8] == "749E1762"
    assert oracle.mac_iso9797(tak, 1, 1, bytes(8))[:8] == "EDFE6926"
    assert oracle.mac_iso9797(tak, 1, 1, DATA + b"%00")[:8] == "FAEEDD7D"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_mc_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(mc, host, request_) == answer


@pytest.mark.wasm
def test_mc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "MC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(mc, host, request_), request_


@pytest.mark.wasm
async def test_mc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"MC{TAK}170C2BDB".encode() + DATA, f"MC{TAK}170C2BDB".encode() + DATA[:-1] + b"h") == [
        b"MD00",
        b"MD01",
    ]
