"""ME — Verify and translate a MAC (ANSI X9.9 / X9.19) from one TAK to another.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyTranslateMAC), TAKs under the
public test LMK; ThalesSim's hex-encoded data is sent as the bytes it encodes.
MACs re-derived with tests/oracle.py (psec); the double-length cases are
computed with the oracle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ma, me
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

SOURCE = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
DESTINATION = "E96E2363E063746F"  # single length, clear 0B01A2838FF249AB
TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK_T = "T4DB4F74EB1146CC7BA39C03C09F1858BE0B31824B25EAA3A"  # triple length (oracle.to_lmk)
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
DATA = b"givemeSOMEMACing"

CASES: list[tuple[bytes, bytes]] = [
    (f"{SOURCE}{DESTINATION}170C2BDB".encode() + DATA, b"00D7DA46FC"),  # ThalesSim TestVerifyTranslateMAC
    (f"{SOURCE}{DESTINATION}170C2BDB".encode() + DATA[:-1] + b"h", b"01"),  # ThalesSim: last byte changed
    (f"{SOURCE}{TAK_U}170C2BDB".encode() + DATA, b"00749E1762"),  # X9.9 to X9.19
    (f"{TAK_U}{SOURCE}749E1762".encode() + DATA, b"00170C2BDB"),  # X9.19 to X9.9
    (f"{SOURCE}{DESTINATION}170C2BDB".encode() + DATA + b"%00", b"01"),  # no LMK identifier: "%00" is data
    (f"{TAK_EVEN}{DESTINATION}170C2BDB".encode() + DATA, b"10"),
    (f"{SOURCE}{TAK_EVEN}170C2BDB".encode() + DATA, b"11"),
    (f"{SOURCE}{TAK_EVEN}170C2BDC".encode() + DATA, b"11"),  # parity before verification
    (f"{TAK_T}{DESTINATION}170C2BDB".encode() + DATA, b"27"),
    (f"{SOURCE}{TAK_T}170C2BDB".encode() + DATA, b"27"),
    (f"{SOURCE}{DESTINATION}170C2BD".encode(), b"15"),
    (f"{SOURCE}{DESTINATION[:-1]}".encode(), b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    source, destination = oracle.from_lmk("003", SOURCE), oracle.from_lmk("003", DESTINATION)
    assert destination.hex().upper() == "0B01A2838FF249AB"
    assert oracle.mac_iso9797(source, 1, 1, DATA)[:8] == "170C2BDB"
    assert oracle.mac_iso9797(destination, 1, 1, DATA)[:8] == "D7DA46FC"
    assert oracle.mac_iso9797(oracle.from_lmk("003", TAK_U), 3, 1, DATA)[:8] == "749E1762"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_me_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(me, host, request_) == answer


def test_me_translates_what_ma_generates(host: Host) -> None:
    data = bytes(range(100))
    mac = native(ma, host, SOURCE.encode() + data)[2:]
    assert native(me, host, f"{SOURCE}{TAK_U}".encode() + mac + data) == native(ma, host, TAK_U.encode() + data)


@pytest.mark.wasm
def test_me_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "ME.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(me, host, request_), request_


@pytest.mark.wasm
async def test_me_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins,
        f"ME{SOURCE}{DESTINATION}170C2BDB".encode() + DATA,
        f"ME{SOURCE}{DESTINATION}170C2BDB".encode() + DATA[:-1] + b"h",
    ) == [b"MF00D7DA46FC", b"MF01"]
