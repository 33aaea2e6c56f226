"""GW — Generate or verify a MAC with a DUKPT MAC key.

One published GW answer: a payShield 10K's MAC of 5 bytes under a BDK key
block of the public 3DES key-block test LMK (ut-codec-payshield, below). The
other MACs are the oracle's: ANSI X9.19 (psec.mac.generate_retail_mac, zero
padding) under the DUKPT MAC request key, which the DUKPT oracle in
tests/oracle.py derives and which is checked here against the published
X9.24-1 MAC request key of KSN FFFF9876543210E00001 (BDK
0123456789ABCDEFFEDCBA9876543210: 042666B4918430A368DE9628D03984C9). The
request framing follows ut-codec-payshield `test/config/test.js`
(generateVerifyMacDukpt: descriptor A05, 20-digit KSN, 4-digit length).
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import go, gw
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

BDK = "U8E3D3E2FD5919657F05A1AA90D32A014"  # type 009, clear 0123456789ABCDEFFEDCBA9876543210
KSN = "FFFF9876543210E00001"
BDK_CLEAR = oracle.from_lmk("009", BDK)
DATA = bytes.fromhex("0001FEFF25303132") + b"AMOUNT=1"  # 16 bytes, some of them not text
MAC = oracle.dukpt_mac(BDK_CLEAR, KSN, DATA)
BAD = MAC[:-1] + ("0" if MAC[-1] != "0" else "1")
KSN2 = "FFFF9876543210EFFC00"
LONG = bytes(range(256)).replace(b"\x19", b"\x18")  # 256 bytes, every value but the trailer's
MAC2 = oracle.dukpt_mac(BDK_CLEAR, KSN2, LONG)


# REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js and test/config/test.js, generateVerifyMacDukpt
# 2 and 3): a payShield 10K's MAC of 5 bytes under a BDK key block of its LMK 01 (the 3DES key-block test LMK).
UNIT_BDK, UNIT_KSN, UNIT_DATA, UNIT_MAC = kb_oracle.BDK, "FFFF0000000000000000", bytes.fromhex("ABCDEF1234"), "3E3DEE3DC52E53ED"


def test_a_unit_zero_pads_short_data() -> None:
    """The unit's MAC is X9.19 over the 5 bytes and three zeros: re-derived from the block's clear BDK."""
    host = kb_oracle.make_host()
    _header, bdk = kb_oracle.open_block(kb_oracle.K3, UNIT_BDK)
    assert oracle.dukpt_mac(bdk, UNIT_KSN, UNIT_DATA + bytes(3)) == oracle.dukpt_mac(bdk, UNIT_KSN, UNIT_DATA) == UNIT_MAC
    generate = req("41", data=UNIT_DATA, bdk=UNIT_BDK, ksn=f"A05{UNIT_KSN}", lmk="%01")
    assert native(gw, host, generate) == b"00" + UNIT_MAC.encode()
    assert native(gw, host, req("11", UNIT_MAC, UNIT_DATA, bdk=UNIT_BDK, ksn=f"A05{UNIT_KSN}", lmk="%01")) == b"00"


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


def req(head: str, mac: str = "", data: bytes = DATA, *, bdk: str = BDK, ksn: str = f"605{KSN}", lmk: str = "") -> bytes:
    return f"{head}{bdk}{ksn}{mac}{len(data):04d}".encode() + data + lmk.encode()


CASES = [
    (req("41"), b"00" + MAC.encode()),
    (req("51"), b"00" + MAC[:8].encode()),  # approval MAC: the left 4 bytes
    (req("61"), b"00" + MAC[8:].encode()),  # decline MAC: the right 4 bytes
    (req("41", ksn="6059876543210E00001"), b"00" + MAC.encode()),
    (req("41", ksn=f"A05{KSN}", lmk="%00"), b"00" + MAC.encode()),
    (req("41", data=LONG, ksn=f"A05{KSN2}"), b"00" + MAC2.encode()),
    (req("11", MAC), b"00"),
    (req("21", MAC[:8]), b"00"),
    (req("31", MAC[8:], lmk="%00"), b"00"),
    (req("11", MAC2, LONG, ksn=f"605{KSN2}"), b"00"),
    (req("11", BAD), b"01"),
    (req("21", MAC[8:]), b"01"),  # the decline half is not the approval MAC
    (req("31", BAD[8:]), b"01"),
    (req("11", MAC, DATA[:8] + b"AMOUNT=2"), b"01"),
    (req("11", MAC, ksn="605FFFF9876543210E00002"), b"01"),  # another transaction's key
    # Errors.
    (req("71"), b"15"),  # MAC mode 1-6
    (req("01"), b"15"),
    (req("42"), b"15"),  # X9.19 only
    (req("41", data=DATA[:13]), b"00" + oracle.dukpt_mac(BDK_CLEAR, KSN, DATA[:13]).encode()),  # zero-padded to 16
    (req("41", data=b""), b"15"),
    (f"41{BDK}605{KSN}0024".encode() + DATA, b"15"),  # length says 24, 16 follow
    (f"41{BDK}605{KSN}00A6".encode() + DATA, b"15"),  # length not decimal
    (req("11"), b"15"),  # a verify mode without the MAC
    (req("21", MAC), b"15"),  # a 16 H MAC where mode 2 has 8 H
    (req("11", MAC[:15] + "G"), b"15"),  # MAC not hex
    (req("41", ksn="A059876543210E00001"), b"15"),  # A05 describes 20 digits
    (req("41", ksn=f"605{KSN[4:8]}{KSN}"), b"15"),  # 24 digits
    (req("41", bdk=oracle.to_lmk("009", "U", flip(BDK_CLEAR))), b"10"),
    (req("41", bdk=oracle.to_lmk("009", "Z", BDK_CLEAR[:8])), b"27"),
    (req("41", lmk="%01"), b"13"),
]


def test_the_oracle_reproduces_the_published_mac_request_key() -> None:
    assert oracle.dukpt_key(BDK_CLEAR, KSN, "mac-request").hex().upper() == "042666B4918430A368DE9628D03984C9"
    key = oracle.dukpt_key(BDK_CLEAR, KSN, "mac-request")
    # X9.19 by hand: CBC under the left half, then decrypt with the right and encrypt with the left.
    state = psec.des.encrypt_tdes_cbc(key[:8] * 2, bytes(8), DATA)[-8:]
    state = psec.des.encrypt_tdes_ecb(key[:8] * 2, psec.des.decrypt_tdes_ecb(key[8:] * 2, state))
    assert state.hex().upper() == MAC


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_gw_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(gw, host, request_) == answer


def test_a_mac_gw_generates_is_one_go_verifies(host: Host) -> None:
    generated = native(gw, host, req("41", data=LONG))[2:].decode()
    # ThalesSim's DUKPT IBM vector (tests/test_cmd_go.py) with this MAC over the same data.
    go_request = (
        f"111{BDK}56C1DC7F3A899043605{KSN}1B9C1845EB993A7A010440123456789001234567890123450004012345N99252FFFFFFFF{generated}0256"
    ).encode() + LONG
    assert native(go, host, go_request) == b"0000"
    assert native(gw, host, req("11", generated, LONG)) == b"00"


@pytest.mark.wasm
def test_gw_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GW.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(gw, host, request_), request_


@pytest.mark.wasm
async def test_gw_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, b"GW" + req("41"), b"GW" + req("11", BAD)) == [b"GX00" + MAC.encode(), b"GX01"]


# --------------------------------------------------------------------------- AES DUKPT: CMAC (methods 4 and 5)
# An AES BDK generated by A0 under the AES key-block test LMK (%02), opened by the independent key-block
# oracle; the MAC key by the X9.24-3 oracle and the CMAC by `cryptography` (tests/oracle.py).


def test_gw_cmac_under_an_aes_dukpt_mac_key() -> None:
    from logic import a0
    from tests import kb_oracle

    host = kb_oracle.make_host()
    bdk = native(a0, host, b"0FFFS%02#B0A1X00N00")[2:-6].decode()
    bdk_clear = kb_oracle.open_block(kb_oracle.KA, bdk)[1]
    ksn = "1234567890123456" + "00000009"
    data = b"4321ABCD" * 3
    cmac = oracle.aes_cmac(oracle.aes_dukpt_key(bdk_clear, ksn, "mac-request"), data)
    assert native(gw, host, f"45{bdk}A05{ksn}0024".encode() + data + b"%02") == f"00{cmac[:16]}".encode()
    assert native(gw, host, f"44{bdk}A05{ksn}0024".encode() + data + b"%02") == f"00{cmac[:16]}".encode()
    assert native(gw, host, f"15{bdk}A05{ksn}{cmac[:16]}0024".encode() + data + b"%02") == b"00"
    assert native(gw, host, f"25{bdk}A05{ksn}{cmac[:8]}0024".encode() + data + b"%02") == b"00"
    assert native(gw, host, f"35{bdk}A05{ksn}{cmac[:8]}0024".encode() + data + b"%02") == b"01"  # the right half is another MAC
    assert native(gw, host, f"41{bdk}A05{ksn}0024".encode() + data + b"%02") == b"A7"  # X9.19 is a DES MAC
    assert native(gw, host, f"42{bdk}A05{ksn}0024".encode() + data + b"%02") == b"15"  # method 2 (AS2805) not offered
