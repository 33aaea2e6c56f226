"""MS — Generate a MAC (MAB) for a large message under a TAK or ZAK, in blocks.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestGenerateMACMABMS): five 16-byte
blocks ("0000000011111111", sent as expanded hex) under a double-length ZAK
under the public test LMK, each block's MAB the next one's IV. Every value is
re-derived with tests/oracle.py: the chaining values with psec.des CBC under
the left key half, the final MAC with psec's retail MAC over the whole
80-byte message; single-length cases with psec's CBC-MAC (X9.9).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ma, ms
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZAK_U = "U4F24FC3AADA72104B6BE1D1E296CA774"  # ZAK (LMK 26-27), clear 838652DF68A246046DAB6104583B201A
ZAK = "8C7D7D7786E8DD6D"  # single-length ZAK, clear 1023324554677689 (oracle.to_lmk)
TAK = "C6F34693FB39CB6E"  # single-length TAK, clear E9CB01B93B20914F
TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double-length TAK, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK_T = "T4DB4F74EB1146CC7BA39C03C09F1858BE0B31824B25EAA3A"  # triple-length TAK (oracle.to_lmk)
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
BLOCK = "30303030303030303131313131313131"  # "0000000011111111"
MABS = ["A9D4D96683B51333", "DA46CEC9E61AF065", "56A27E35442BD07D", "B12874BED7137303"]
FINAL = "0D99127F7734AA58"
DATA = b"givemeSOMEMACing"

CASES: list[tuple[bytes, bytes]] = [
    # ThalesSim TestGenerateMACMABMS: first, three middle and the last block.
    (f"1111{ZAK_U}0010{BLOCK}".encode(), f"00{MABS[0]}".encode()),
    (f"2111{ZAK_U}{MABS[0]}0010{BLOCK}".encode(), f"00{MABS[1]}".encode()),
    (f"2111{ZAK_U}{MABS[1]}0010{BLOCK}".encode(), f"00{MABS[2]}".encode()),
    (f"2111{ZAK_U}{MABS[2]}0010{BLOCK}".encode(), f"00{MABS[3]}".encode()),
    (f"3111{ZAK_U}{MABS[3]}0010{BLOCK}".encode(), f"00{FINAL}".encode()),
    (f"3111{ZAK_U}{MABS[3]}0010{BLOCK}%00".encode(), f"00{FINAL}".encode()),
    (f"3110{ZAK_U}{MABS[3]}0010".encode() + bytes.fromhex(BLOCK), f"00{FINAL}".encode()),  # binary
    # Single-length keys: X9.9.
    (f"0000{TAK}0010".encode() + DATA, b"00170C2BDB611C591F"),
    (f"0001{TAK}0010{DATA.hex()}".encode(), b"00170C2BDB611C591F"),
    (f"0100{ZAK}0010".encode() + DATA, b"00BC2C5974F8642461"),
    (f"0000{TAK}0000".encode(), b"00EDFE6926B3B9D27C"),  # an empty only block: one zero block
    (f"0010{TAK_U}0010".encode() + DATA, b"00749E1762AEB3C6E1"),
    # Errors.
    (f"4111{ZAK_U}0010{BLOCK}".encode(), b"05"),
    (f"1211{ZAK_U}0010{BLOCK}".encode(), b"04"),
    (f"1121{ZAK_U}0010{BLOCK}".encode(), b"06"),
    (f"1112{ZAK_U}0010{BLOCK}".encode(), b"03"),
    (f"1101{ZAK_U}0010{BLOCK}".encode(), b"04"),  # length flag single, key double
    (f"1011{ZAK}0008{BLOCK[:16]}".encode(), b"04"),  # length flag double, key single
    (f"1011{TAK_T}0008{BLOCK[:16]}".encode(), b"04"),  # no triple-length keys
    (f"1111{ZAK_U}000F{BLOCK[:30]}".encode(), b"80"),  # a first block of 15 bytes
    (f"2111{ZAK_U}{MABS[0]}000C{BLOCK[:24]}".encode(), b"80"),
    (f"3111{ZAK_U}{MABS[0]}0000".encode(), b"80"),  # an empty last block
    (f"1111{ZAK_U}0010{BLOCK[:30]}".encode(), b"80"),  # message shorter than its length
    (f"0000{TAK_EVEN}0010".encode() + DATA, b"10"),
    (f"0100{TAK}0010".encode() + DATA, b"10"),  # a TAK given as a ZAK
    (f"1111{ZAK_U}0010{BLOCK}%01".encode(), b"13"),
    (f"1111{ZAK_U}0010{BLOCK}%0".encode(), b"13"),
    (f"1111{ZAK_U}0010{BLOCK[:30]}GG".encode(), b"15"),  # hex message not hex
    (f"1111{ZAK_U}001G{BLOCK}".encode(), b"15"),
    (f"2111{ZAK_U}{MABS[0][:15]}G0010{BLOCK}".encode(), b"15"),
    (f"1111{ZAK_U}0010{BLOCK}00".encode(), b"15"),  # trailing bytes
    (b"111", b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    zak = oracle.from_lmk("008", ZAK_U)
    assert zak.hex().upper() == "838652DF68A246046DAB6104583B201A"
    iv = bytes(8)
    for mab in MABS:
        iv = oracle.mac_chain(zak, 3, iv, bytes.fromhex(BLOCK))
        assert iv.hex().upper() == mab
    assert oracle.mac_finish(zak, 3, oracle.mac_chain(zak, 3, iv, bytes.fromhex(BLOCK))).hex().upper() == FINAL
    assert oracle.mac_iso9797(zak, 3, 1, bytes.fromhex(BLOCK) * 5) == FINAL
    assert oracle.mac_iso9797(oracle.from_lmk("003", TAK), 1, 1, DATA) == "170C2BDB611C591F"
    assert oracle.to_lmk("008", "Z", bytes.fromhex("1023324554677689")) == ZAK
    assert oracle.mac_iso9797(oracle.from_lmk("008", ZAK), 1, 1, DATA) == "BC2C5974F8642461"
    assert not oracle.odd_parity(oracle.from_lmk("008", TAK))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ms_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(ms, host, request_) == answer


@pytest.mark.parametrize("key", [TAK, TAK_U])
def test_ms_blocks_chain_to_the_mac_of_the_whole_message(host: Host, key: str) -> None:
    # Binary blocks of 24, 8 and 40 bytes, then a last block of 13: the same MAC as MA over all 85 bytes.
    message = bytes(range(170, 242)) + b"\x19\x03last block!"
    parts = [message[:24], message[24:32], message[32:72], message[72:]]
    length_flag = "1" if key == TAK_U else "0"
    answer = native(ms, host, f"10{length_flag}0{key}{len(parts[0]):04X}".encode() + parts[0])
    for part in parts[1:-1]:
        answer = native(ms, host, f"20{length_flag}0{key}{answer[2:].decode()}{len(part):04X}".encode() + part)
    last = native(ms, host, f"30{length_flag}0{key}{answer[2:].decode()}{len(parts[-1]):04X}".encode() + parts[-1])
    assert last[:10] == native(ma, host, key.encode() + message)
    clear = oracle.from_lmk("003", key)
    algorithm = 3 if key == TAK_U else 1
    assert last == f"00{oracle.mac_iso9797(clear, algorithm, 1, message)}".encode()
    chained = oracle.mac_chain(clear, algorithm, bytes(8), message[:72])
    assert answer == f"00{chained.hex().upper()}".encode()


@pytest.mark.wasm
def test_ms_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "MS.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(ms, host, request_), request_


@pytest.mark.wasm
async def test_ms_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins, f"MS1111{ZAK_U}0010{BLOCK}".encode(), f"MS3111{ZAK_U}{MABS[3]}0010{BLOCK}".encode(), f"MS4111{ZAK_U}".encode()
    ) == [f"MT00{MABS[0]}".encode(), f"MT00{FINAL}".encode(), b"MT05"]
