"""MY — Verify a MAC and translate it to another key (ISO 9797-1 MAC algorithms 1 and 3).

No published MY vectors exist (ThalesSim implements ME, not MY). The source
MACs are the ThalesSim M6/M8 and MA vectors (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, GenerateMAC and TestGenerateMAC), keys
under the public test LMK; every destination MAC and chaining value is
computed with tests/oracle.py (psec generate_cbc_mac / generate_retail_mac,
psec.des CBC), and checked against M6 and M8 round trips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import m6, m8, my
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
ZAK_U = "U4F24FC3AADA72104B6BE1D1E296CA774"  # ZAK (LMK 26-27)
MESSAGE = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
TEXT = b"givemeSOMEMACing"
IV_16 = "B7FBAF044FEA3ABA"  # algorithm 3 chaining value under TAK_U after MESSAGE's first 16 bytes
M = bytes.fromhex(MESSAGE)
TAK_CLEAR = oracle.from_lmk("003", TAK)
TAK_U_CLEAR = oracle.from_lmk("003", TAK_U)
ZAK_U_CLEAR = oracle.from_lmk("008", ZAK_U)

SOURCE = f"032003{TAK_U}"  # algorithm 03 · padding 2 · TAK · key: MAC 5F1448EE over MESSAGE
DESTINATION = f"011003{TAK}"  # algorithm 01 · padding 1 · TAK · key
DEST_MAC = oracle.mac_iso9797(TAK_CLEAR, 1, 1, M)[:8]
DEST_IV_16 = oracle.mac_chain(TAK_CLEAR, 1, bytes(8), M[:16]).hex().upper()

CASES: list[tuple[bytes, bytes]] = [
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), f"00{DEST_MAC}".encode()),
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE%00".encode(), f"00{DEST_MAC}".encode()),
    (f"00{SOURCE}{DESTINATION}0020".encode() + M + b"5F1448EE", f"00{DEST_MAC}".encode()),
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EF".encode(), b"01"),
    (
        f"01{SOURCE}031008{ZAK_U}0040{MESSAGE}5F1448EE".encode(),
        f"00{oracle.mac_iso9797(ZAK_U_CLEAR, 3, 1, M)[:8]}".encode(),
    ),
    (f"02011003{TAK}031003{TAK_U}0010".encode() + TEXT + b"170C2BDB", b"00749E1762"),  # MA's X9.9 to X9.19
    (f"02011003{TAK}031003{TAK_U}0010".encode() + TEXT + b"FCF666C0", b"01"),
    # Blocks: modes 1 and 2 answer both chaining values; mode 3 takes both IVs.
    (f"11{SOURCE}{DESTINATION}0020{MESSAGE[:32]}".encode(), f"00{IV_16}{DEST_IV_16}".encode()),
    (f"11{SOURCE}{DESTINATION}0020{MESSAGE[:32]}5F1448EE".encode(), f"00{IV_16}{DEST_IV_16}".encode()),
    (f"31{SOURCE}{DESTINATION}{IV_16}{DEST_IV_16}0020{MESSAGE[32:]}5F1448EE".encode(), f"00{DEST_MAC}".encode()),
    (f"31{SOURCE}{DESTINATION}{IV_16}{DEST_IV_16}0020{MESSAGE[32:]}AAE3F351".encode(), b"01"),
    # Errors.
    (f"41{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"02"),
    (f"04{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"03"),
    (f"01022003{TAK_U}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"04"),
    (f"01{SOURCE}041003{TAK}0040{MESSAGE}5F1448EE".encode(), b"04"),
    (f"01035003{TAK_U}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"09"),
    (f"01{SOURCE}013003{TAK}0040{MESSAGE}5F1448EE".encode(), b"09"),
    (f"01032001{TAK_U}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"05"),
    (f"01{SOURCE}011009{TAK}0040{MESSAGE}5F1448EE".encode(), b"05"),
    (  # destination padding 0 on whole blocks
        f"01{SOURCE}010003{TAK}0030{MESSAGE[:48]}{oracle.mac_iso9797(TAK_U_CLEAR, 3, 2, M[:24])[:8]}".encode(),
        f"00{oracle.mac_iso9797(TAK_CLEAR, 1, 0, M[:24])[:8]}".encode(),
    ),
    (f"01{SOURCE}010003{TAK}0028{MESSAGE[:40]}5F1448EE".encode(), b"06"),  # destination padding 0, 20 bytes
    (f"11{SOURCE}{DESTINATION}0018{MESSAGE[:24]}".encode(), b"06"),
    (f"01032003{TAK_EVEN}{DESTINATION}0040{MESSAGE}5F1448EE".encode(), b"10"),
    (f"01{SOURCE}011003{TAK_EVEN}0040{MESSAGE}5F1448EE".encode(), b"11"),
    (f"01{SOURCE}031003{TAK}0040{MESSAGE}5F1448EE".encode(), b"27"),
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE%01".encode(), b"13"),
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}".encode(), b"15"),  # no source MAC
    (f"31{SOURCE}{DESTINATION}{IV_16}0020{MESSAGE[32:]}5F1448EE".encode(), b"15"),  # one IV only
    (f"01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE0".encode(), b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    tak_u = oracle.from_lmk("003", TAK_U)
    assert oracle.mac_iso9797(tak_u, 3, 2, M)[:8] == "5F1448EE"
    assert oracle.mac_chain(tak_u, 3, bytes(8), M[:16]).hex().upper() == IV_16
    assert oracle.mac_iso9797(TAK_CLEAR, 1, 1, TEXT)[:8] == "170C2BDB"
    assert oracle.mac_iso9797(tak_u, 3, 1, TEXT)[:8] == "749E1762"
    final = oracle.mac_chain(TAK_CLEAR, 1, bytes.fromhex(DEST_IV_16), M[16:])
    assert final.hex().upper()[:8] == DEST_MAC


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_my_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(my, host, request_) == answer


@pytest.mark.parametrize(
    ("source", "destination"), [(SOURCE, DESTINATION), (DESTINATION, f"031008{ZAK_U}"), (f"012008{ZAK_U}", f"030003{TAK_U}")]
)
def test_my_agrees_with_m6_and_m8(host: Host, source: str, destination: str) -> None:
    data = bytes(range(40))
    mac = native(m6, host, f"00{source}0028".encode() + data)[2:]
    translated = native(my, host, f"00{source}{destination}0028".encode() + data + mac)
    assert translated == native(m6, host, f"00{destination}0028".encode() + data)
    assert native(m8, host, f"00{destination}0028".encode() + data + translated[2:]) == b"00"
    first = native(my, host, f"10{source}{destination}0010".encode() + data[:16])
    assert (
        first
        == native(m6, host, f"10{source}0010".encode() + data[:16]) + native(m6, host, f"10{destination}0010".encode() + data[:16])[2:]
    )


@pytest.mark.wasm
def test_my_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "MY.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(my, host, request_), request_


@pytest.mark.wasm
async def test_my_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins,
        f"MY01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EE".encode(),
        f"MY01{SOURCE}{DESTINATION}0040{MESSAGE}5F1448EF".encode(),
    ) == [f"MZ00{DEST_MAC}".encode(), b"MZ01"]


# --------------------------------------------------------------------------- AES keys (algorithms 5 and 6, as M6)


def test_my_translates_an_aes_cmac_to_an_aes_cbc_mac() -> None:
    # Source AES CMAC, destination AES CBC-MAC (padding 1), both re-derived by tests/oracle.py.
    from tests import kb_oracle
    from tests.test_cmd_m6 import aes_mac_key

    host = kb_oracle.make_host()
    source, source_clear = aes_mac_key(host)
    destination, destination_clear = aes_mac_key(host)
    data = bytes(range(40))
    cmac = oracle.aes_cmac(source_clear, data)[:8]
    cbc = oracle.aes_crypt(destination_clear, "CBC", bytes(16), data + bytes(8), encrypt=True)[-16:].hex().upper()[:8]
    request_ = f"01061FFF{source}051FFF{destination}0050{data.hex().upper()}{cmac}%02"
    assert native(my, host, request_.encode()) == f"00{cbc}".encode()
    assert native(my, host, request_.replace(f"{cmac}%02", f"{int(cmac, 16) ^ 1:08X}%02").encode()) == b"01"
    # Blocks: both chaining values are one AES block each (32 H).
    first = native(my, host, f"11061FFF{source}051FFF{destination}0040{data[:32].hex().upper()}%02".encode())
    assert len(first) == 2 + 64 and first[:2] == b"00"
