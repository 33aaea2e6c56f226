"""M4 — Translate a data block from one key to another.

Vectors: FIPS PUB 81 ("DES Modes of Operation": key 0123456789ABCDEF, IV
1234567890ABCDEF, "Now is the time for all ") ECB and CBC ciphertexts under a
single-length DEK stored under the public test LMK, translated to other keys
and modes; the answers re-derived below with tests/oracle.py (psec, and the
ANSI X9.24-1 DUKPT data key written there). Field order and error codes:
softwaregroup-bg/ut-codec-payshield (messages.json translateDataBlock,
test/config/test.js).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import m4
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_m0 import (
    BDK_S,
    BDK_U,
    BLOCK,
    DEK_EVEN,
    DEK_S,
    DEK_U,
    DOUBLE,
    FIPS_CBC,
    FIPS_ECB,
    FIPS_KEY,
    IV,
    KSN,
    NOW,
    ZEK_S,
    wire,
)

ZERO_IV = "0000000000000000"
NOW_UNDER_DOUBLE = "D80A0D8B2BAE5E4E6A0094171ABCFC2775D2235A706E232C"  # TDES-ECB under DOUBLE
NOW_CFB64_UNDER_FIPS_KEY_ZERO_IV = "9BBB38D7491B1D79999CA2CBC06B1C1F8D1DAFDD29F8E008"

CASES: list[tuple[bytes, bytes]] = [
    # Single-length DEK, ECB -> double-length DEK, ECB.
    (wire("00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0030", FIPS_ECB), wire("00", "0030", NOW_UNDER_DOUBLE)),
    # CBC under the DEK -> CFB64 under a ZEK (the same clear key): both output IVs.
    (
        wire("01", "03", "1", "1", "00B", DEK_S, "00A", ZEK_S, IV, ZERO_IV, "0030", FIPS_CBC),
        wire("00", FIPS_CBC[-16:], NOW_CFB64_UNDER_FIPS_KEY_ZERO_IV[-16:], "0030", NOW_CFB64_UNDER_FIPS_KEY_ZERO_IV),
    ),
    (
        wire("00", "00", "0", "0", "00B", DEK_S, "00B", DEK_U, "0018", bytes.fromhex(FIPS_ECB), "%00"),
        wire("00", "0018", bytes.fromhex(NOW_UNDER_DOUBLE)),
    ),
    # DUKPT: a terminal's data (M0's answer) to a DEK, and a DEK's data to a terminal.
    (
        wire("00", "01", "1", "0", "009", BDK_U, "A05", KSN, "00B", DEK_U, ZERO_IV, "0010", "A8356B9FB7997032"),
        wire("00", "31A7364CAC91CA39", "0008", bytes.fromhex("31A7364CAC91CA39")),
    ),
    (wire("00", "00", "1", "1", "00B", DEK_U, "009", BDK_U, "605", KSN, "0010", "31A7364CAC91CA39"), b"000010A8356B9FB7997032"),
    # Errors.
    (wire("04", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK), b"02"),
    (wire("00", "13", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK), b"07"),
    (wire("05", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, IV, "0010", BLOCK), b"02"),  # no OFB in M4
    (wire("00", "05", "1", "1", "00B", DEK_S, "00B", DEK_U, IV, "0010", BLOCK), b"07"),
    (wire("00", "00", "2", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK), b"03"),
    (wire("00", "00", "1", "2", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK), b"04"),
    (wire("00", "00", "1", "1", "FFF", DEK_S, "00B", DEK_U, "0010", BLOCK), b"05"),
    (wire("00", "00", "1", "1", "00B", DEK_S, "001", DEK_U, "0010", BLOCK), b"08"),
    (wire("00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK[:8]), b"06"),  # actual message too short
    (wire("00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK, "F"), b"15"),  # actual message too long
    (wire("00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0011", BLOCK, "F"), b"06"),  # not whole blocks
    (wire("00", "00", "1", "1", "00B", DEK_EVEN, "00B", DEK_U, "0010", BLOCK), b"10"),
    (wire("00", "00", "1", "1", "00B", DEK_U, "00B", DEK_EVEN, "0010", BLOCK), b"11"),
    (wire("00", "00", "1", "1", "00B", DEK_U, "00B", ZEK_S, "0010", BLOCK), b"11"),  # a ZEK as the DEK: parity fails
    (wire("00", "00", "1", "1", "00B", DEK_U, "009", BDK_S, "A05", KSN, "0010", BLOCK), b"27"),
    (wire("00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK, "%01"), b"13"),
    (wire("01", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0010", BLOCK), b"06"),  # no IV: IV 0010001122334455, length 6677
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.data_crypt(DOUBLE, "ECB", b"", NOW, encrypt=True).hex().upper() == NOW_UNDER_DOUBLE
    assert oracle.data_crypt(FIPS_KEY, "CFB64", bytes(8), NOW, encrypt=True).hex().upper() == NOW_CFB64_UNDER_FIPS_KEY_ZERO_IV
    block = bytes.fromhex(BLOCK.decode())
    terminal = oracle.data_crypt(oracle.dukpt_data_key(DOUBLE, KSN), "ECB", b"", block, encrypt=True)
    assert terminal.hex().upper() == "A8356B9FB7997032"
    assert oracle.data_crypt(DOUBLE, "CBC", bytes(8), block, encrypt=True).hex().upper() == "31A7364CAC91CA39"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_m4_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(m4, host, request_) == answer


def test_32000_bytes_translated(host: Host) -> None:
    data = bytes((i * 11 + 5) % 256 for i in range(32000))
    source = oracle.data_crypt(DOUBLE, "CBC", bytes.fromhex(IV), data, encrypt=True)
    answer = native(m4, host, wire("01", "02", "0", "0", "00B", DEK_U, "00A", ZEK_S, IV, ZERO_IV, "7D00", source))
    expected = oracle.data_crypt(FIPS_KEY, "CFB8", bytes(8), data, encrypt=True)
    assert answer == wire("00", source[-8:].hex().upper(), expected[-8:].hex().upper(), "7D00", expected)


@pytest.mark.wasm
def test_m4_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "M4.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(m4, host, request_), request_


@pytest.mark.wasm
async def test_m4_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins,
        wire("M4", "00", "00", "1", "1", "00B", DEK_S, "00B", DEK_U, "0030", FIPS_ECB),
        wire("M4", "00", "00", "1", "1", "00B", DEK_U, "00B", DEK_EVEN, "0010", BLOCK),
    ) == [wire("M500", "0030", NOW_UNDER_DOUBLE), b"M511"]
