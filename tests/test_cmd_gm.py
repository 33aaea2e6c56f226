"""GM — Hash a block of data.

Vectors: the payShield host command reference's GM example (SHA-1 of the six
bytes "`abcde"); a real unit's SHA-1 and SHA-256 answers from
softwaregroup-bg/ut-codec-payshield test/config/test.js; the FIPS 180 and
RFC 1321 "abc" examples; the published MDC-2 vector ("Now is the time for all "
-> 42E50CD224BACEBA760BDD2BD409281A). Each digest except MDC-2 is re-derived
below with hashlib (no MDC-2 oracle is available; the published value is).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import gm
from tests.commands import in_component, native
from tests.tcp import exchange

UTC_BYTES = bytes.fromhex("77338F74A19E3BB39062A5A479473FC8")

# (hash identifier, data, digest): the digest in hex; the answer carries it as raw bytes.
VECTORS = [
    ("01", b"`abcde", "A4F684537A7BBE842019F7FC13C882F1B1F9AC3B"),  # the manual's example
    ("01", b"some data to hash", "3D22CA807AD75C9FF3CA07C4E6C396B7D99F7206"),  # a real unit (UTC)
    ("06", UTC_BYTES, "68EBB852B948D5A06F1F309580D3EBD85C5F8697B4B42C5656584A37A2DDB96C"),  # a real unit (UTC)
    ("02", b"abc", "900150983CD24FB0D6963F7D28E17F72"),  # RFC 1321
    ("03", b"Now is the time for all ", "42E50CD224BACEBA760BDD2BD409281A"),  # MDC-2, published
    ("05", b"abc", "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7"),  # FIPS 180 examples
    ("06", b"abc", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
    (
        "07",
        b"abc",
        "CB00753F45A35E8BB5A03D699AC65007272C32AB0EDED1631A8B605A43FF5BED8086072BA1E7CC2358BAECA134C825A7",
    ),
    (
        "08",
        b"abc",
        "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F",
    ),
    ("01", b"", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"),  # no data
]
HASHLIB = {"01": "sha1", "02": "md5", "05": "sha224", "06": "sha256", "07": "sha384", "08": "sha512"}

CASES: list[tuple[bytes, bytes]] = [
    *((ident.encode() + f"{len(data):05d}".encode() + data, b"00" + bytes.fromhex(digest)) for ident, data, digest in VECTORS),
    (b"0100006`abcde%00", b"00" + bytes.fromhex("A4F684537A7BBE842019F7FC13C882F1B1F9AC3B")),
    (b"0100003%00", b"00" + hashlib.sha1(b"%00").digest()),  # the data may hold anything, even %00
    (b"0400003abc", b"05"),  # 04 "no hash" is for RSA signatures only
    (b"0900003abc", b"05"),
    (b"0A00003abc", b"05"),
    (b"0100A03abc", b"15"),  # length not 5 digits
    (b"0100004abc", b"80"),  # less data than declared
    (b"0100002abc", b"80"),  # more data than declared
    (b"0100003abc%01", b"13"),  # LMK 01 not loaded
    (b"0100003abc%0", b"13"),
]


@pytest.mark.parametrize(("identifier", "data", "digest"), VECTORS)
def test_vectors_agree_with_hashlib(identifier: str, data: bytes, digest: str) -> None:
    if identifier in HASHLIB:
        assert hashlib.new(HASHLIB[identifier], data).hexdigest().upper() == digest


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_gm_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(gm, host, request_) == answer


def test_a_large_block(host: Host) -> None:
    data = bytes(range(256)) * 200  # 51200 bytes
    assert native(gm, host, b"08" + b"51200" + data) == b"00" + hashlib.sha512(data).digest()


@pytest.mark.wasm
def test_gm_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GM.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(gm, host, request_), request_


@pytest.mark.wasm
async def test_gm_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, b"GM0100006`abcde", b"GM0400003abc") == [
        b"GN00" + bytes.fromhex("A4F684537A7BBE842019F7FC13C882F1B1F9AC3B"),
        b"GN05",
    ]
