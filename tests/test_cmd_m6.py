"""M6 — Generate a MAC (ISO 9797-1 MAC algorithm 1 or 3) under a TAK or ZAK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, GenerateMAC): a 32-byte hex-encoded
message under a double-length TAK under the public test LMK, algorithm 03,
padding 2. ThalesSim answers 00 + 0008 + MAC; the manual's M7 (and the
ut-codec-payshield fixture, softwaregroup-bg/ut-codec-payshield) carries the
MAC alone, which hsmd answers. Every other MAC is computed with
tests/oracle.py (psec generate_cbc_mac / generate_retail_mac, psec.des CBC
for chained blocks).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a0, m6
from tests import kb_oracle, oracle
from tests.commands import in_component, key_block, native
from tests.conftest import make_runtime
from tests.tcp import exchange

TAK_U = "U19D25F349FD03CC3556BB05F65283CA1"  # double length, clear 7962D9ECE03D1ACD4C76089DCE131543
TAK = "C6F34693FB39CB6E"  # single length, clear E9CB01B93B20914F
TAK_T = "T4DB4F74EB1146CC7BA39C03C09F1858BE0B31824B25EAA3A"  # triple length (oracle.to_lmk)
TAK_EVEN = "17256862C66FB7B2"  # even parity (oracle.to_lmk)
ZAK_U = "U4F24FC3AADA72104B6BE1D1E296CA774"  # ZAK (LMK 26-27), clear 838652DF68A246046DAB6104583B201A
MESSAGE = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
TEXT = b"givemeSOMEMACing"
IV_16 = "B7FBAF044FEA3ABA"  # algorithm 3 chaining value after MESSAGE's first 16 bytes

TAK_U_CLEAR = oracle.from_lmk("003", TAK_U)
TAK_T_CLEAR = oracle.from_lmk("003", TAK_T)
ZAK_U_CLEAR = oracle.from_lmk("008", ZAK_U)
M = bytes.fromhex(MESSAGE)


def mac8(key: bytes, algorithm: int, padding: int, data: bytes) -> bytes:
    return f"00{oracle.mac_iso9797(key, algorithm, padding, data)[:8]}".encode()


CASES: list[tuple[bytes, bytes]] = [
    (f"01032003{TAK_U}0040{MESSAGE}".encode(), b"005F1448EE"),  # ThalesSim GenerateMAC
    (f"01032003{TAK_U}0040{MESSAGE}%00".encode(), b"005F1448EE"),
    (f"01032003{TAK_U}0040{MESSAGE.lower()}".encode(), b"005F1448EE"),
    (f"00032003{TAK_U}0020".encode() + M, b"005F1448EE"),  # binary
    (f"02032003{TAK_U}0020".encode() + M, b"005F1448EE"),  # text: as received
    (f"01031003{TAK_U}0040{MESSAGE}".encode(), b"00AAE3F351"),
    (f"01030003{TAK_U}0040{MESSAGE}".encode(), b"00AAE3F351"),  # no padding: whole blocks
    (f"01011003{TAK_U}0040{MESSAGE}".encode(), mac8(TAK_U_CLEAR, 1, 1, M)),  # algorithm 1 under TDES
    (f"01012003{TAK_U}0040{MESSAGE}".encode(), mac8(TAK_U_CLEAR, 1, 2, M)),
    (f"01012003{TAK_T}0040{MESSAGE}".encode(), mac8(TAK_T_CLEAR, 1, 2, M)),
    (f"02011003{TAK}0010".encode() + TEXT, b"00170C2BDB"),  # = MA's X9.9
    (f"02012003{TAK}0010".encode() + TEXT, b"00FCF666C0"),
    (f"02011003{TAK}0000".encode(), b"00EDFE6926"),  # empty, padded to a zero block
    (f"00012003{TAK}0000".encode(), mac8(oracle.from_lmk("003", TAK), 1, 2, b"")),
    (f"00031008{ZAK_U}0020".encode() + M, mac8(ZAK_U_CLEAR, 3, 1, M)),  # a ZAK
    # Blocks: first, middle, final (IV in modes 2 and 3 only).
    (f"11032003{TAK_U}0020{MESSAGE[:32]}".encode(), f"00{IV_16}".encode()),
    (f"31032003{TAK_U}{IV_16}0020{MESSAGE[32:]}".encode(), b"005F1448EE"),
    (f"11030003{TAK_U}0010{MESSAGE[:16]}".encode(), f"00{oracle.mac_chain(TAK_U_CLEAR, 3, bytes(8), M[:8]).hex().upper()}".encode()),
    (
        f"21032003{TAK_U}{oracle.mac_chain(TAK_U_CLEAR, 3, bytes(8), M[:8]).hex().upper()}0010{MESSAGE[16:32]}".encode(),
        f"00{IV_16}".encode(),
    ),
    (f"31032003{TAK_U}{IV_16}0000".encode(), mac8(TAK_U_CLEAR, 3, 2, M[:16])),  # padding 2 finishes on its own block
    # Errors.
    (f"41032003{TAK_U}0040{MESSAGE}".encode(), b"02"),
    (f"03032003{TAK_U}0040{MESSAGE}".encode(), b"03"),
    (f"01022003{TAK_U}0040{MESSAGE}".encode(), b"04"),
    (f"01132003{TAK_U}0040{MESSAGE}".encode(), b"04"),  # MAC size 1: not supported
    (f"01033003{TAK_U}0040{MESSAGE}".encode(), b"09"),
    (f"01032002{TAK_U}0040{MESSAGE}".encode(), b"05"),
    (f"01032003{TAK_U}0040{MESSAGE}".replace("2003U", "2FFFU").encode(), b"05"),
    (f"11032003{TAK_U}0018{MESSAGE[:24]}".encode(), b"06"),  # a first block of 12 bytes
    (f"21032003{TAK_U}{IV_16}0018{MESSAGE[:24]}".encode(), b"06"),
    (f"01030003{TAK_U}0018{MESSAGE[:24]}".encode(), b"06"),  # no padding, 12 bytes
    (f"01032003{TAK_U}0017{MESSAGE[:23]}".encode(), b"06"),  # odd hex
    (f"01030003{TAK_U}0000".encode(), b"06"),  # nothing to MAC
    (f"31031003{TAK_U}{IV_16}0000".encode(), b"06"),  # an empty final block, padding 1
    (f"02032003{TAK}0010".encode() + TEXT, b"27"),  # algorithm 3, single-length key
    (f"02032003{TAK_T}0010".encode() + TEXT, b"27"),
    (f"02012003{TAK_EVEN}0010".encode() + TEXT, b"10"),
    (f"02012008{TAK}0010".encode() + TEXT, b"10"),  # a TAK given as a ZAK
    (f"01032003{TAK_U}0040{MESSAGE}%01".encode(), b"13"),
    (f"01032003{TAK_U}0040{MESSAGE[:-2]}GG".encode(), b"15"),
    (f"01032003{TAK_U}0041{MESSAGE}".encode(), b"15"),  # shorter than its length
    (f"01032003{TAK_U}004G{MESSAGE}".encode(), b"15"),
    (f"31032003{TAK_U}{IV_16[:15]}G0020{MESSAGE[32:]}".encode(), b"15"),
    (f"01032003{TAK_U}0040{MESSAGE}00".encode(), b"15"),
    (f"01032003{TAK_U[:-1]}".encode(), b"15"),
    (b"01032", b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert TAK_U_CLEAR.hex().upper() == "7962D9ECE03D1ACD4C76089DCE131543"
    assert oracle.mac_iso9797(TAK_U_CLEAR, 3, 2, M) == "5F1448EEA8AD90A7"
    assert oracle.mac_iso9797(TAK_U_CLEAR, 3, 1, M)[:8] == "AAE3F351"
    assert oracle.mac_chain(TAK_U_CLEAR, 3, bytes(8), M[:16]).hex().upper() == IV_16
    iv = bytes.fromhex(IV_16)
    final = oracle.mac_finish(TAK_U_CLEAR, 3, oracle.mac_chain(TAK_U_CLEAR, 3, iv, M[16:] + b"\x80" + bytes(7)))
    assert final.hex().upper()[:8] == "5F1448EE"
    tak = oracle.from_lmk("003", TAK)
    assert oracle.mac_iso9797(tak, 1, 1, TEXT)[:8] == "170C2BDB"
    assert oracle.mac_iso9797(tak, 1, 2, TEXT)[:8] == "FCF666C0"
    assert oracle.mac_iso9797(tak, 1, 1, bytes(8))[:8] == "EDFE6926"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_m6_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(m6, host, request_) == answer


@pytest.mark.parametrize(("algorithm", "padding", "key"), [(1, 1, TAK), (1, 2, TAK_U), (3, 1, TAK_U), (3, 2, TAK_U)])
def test_m6_blocks_chain_to_the_mac_of_the_whole_message(host: Host, algorithm: int, padding: int, key: str) -> None:
    message = bytes(range(256)) + b"tail"
    parts = [message[:64], message[64:72], message[72:256], message[256:]]
    spec = f"0{algorithm}{padding}003{key}"
    answer = native(m6, host, f"10{spec}{len(parts[0]):04X}".encode() + parts[0])
    for part in parts[1:-1]:
        answer = native(m6, host, f"20{spec}{answer[2:].decode()}{len(part):04X}".encode() + part)
    last = native(m6, host, f"30{spec}{answer[2:].decode()}{len(parts[-1]):04X}".encode() + parts[-1])
    assert last == native(m6, host, f"00{spec}{len(message):04X}".encode() + message)
    assert last == mac8(oracle.from_lmk("003", key), algorithm, padding, message)


@pytest.mark.wasm
def test_m6_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "M6.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(m6, host, request_), request_


@pytest.mark.wasm
async def test_m6_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"M601032003{TAK_U}0040{MESSAGE}".encode(), f"M641032003{TAK_U}0040{MESSAGE}".encode()) == [
        b"M7005F1448EE",
        b"M702",
    ]


# --------------------------------------------------------------------------- key blocks (issue 8)
# REAL (test.js verifyMacEncode 2): the unit verified MAC F9369211 over hex ABCDEF12 (algorithm 1, padding 1)
# under the TAK block (LMK 01, usage M1, mode N) with key type FFF; M6 generates the same MAC.

KB = kb_oracle
MAC_BLOCK_CASES = [
    (f"01011FFF{KB.TAK}0008ABCDEF12%01".encode(), b"00F9369211"),
    (f"01011003{KB.TAK}0008ABCDEF12%01".encode(), b"00F9369211"),  # a TAK key type: an M1 block suits it
    (f"01011FFF{KB.ZPK_1}0008ABCDEF12%01".encode(), b"A6"),  # a PIN key makes no MAC
    (f"01011001{KB.TAK}0008ABCDEF12%01".encode(), b"05"),  # M6 takes TAKs, ZAKs and key blocks only
    (b"01011FFFU5FFE8014DA383D44C24AB41E37DB252F0008ABCDEF12", b"05"),  # FFF goes with a key block
    (f"01011FFF{KB.TAK}0008ABCDEF12%00".encode(), b"A1"),
]


@pytest.mark.parametrize(("request_", "answer"), MAC_BLOCK_CASES)
def test_m6_with_key_blocks(request_: bytes, answer: bytes) -> None:
    assert native(m6, KB.make_host(), request_) == answer


def test_a_key_block_mac_key_generate_only_or_verify_only_still_computes() -> None:
    # hsmd computes the MAC for M6 and M8 alike: modes G and V are both accepted (see hsmd.host.key_blocks).
    host = KB.make_host()
    for mode in "GVC":
        key = native(a0, host, f"0FFFS%01#M1T2{mode}00N00".encode())[2:-6].decode()
        assert native(m6, host, f"01011FFF{key}0008ABCDEF12%01".encode())[:2] == b"00"
    derive_only = native(a0, host, b"0FFFS%01#B0T2X00N00")[2:-6].decode()
    assert native(m6, host, f"01011FFF{derive_only}0008ABCDEF12%01".encode()) == b"A6"


@pytest.mark.wasm
def test_m6_component_takes_key_blocks(built_plugins: Path) -> None:
    with make_runtime(KB.make_host()) as runtime:
        plugin = runtime.load(built_plugins / "M6.wasm")
        for request_, answer in MAC_BLOCK_CASES:
            assert in_component(runtime, plugin, request_) == answer, request_


# --------------------------------------------------------------------------- AES keys: algorithms 5 (CBC-MAC) and 6 (CMAC)
# AES MAC keys come in key blocks under the AES key-block LMK (%02 in kb_oracle.make_host). The MACs are
# re-derived with `cryptography`'s CMAC and psec's AES-CBC (tests/oracle.py); the algorithm codes are
# from AWS's payShield migration table (see logic/m6.py).


def aes_mac_key(host: Host) -> tuple[str, bytes]:
    """A new AES-128 CMAC key block (A0 under %02) and its clear value, opened by the independent oracle."""
    return key_block(host, "02", "M6A1C00N00")


def aes_cases(block: str, clear: bytes) -> list[tuple[bytes, bytes]]:
    message = bytes(range(40))
    cmac = oracle.aes_cmac(clear, message)
    cbc = oracle.aes_crypt(clear, "CBC", bytes(16), message + b"\x80" + bytes(7), encrypt=True)[-16:].hex().upper()
    state = oracle.aes_crypt(clear, "CBC", bytes(16), message[:32], encrypt=True)[-16:].hex().upper()
    return [
        (f"01062FFF{block}0050{message.hex().upper()}%02".encode(), f"00{cmac[:8]}".encode()),
        (f"00060FFF{block}0028".encode() + message + b"%02", f"00{cmac[:8]}".encode()),  # CMAC pads by itself
        (f"01052FFF{block}0050{message.hex().upper()}%02".encode(), f"00{cbc[:8]}".encode()),
        # Blocks: the chaining value and the IV are one AES block (32 H).
        (f"11062FFF{block}0040{message[:32].hex().upper()}%02".encode(), f"00{state}".encode()),
        (f"31062FFF{block}{state}0010{message[32:].hex().upper()}%02".encode(), f"00{cmac[:8]}".encode()),
        (f"11062FFF{block}0030{message[:24].hex().upper()}%02".encode(), b"06"),  # not whole 16-byte blocks
        (f"01012FFF{block}0050{message.hex().upper()}%02".encode(), b"A7"),  # algorithm 1 is DES CBC-MAC
        (f"01032FFF{block}0050{message.hex().upper()}%02".encode(), b"A7"),
        (f"01061FFF{KB.TAK}0008ABCDEF12%01".encode(), b"A7"),  # a TDES key under an AES algorithm
        (f"01072FFF{block}0050{message.hex().upper()}%02".encode(), b"04"),
    ]


def test_m6_macs_under_aes_keys() -> None:
    host = KB.make_host()
    for request_, answer in aes_cases(*aes_mac_key(host)):
        assert native(m6, host, request_) == answer, request_


@pytest.mark.wasm
def test_m6_component_macs_under_aes_keys(built_plugins: Path) -> None:
    host = KB.make_host()
    cases = aes_cases(*aes_mac_key(host))
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "M6.wasm")
        for request_, answer in cases:
            assert in_component(runtime, plugin, request_) == answer, request_
