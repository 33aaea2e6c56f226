"""M8 — Verify a MAC (ISO 9797-1 MAC algorithm 1 or 3) under a TAK or ZAK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, VerifyMAC): M6's request followed by
its MAC 5F1448EE, under a double-length TAK under the public test LMK. The
other MACs are computed with tests/oracle.py (psec); round trips with M6.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import m6, m8
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.tcp import exchange

TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
ZAK_U = "U4F24FC3AADA72104B6BE1D1E296CA774"  # ZAK (LMK 26-27)
MESSAGE = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
TEXT = b"givemeSOMEMACing"
IV_16 = "B7FBAF044FEA3ABA"  # algorithm 3 chaining value after MESSAGE's first 16 bytes
M = bytes.fromhex(MESSAGE)
ZAK_MAC = oracle.mac_iso9797(oracle.from_lmk("008", ZAK_U), 3, 1, M)[:8]

CASES: list[tuple[bytes, bytes]] = [
    (f"01032003{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"00"),  # ThalesSim VerifyMAC
    (f"01032003{TAK_U}0040{MESSAGE}5f1448ee%00".encode(), b"00"),
    (f"01032003{TAK_U}0040{MESSAGE}5F1448EF".encode(), b"01"),
    (f"01032003{TAK_U}0040{MESSAGE[:-1]}3".encode() + b"5F1448EE", b"01"),
    (f"01031003{TAK_U}0040{MESSAGE}AAE3F351".encode(), b"00"),
    (f"02011003{TAK}0010".encode() + TEXT + b"170C2BDB", b"00"),
    (f"02012003{TAK}0010".encode() + TEXT + b"FCF666C0", b"00"),
    (f"00031008{ZAK_U}0020".encode() + M + ZAK_MAC.encode(), b"00"),
    # Blocks: modes 1 and 2 answer the IV, with or without a MAC field.
    (f"11032003{TAK_U}0020{MESSAGE[:32]}".encode(), f"00{IV_16}".encode()),
    (f"11032003{TAK_U}0020{MESSAGE[:32]}00000000".encode(), f"00{IV_16}".encode()),
    (f"11032003{TAK_U}0020{MESSAGE[:32]}%00".encode(), f"00{IV_16}".encode()),
    (f"31032003{TAK_U}{IV_16}0020{MESSAGE[32:]}5F1448EE".encode(), b"00"),
    (f"31032003{TAK_U}{IV_16}0020{MESSAGE[32:]}5F1448EF".encode(), b"01"),
    # Errors.
    (f"01032003{TAK_U}0040{MESSAGE}".encode(), b"15"),  # no MAC in mode 0
    (f"31032003{TAK_U}{IV_16}0020{MESSAGE[32:]}".encode(), b"15"),
    (f"01032003{TAK_U}0040{MESSAGE}5F1448EG".encode(), b"15"),
    (f"01032003{TAK_U}0040{MESSAGE}5F1448EE00".encode(), b"15"),
    (f"41032003{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"02"),
    (f"03032003{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"03"),
    (f"01002003{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"04"),
    (f"01032004{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"05"),
    (f"01034003{TAK_U}0040{MESSAGE}5F1448EE".encode(), b"09"),
    (f"11032003{TAK_U}0018{MESSAGE[:24]}".encode(), b"06"),
    (f"01030003{TAK_U}0018{MESSAGE[:24]}5F1448EE".encode(), b"06"),
    (f"02032003{TAK}0010".encode() + TEXT + b"170C2BDB", b"27"),
    (f"02012003{TAK_EVEN}0010".encode() + TEXT + b"FCF666C0", b"10"),
    (f"01032003{TAK_U}0040{MESSAGE}5F1448EE%01".encode(), b"13"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    tak_u = oracle.from_lmk("003", TAK_U)
    assert oracle.mac_iso9797(tak_u, 3, 2, M)[:8] == "5F1448EE"
    assert oracle.mac_iso9797(tak_u, 3, 1, M)[:8] == "AAE3F351"
    assert oracle.mac_chain(tak_u, 3, bytes(8), M[:16]).hex().upper() == IV_16
    tak = oracle.from_lmk("003", TAK)
    assert oracle.mac_iso9797(tak, 1, 1, TEXT)[:8] == "170C2BDB"
    assert oracle.mac_iso9797(tak, 1, 2, TEXT)[:8] == "FCF666C0"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_m8_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(m8, host, request_) == answer


@pytest.mark.parametrize("spec", [f"011003{TAK}", f"012003{TAK_U}", f"032008{ZAK_U}", f"010008{ZAK_U}"])
def test_m8_verifies_what_m6_generates(host: Host, spec: str) -> None:
    # spec: MAC algorithm · padding · key type · key; binary input.
    data = bytes(range(48))
    first = f"10{spec}0018".encode() + data[:24]
    assert native(m8, host, first) == native(m6, host, first)
    mac = native(m6, host, f"00{spec}0030".encode() + data)[2:]
    assert native(m8, host, f"00{spec}0030".encode() + data + mac) == b"00"
    assert native(m8, host, f"00{spec}0030".encode() + data[:-1] + b"\xff" + mac) == b"01"


@pytest.mark.wasm
def test_m8_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "M8.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(m8, host, request_), request_


@pytest.mark.wasm
async def test_m8_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins, f"M801032003{TAK_U}0040{MESSAGE}5F1448EE".encode(), f"M801032003{TAK_U}0040{MESSAGE}5F1448EF".encode()
    ) == [b"M900", b"M901"]


# --------------------------------------------------------------------------- key blocks (issue 8)
# REAL (ut-codec-payshield test/config/test.js, verifyMacEncode 2): M8 0 1 0 1 1 FFF + TAK block + 0008
# ABCDEF12 F9369211 %01: a real unit's request (mode 0, hex input, MAC size 0 + algorithm 1 = hsmd's
# algorithm 01, padding 1), whose MAC verifies.

KB = kb_oracle
VERIFY_BLOCK_CASES = [
    (f"01011FFF{KB.TAK}0008ABCDEF12F9369211%01".encode(), b"00"),
    (f"01011FFF{KB.TAK}0008ABCDEF12F9369212%01".encode(), b"01"),
    (f"01011FFF{KB.CVK}0008ABCDEF12F9369211%01".encode(), b"A6"),
]


@pytest.mark.parametrize(("request_", "answer"), VERIFY_BLOCK_CASES)
def test_m8_verifies_the_real_units_mac_under_a_key_block_tak(request_: bytes, answer: bytes) -> None:
    assert native(m8, KB.make_host(), request_) == answer


@pytest.mark.wasm
def test_m8_component_takes_key_blocks(built_plugins: Path) -> None:
    with make_runtime(KB.make_host()) as runtime:
        plugin = runtime.load(built_plugins / "M8.wasm")
        for request_, answer in VERIFY_BLOCK_CASES:
            assert in_component(runtime, plugin, request_) == answer, request_


# --------------------------------------------------------------------------- AES keys (algorithms 5 and 6, as M6)


def test_m8_verifies_aes_cmac_and_cbc_mac() -> None:
    # The MACs are re-derived with `cryptography`'s CMAC and psec's AES-CBC (tests/oracle.py).
    from tests.test_cmd_m6 import aes_mac_key

    host = KB.make_host()
    block, clear = aes_mac_key(host)
    message = bytes(range(40)).hex().upper()
    cmac = oracle.aes_cmac(clear, bytes(range(40)))[:8]
    cbc = oracle.aes_crypt(clear, "CBC", bytes(16), bytes(range(40)) + bytes(8), encrypt=True)[-16:].hex().upper()[:8]
    assert native(m8, host, f"01061FFF{block}0050{message}{cmac}%02".encode()) == b"00"
    assert native(m8, host, f"01051FFF{block}0050{message}{cbc}%02".encode()) == b"00"
    wrong = f"{int(cmac, 16) ^ 1:08X}"
    assert native(m8, host, f"01061FFF{block}0050{message}{wrong}%02".encode()) == b"01"
    assert native(m8, host, f"01011FFF{block}0050{message}{cmac}%02".encode()) == b"A7"
