"""M2 — Decrypt a data block.

Vectors: FIPS PUB 81 ("DES Modes of Operation", Appendix B/C/D: key
0123456789ABCDEF, IV 1234567890ABCDEF, "Now is the time for all "), decrypted
in ECB, CBC, CFB64, CFB8 and OFB under a single-length DEK/ZEK stored under the
public test LMK (the key fields and ciphertexts are re-derived in
tests/test_cmd_m0.py with tests/oracle.py); round trips with M0, as a real
unit's M0/M2 traces do (softwaregroup-bg/ut-codec-payshield
test/config/test.js), up to 32000 bytes and 32 KiB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import m0, m2
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_m0 import (
    BDK_U,
    BLOCK,
    DEK_EVEN,
    DEK_S,
    DEK_U,
    DOUBLE,
    FIPS_CBC,
    FIPS_CFB8,
    FIPS_CFB64,
    FIPS_ECB,
    FIPS_OFB,
    IV,
    KSN,
    NOW,
    NOW_HEX,
    ZEK_S,
    wire,
)

CASES: list[tuple[bytes, bytes]] = [
    # FIPS 81 back to the text, in each mode; the output IV is the last block of the ciphertext given.
    (wire("00", "1", "2", "00B", DEK_S, "0030", FIPS_ECB), wire("00", "0018", NOW)),
    (wire("01", "1", "2", "00B", DEK_S, IV, "0030", FIPS_CBC), wire("00", FIPS_CBC[-16:], "0018", NOW)),
    (wire("02", "1", "2", "00A", ZEK_S, IV, "0030", FIPS_CFB8), wire("00", FIPS_CFB8[-16:], "0018", NOW)),
    (wire("03", "0", "1", "00B", DEK_S, IV, "0018", bytes.fromhex(FIPS_CFB64)), wire("00", FIPS_CFB64[-16:], "0030", NOW_HEX)),
    (wire("05", "1", "2", "00B", DEK_S, IV, "0030", FIPS_OFB), wire("00", "0018", NOW)),  # OFB: no output IV
    (wire("00", "0", "0", "00A", ZEK_S, "0018", bytes.fromhex(FIPS_ECB), "%00"), wire("00", "0018", NOW)),
    (wire("01", "1", "1", "00b", DEK_S.lower(), IV.lower(), "0030", FIPS_CBC.lower()), wire("00", FIPS_CBC[-16:], "0030", NOW_HEX)),
    # Double length and DUKPT (M0's answers, back).
    (wire("00", "1", "1", "00B", DEK_U, "0010", "31A7364CAC91CA39"), wire("00", "0010", BLOCK)),
    (
        wire("01", "1", "1", "00B", DEK_U, "0000000000000000", "0020", "31A7364CAC91CA3902960C360DD7F660"),
        wire("00", "02960C360DD7F660", "0020", BLOCK * 2),
    ),
    (wire("00", "1", "1", "009", BDK_U, "A05", KSN, "0010", "A8356B9FB7997032"), wire("00", "0010", BLOCK)),
    # Errors.
    (wire("06", "1", "1", "00B", DEK_S, "0010", BLOCK), b"02"),
    (wire("00", "2", "1", "00B", DEK_S, "0010", BLOCK), b"03"),  # M2 takes no text input
    (wire("00", "1", "3", "00B", DEK_S, "0010", BLOCK), b"04"),
    (wire("00", "1", "1", "FFF", DEK_S, "0010", BLOCK), b"05"),
    (wire("00", "1", "1", "00C", DEK_S, "0010", BLOCK), b"05"),
    (wire("00", "1", "1", "00B", DEK_S, "0018", BLOCK), b"06"),  # hex: 24 digits is not whole blocks
    (wire("00", "0", "1", "00B", DEK_S, "0010", BLOCK[:8]), b"06"),  # less data than declared
    (wire("00", "0", "1", "00B", DEK_S, "0008", BLOCK), b"15"),  # more data than declared
    (wire("00", "1", "1", "00B", DEK_S, "001O", BLOCK), b"06"),
    (wire("00", "1", "1", "00B", DEK_EVEN, "0010", BLOCK), b"10"),
    (wire("00", "1", "1", "00B", DEK_S, "0010", BLOCK, "%02"), b"13"),
    (wire("01", "1", "1", "00B", DEK_S, "1234567890ABCDEZ", "0010", BLOCK), b"15"),  # IV not hex
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_m2_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(m2, host, request_) == answer


@pytest.mark.parametrize(("mode", "iv"), [("00", ""), ("01", IV), ("02", IV), ("03", IV)])
def test_32000_bytes_round_trip_through_m0_and_m2(host: Host, mode: str, iv: str) -> None:
    data = bytes((i * 7 + 3) % 256 for i in range(32000))
    encrypted = native(m0, host, wire(mode, "0", "1", "00B", DEK_U, iv, "7D00", data))
    assert encrypted[:2] == b"00"
    body = encrypted[2 + len(iv) :]
    assert body[:4] == b"FA00"  # 64000 hex digits
    cipher_mode = {"00": "ECB", "01": "CBC", "02": "CFB8", "03": "CFB64"}[mode]
    assert bytes.fromhex(body[4:].decode()) == oracle.data_crypt(DOUBLE, cipher_mode, bytes.fromhex(iv), data, encrypt=True)
    chaining = body[-16:] if iv else b""  # the output IV: the last ciphertext block (none in ECB)
    assert encrypted[2 : 2 + len(iv)] == chaining
    assert native(m2, host, wire(mode, "1", "0", "00B", DEK_U, iv, body)) == wire("00", chaining, "7D00", data)


def test_32_kib_round_trip_binary_to_binary(host: Host) -> None:
    data = bytes(range(256)) * 128
    encrypted = native(m0, host, wire("01", "0", "0", "009", BDK_U, "A05", KSN, "0000000000000000", "8000", data))
    assert encrypted[:2] == b"00" and encrypted[18:22] == b"8000"
    decrypted = native(m2, host, wire("01", "0", "0", "009", BDK_U, "A05", KSN, "0000000000000000", encrypted[18:]))
    assert decrypted == wire("00", encrypted[2:18], "8000", data)


def test_chained_calls_give_what_one_call_gives(host: Host) -> None:
    # CBC over 48 bytes in one call = two calls of 24, the second with the first's output IV.
    whole = native(m0, host, wire("01", "0", "1", "00B", DEK_U, IV, "0030", NOW * 2))
    first = native(m0, host, wire("01", "0", "1", "00B", DEK_U, IV, "0018", NOW))
    second = native(m0, host, wire("01", "0", "1", "00B", DEK_U, first[2:18], "0018", NOW))
    assert whole == wire("00", second[2:18], "0060", first[22:], second[22:])
    back = native(m2, host, wire("01", "1", "2", "00B", DEK_U, first[2:18], "0030", second[22:]))
    assert back == wire("00", second[2:18], "0018", NOW)


@pytest.mark.wasm
def test_m2_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "M2.wasm")
    data = bytes((i * 7 + 3) % 256 for i in range(32000)).hex().upper()
    big = wire("01", "1", "0", "00B", DEK_U, IV, "FA00", data)  # the largest hex request: 64000 digits
    for request_ in [*(r for r, _ in CASES), big]:
        assert in_component(runtime, plugin, request_) == native(m2, host, request_), request_[:40]


@pytest.mark.wasm
async def test_m2_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, wire("M2", "00", "1", "2", "00B", DEK_S, "0030", FIPS_ECB), wire("M2", "00", "2")) == [
        wire("M300", "0018", NOW),
        b"M303",
    ]
