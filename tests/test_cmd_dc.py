"""DC — Verify a terminal PIN using the Visa PVV method.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestVerifyTerminalPINUsingVISAAlgorithm),
keys under the public test LMK, each re-derived below with tests/oracle.py
(psec). The other cases are built with the oracle: PIN blocks with psec, PVVs
with psec's Visa PVV. Round trips with DG are in tests/test_cmd_dg.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.key_types import KeyTypeTable
from hsmd.runtime import Runtime
from logic import dc
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, key_block, native
from tests.conftest import FIRMWARE
from tests.kb_oracle import X9243_BLOCK, X9243_PAN, X9243_PIN_KEY_BLOCK
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # single length, under LMK 14-15
TPK_U = "U8463435FC4B4DAA0C49025272C29B12C"
PVK = "X367930344805B1FAD6146EF4ED7502B3"  # PVK A · PVK B, clear C8199237EA5857BC 40EF9DA2B5E96BBF
ACCOUNT = "550000025321"
PVV = "4402"  # PIN 1234, PVKI 1

TPK_CLEAR = oracle.from_lmk("002", TPK)
PVK_CLEAR = oracle.from_lmk("002", PVK)


def flip(key: bytes) -> bytes:
    """The key with its last byte's parity broken."""
    return key[:-1] + bytes([key[-1] ^ 1])


def block(fmt: str, pin: str, account: str = ACCOUNT, tpk: str = TPK) -> str:
    return oracle.pinblock_encrypt("002", tpk, oracle.pinblock_encode(fmt, pin, account))


CASES = [
    # ThalesSim: a format 01 block under a single TPK, the PVK pair with and without its X.
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}", b"00"),
    (f"{TPK}{PVK[1:]}AE7A708F877571A901{ACCOUNT}1{PVV}", b"00"),
    (f"{TPK}{PVK[1:]}AE7A708F877571A901{ACCOUNT}14401", b"01"),
    # ThalesSim: a format 03 block under a double TPK.
    (f"{TPK_U}{PVK}028DCC093FB0471F03{ACCOUNT}1{PVV}", b"00"),
    (f"{TPK_U}{PVK}028DCC093FB0471F03{ACCOUNT}14401", b"01"),
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}%00", b"00"),
    (f"{TPK}{PVK[1:]}AE7A708F877571A901{ACCOUNT}1{PVV}%00", b"00"),
    # The same PVK pair as one scheme-U key.
    (f"{TPK}{oracle.to_lmk('002', 'U', PVK_CLEAR)}AE7A708F877571A901{ACCOUNT}1{PVV}", b"00"),
    # Only the PIN's first four digits enter the PVV.
    (f"{TPK}{PVK}{block('01', '123456789012')}01{ACCOUNT}1{PVV}", b"00"),
    (f"{TPK}{PVK}{block('01', '5678')}01{ACCOUNT}1{PVV}", b"01"),
    # PVKI 7 and another account, PVV from psec.
    (f"{TPK}{PVK}{block('01', '9876', '123456789012')}011234567890127{oracle.visa_pvv(PVK_CLEAR, '123456789012', 7, '9876')}", b"00"),
    # Errors.
    (f"{oracle.to_lmk('002', 'Z', flip(TPK_CLEAR))}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}", b"10"),
    (f"{TPK}{oracle.to_lmk('002', 'X', flip(PVK_CLEAR))}AE7A708F877571A901{ACCOUNT}1{PVV}", b"11"),
    (f"{TPK}{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}AE7A708F877571A901{ACCOUNT}1{PVV}", b"27"),  # single-length PVK
    (f"{TPK}{oracle.to_lmk('002', 'T', PVK_CLEAR + PVK_CLEAR[:8])}AE7A708F877571A901{ACCOUNT}1{PVV}", b"27"),
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}%01", b"13"),  # LMK 01 not loaded
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}%0A", b"13"),
    (f"{TPK}{PVK}{oracle.pinblock_encrypt('002', TPK, '12F4FFFFFFFFFFFF')}03{ACCOUNT}1{PVV}", b"20"),  # F fill broken
    (f"{TPK}{PVK}AE7A708F877571A999{ACCOUNT}1{PVV}", b"23"),  # no PIN block format 99
    (f"{TPK}{PVK}{oracle.pinblock_encrypt('002', TPK, '123FFFFFFFFFFFFF')}03{ACCOUNT}1{PVV}", b"24"),  # 3-digit PIN
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}144A2", b"15"),  # PVV not numeric
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}A{PVV}", b"15"),  # PVKI not numeric
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}0", b"15"),  # a byte too many
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1440", b"15"),  # PVV short
    (f"{TPK}{PVK}AE7A708F877571AG01{ACCOUNT}1{PVV}", b"15"),  # PIN block not hex
    (f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT[:-1]}X1{PVV}", b"15"),  # account not numeric
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert PVK_CLEAR.hex().upper() == "C8199237EA5857BC40EF9DA2B5E96BBF"
    assert oracle.from_lmk("002", PVK[1:]) == PVK_CLEAR  # a bare 32 H pair: each half under the LMK on its own
    assert oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "1234") == PVV
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("002", TPK, "AE7A708F877571A9"), ACCOUNT) == "1234"
    assert oracle.pinblock_decode("03", oracle.pinblock_decrypt("002", TPK_U, "028DCC093FB0471F")) == "1234"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_dc_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(dc, host, request_.encode()) == answer


def test_pin_block_format_04_binds_the_pan_and_its_pvv_uses_the_digits_before_the_check_digit(host: Host) -> None:
    pan = "4000001234567899"
    plus_block = oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("04", "2468", pan[:12]))
    pvv = oracle.visa_pvv(PVK_CLEAR, pan[-13:-1], 2, "2468")
    assert native(dc, host, f"{TPK}{PVK}{plus_block}04FF{pan}2{pvv}".encode()) == b"00"
    assert native(dc, host, f"{TPK}{PVK}{plus_block}01{pan[-13:-1]}2{pvv}".encode()) != b"00"  # not bound to 12 rightmost


def test_pci_mode_reads_the_tpk_as_key_type_70d() -> None:
    pci = Host(LmkSet({0: TEST_LMK}), FIRMWARE, key_types=KeyTypeTable("pci"))
    tpk_70d = oracle.to_lmk("70D", "Z", TPK_CLEAR)
    assert native(dc, pci, f"{tpk_70d}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}".encode()) == b"00"
    assert native(dc, pci, f"{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}".encode()) == b"10"  # a 002 TPK is no TPK there


@pytest.mark.wasm
def test_dc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "DC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(dc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_dc_over_tcp(built_plugins: Path) -> None:
    requests = [f"DC{TPK}{PVK}AE7A708F877571A901{ACCOUNT}1{PVV}", f"DC{TPK}{PVK}AE7A708F877571A901{ACCOUNT}14401"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"DD00", b"DD01"]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# As in tests/test_cmd_gq.py: the PIN key and the PVK pair generated by A0 under the AES key-block test LMK (%02)
# and opened by the independent key-block oracle; blocks by psec's format 4, PVVs by psec (tests/oracle.py). The
# block binds the whole PAN; the PVV takes its 12 account digits (the 12 rightmost before the check digit). EC
# (tests/test_cmd_ec.py) runs the same requests.

ISO4_PAN = "4321987654321098765"
ISO4_ACCOUNT = ISO4_PAN[-13:-1]  # 765432109876
# The fixed block for the wrong-PAN check, as in tests/test_cmd_da.py: the X9.24-3-2017 supplement's format 4 worked
# example (PIN 1234, PAN 4111111111111111) under its first PIN key, in a key block under the AES test LMK.
OTHER_PAN = "4111111111111112"  # the same 12 account digits (111111111111): only the block's binding differs


def format_48_cases(host: Host) -> list[tuple[bytes, bytes]]:
    """DC/EC requests (the PIN key is a P0 key block, a TPK or a ZPK alike) and their answers, keys made on `host`."""
    pin_key, pin_key_clear = key_block(host, "02", "P0A1B00N00")
    tdes_pin_key, _ = key_block(host, "02", "P0T2B00N00")
    pvk, pvk_clear = key_block(host, "02", "V2T2N00N00")
    pvv = oracle.visa_pvv(pvk_clear, ISO4_ACCOUNT, 1, "2468")
    # A wrong PIN whose PVV differs from the right one's (the keys are new on each run).
    other_pin = next(pin for pin in ("2469", "1357", "8024") if oracle.visa_pvv(pvk_clear, ISO4_ACCOUNT, 1, pin) != pvv)
    right = oracle.iso4_encrypt(pin_key_clear, "2468", ISO4_PAN)
    wrong = oracle.iso4_encrypt(pin_key_clear, other_pin, ISO4_PAN)
    x924_pvv = oracle.visa_pvv(pvk_clear, X9243_PAN[-13:-1], 1, "1234")

    def request(key: str, block: str, fmt: str, account: str = f"{ISO4_PAN};", pvv: str = pvv) -> bytes:
        return f"{key}{pvk}{block}{fmt}{account}1{pvv}%02".encode()

    return [
        (request(pin_key, right, "48"), b"00"),
        (request(pin_key, wrong, "48"), b"01"),  # another PIN
        (request(X9243_PIN_KEY_BLOCK, X9243_BLOCK, "48", f"{X9243_PAN};", x924_pvv), b"00"),
        (request(X9243_PIN_KEY_BLOCK, X9243_BLOCK, "48", f"{OTHER_PAN};", x924_pvv), b"20"),  # bound to the whole PAN
        (request(tdes_pin_key, right[:16], "48"), b"23"),  # 48 under a TDES key
        (request(pin_key, right, "01", ISO4_ACCOUNT), b"23"),  # an AES key takes 48 only
        (request(pin_key, right[:16], "48"), b"15"),  # 16 H under an AES key: 32 H read, the fields after it shift
        (request(pin_key, right, "48", ISO4_PAN), b"15"),  # the PAN without its ;
        (request(pin_key, right, "48", "43219876543;"), b"15"),  # a PAN under 12 digits
    ]


def test_dc_verifies_format_48_under_an_aes_tpk() -> None:
    host = kb_oracle.make_host()
    for request_, answer in format_48_cases(host):
        assert native(dc, host, request_) == answer, request_


@pytest.mark.wasm
def test_dc_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    host = kb_oracle.make_host()
    component_matches_logic(built_plugins / "DC.wasm", dc, host, format_48_cases(host))
