"""EC — Verify an interchange PIN using the Visa PVV method.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyInterchangePINUsingVISAAlgorithm),
keys under the public test LMK, each re-derived below with tests/oracle.py
(psec). The other cases are built with the oracle: PIN blocks with psec, PVVs
with psec's Visa PVV. Round trips with DG are in tests/test_cmd_dg.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ec
from tests import oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange
from tests.test_cmd_dc import format_48_cases

ZPK = "BAB32D775A38E4AB"  # single length, under LMK 06-07
ZPK_U = "U1EF828AA8F6B80EB83E19FBC373F3A85"
PVK = "X367930344805B1FAD6146EF4ED7502B3"  # PVK A · PVK B, clear C8199237EA5857BC 40EF9DA2B5E96BBF
ACCOUNT = "550000025321"
PVV = "4402"  # PIN 1234, PVKI 1

ZPK_CLEAR = oracle.from_lmk("001", ZPK)
PVK_CLEAR = oracle.from_lmk("002", PVK)


def flip(key: bytes) -> bytes:
    """The key with its last byte's parity broken."""
    return key[:-1] + bytes([key[-1] ^ 1])


def block(fmt: str, pin: str, account: str = ACCOUNT) -> str:
    return oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode(fmt, pin, account))


CASES = [
    # ThalesSim: a format 03 block under a single ZPK, a format 01 block under a double ZPK.
    (f"{ZPK}{PVK}F7808F2CBEC6316803{ACCOUNT}1{PVV}", b"00"),
    (f"{ZPK}{PVK}F7808F2CBEC6316803{ACCOUNT}14401", b"01"),
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}", b"00"),
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}14401", b"01"),
    # The PVK pair without its X: two single keys.
    (f"{ZPK_U}{PVK[1:]}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}", b"00"),
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}%00", b"00"),
    (f"{ZPK_U}{PVK[1:]}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}%00", b"00"),
    # The same PVK pair as one scheme-U key.
    (f"{ZPK_U}{oracle.to_lmk('002', 'U', PVK_CLEAR)}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}", b"00"),
    # Only the PIN's first four digits enter the PVV.
    (f"{ZPK}{PVK}{block('01', '123456789012')}01{ACCOUNT}1{PVV}", b"00"),
    (f"{ZPK}{PVK}{block('01', '5678')}01{ACCOUNT}1{PVV}", b"01"),
    # PVKI 7 and another account, PVV from psec.
    (f"{ZPK}{PVK}{block('01', '9876', '123456789012')}011234567890127{oracle.visa_pvv(PVK_CLEAR, '123456789012', 7, '9876')}", b"00"),
    # Errors.
    (f"{oracle.to_lmk('001', 'Z', flip(ZPK_CLEAR))}{PVK}F7808F2CBEC6316803{ACCOUNT}1{PVV}", b"10"),
    (f"{ZPK}{oracle.to_lmk('002', 'X', flip(PVK_CLEAR))}F7808F2CBEC6316803{ACCOUNT}1{PVV}", b"11"),
    (f"{ZPK}{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}F7808F2CBEC6316803{ACCOUNT}1{PVV}", b"27"),  # single-length PVK
    (f"{ZPK}{oracle.to_lmk('002', 'T', PVK_CLEAR + PVK_CLEAR[:8])}F7808F2CBEC6316803{ACCOUNT}1{PVV}", b"27"),
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}%01", b"13"),  # LMK 01 not loaded
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}%0A", b"13"),
    (f"{ZPK}{PVK}{oracle.pinblock_encrypt('001', ZPK, '12F4FFFFFFFFFFFF')}03{ACCOUNT}1{PVV}", b"20"),  # F fill broken
    (f"{ZPK}{PVK}F7808F2CBEC6316899{ACCOUNT}1{PVV}", b"23"),  # no PIN block format 99
    (f"{ZPK}{PVK}{oracle.pinblock_encrypt('001', ZPK, '123FFFFFFFFFFFFF')}03{ACCOUNT}1{PVV}", b"24"),  # 3-digit PIN
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}144A2", b"15"),  # PVV not numeric
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}A{PVV}", b"15"),  # PVKI not numeric
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}0", b"15"),  # a byte too many
    (f"{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1440", b"15"),  # PVV short
    (f"{ZPK}{PVK}F7808F2CBEC6316G03{ACCOUNT}1{PVV}", b"15"),  # PIN block not hex
    (f"{ZPK}{PVK}F7808F2CBEC6316803{ACCOUNT[:-1]}X1{PVV}", b"15"),  # account not numeric
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert PVK_CLEAR.hex().upper() == "C8199237EA5857BC40EF9DA2B5E96BBF"
    assert oracle.from_lmk("002", PVK[1:]) == PVK_CLEAR  # a bare 32 H pair: each half under the LMK on its own
    assert oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "1234") == PVV
    assert oracle.pinblock_decode("03", oracle.pinblock_decrypt("001", ZPK, "F7808F2CBEC63168")) == "1234"
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("001", ZPK_U, "91DDDA0A7C12CFAA"), ACCOUNT) == "1234"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ec_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(ec, host, request_.encode()) == answer


def test_pin_block_format_04_binds_the_pan_and_its_pvv_uses_the_digits_before_the_check_digit(host: Host) -> None:
    pan = "4000001234567899"
    plus_block = oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("04", "2468", pan[:12]))
    pvv = oracle.visa_pvv(PVK_CLEAR, pan[-13:-1], 2, "2468")
    assert native(ec, host, f"{ZPK}{PVK}{plus_block}04FF{pan}2{pvv}".encode()) == b"00"
    assert native(ec, host, f"{ZPK}{PVK}{plus_block}01{pan[-13:-1]}2{pvv}".encode()) != b"00"  # not bound to 12 rightmost


@pytest.mark.wasm
def test_ec_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ec, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ec_over_tcp(built_plugins: Path) -> None:
    requests = [f"EC{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}1{PVV}", f"EC{ZPK_U}{PVK}91DDDA0A7C12CFAA01{ACCOUNT}14401"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"ED00", b"ED01"]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# DC's requests (tests/test_cmd_dc.py: keys by A0 under the AES key-block test LMK, blocks and PVVs by psec, the
# fixed X9.24-3 block for the wrong-PAN check): EC reads its ZPK as DC reads its TPK, a P0 key block either way.


def test_ec_verifies_format_48_under_an_aes_zpk() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()
    for request_, answer in format_48_cases(host):
        assert native(ec, host, request_) == answer, request_


@pytest.mark.wasm
def test_ec_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()
    component_matches_logic(built_plugins / "EC.wasm", ec, host, format_48_cases(host))
