"""DA — Verify a terminal PIN using the IBM method.

Keys: the single TPK of ThalesSim's DC vectors (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb) and its IBM PVK (the EE/EA chain in the
same file), under the public test LMK, plus a single-length PVK made here with
the oracle. PIN blocks and offsets are derived independently with
tests/oracle.py (psec: ISO 9564 format 0, psec.pin.generate_ibm3624_offset),
using the real payShield decimalisation rule with the clear table
0123456789123456 (ThalesSim's FFFFFFFFFFFFFFFF is a simulator-private default).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import bk, da
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, key_block, native
from tests.kb_oracle import X9243_BLOCK, X9243_PAN, X9243_PIN_KEY_BLOCK
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # ThalesSim's single TPK; clear 0B681FC20E62C734
PVK = "UA8B1520E201412938388191885FFA50A"  # ThalesSim's IBM PVK; clear 91F8983761D9EAC4761FEC58FDF82A43
PVK1 = "FCBA7CF5972CF0DD"  # single length: clear 0123456789ABCDEF under LMK 14-15
EVEN = "F38EF4656D399467"  # clear 0123456789ABCDEE (even last byte) under LMK 14-15
ACCOUNT = "832937216759"
TABLE = "0123456789123456"
VD = "4458329372N3"  # 4458329372167593 with the account's last five digits
BLOCK = "A465BCCDBAA1D540"  # PIN 4584, ISO format 0 (01), under the TPK
BLOCK_03 = "8E5A3BD4353CAB22"  # PIN 4584, IBM 3624 (03), under the TPK
BLOCK_6 = "F2AABFA263B31F46"  # PIN 123456, ISO format 0, under the TPK
BLOCK_LEN3 = "2CF1CCF989971D6E"  # ISO format 0 with length nibble 3
BLOCK_CTL1 = "1FB32693EEC8EABA"  # ISO format 0 with control nibble 1

HEAD = f"{TPK}{PVK1}12{BLOCK}01"
TAIL = f"{ACCOUNT}{TABLE}{VD}"
CASES = [
    (f"{HEAD}04{TAIL}6256FFFFFFFF", b"00"),  # offset of 4584 under the single PVK
    (f"{TPK}{PVK1}12{BLOCK_03}0304{TAIL}6256FFFFFFFF", b"00"),
    (f"{TPK}{PVK1}12{BLOCK_6}0106{TAIL}390612FFFFFF", b"00"),
    (f"{TPK}{PVK1}12{BLOCK_6}0104{TAIL}390612FFFFFF", b"00"),  # check length below the PIN length
    (f"{TPK}{PVK}12{BLOCK}0104{TAIL}0000FFFFFFFF", b"02"),  # double-length PVK: TDES, warning 02
    (f"{TPK}{PVK}12{BLOCK_6}0104{TAIL}775048FFFFFF", b"02"),
    (f"{HEAD}04{TAIL}6256FFFFFFFF%00", b"00"),
    (f"{HEAD}04{TAIL}6257FFFFFFFF", b"01"),  # wrong offset
    (f"{TPK}{PVK}12{BLOCK}0104{TAIL}0001FFFFFFFF", b"01"),  # wrong offset, double PVK: 01 wins
    (f"{HEAD}04{TAIL}62560FFFFFFF", b"01"),  # 5-digit offset, 4-digit PIN
    (f"{TPK}{PVK1}12{BLOCK_6}0104{TAIL}3906FFFFFFFF", b"01"),  # 4-digit offset, 6-digit PIN
    (f"{HEAD}04{TAIL}6256FFFFFFFF%01", b"13"),  # LMK 01 not loaded
    (f"{EVEN}{PVK1}12{BLOCK}0104{TAIL}6256FFFFFFFF", b"10"),  # TPK parity
    (f"{TPK}{EVEN}12{BLOCK}0104{TAIL}6256FFFFFFFF", b"11"),  # PVK parity
    (f"{TPK}{PVK1}11{BLOCK}0104{TAIL}6256FFFFFFFF", b"15"),  # maximum PIN length must be 12
    (f"{HEAD}05{TAIL}6256FFFFFFFF", b"15"),  # offset shorter than the check length
    (f"{HEAD}03{TAIL}6256FFFFFFFF", b"15"),  # check length below 04
    (f"{HEAD}04{TAIL}FFFFFFFFFFFF", b"15"),  # no offset digits
    (f"{HEAD}04{ACCOUNT}{TABLE}445832937213{'6256FFFFFFFF'}", b"15"),  # validation data without N
    (f"{HEAD}04{TAIL}6256FFFFFFFF0", b"15"),  # trailing data
    (f"{HEAD}04{TAIL}6256FFFFFFF", b"15"),  # offset short
    (f"{TPK}{PVK1}12{BLOCK}0904{TAIL}6256FFFFFFFF", b"23"),  # no format 09
    (f"{TPK}{PVK1}12{BLOCK_CTL1}0104{TAIL}6256FFFFFFFF", b"20"),
    (f"{TPK}{PVK1}12{BLOCK_LEN3}0104{TAIL}6256FFFFFFFF", b"24"),
    (f"{HEAD}04{ACCOUNT}0000000011111111{VD}6256FFFFFFFF", b"25"),  # 2 distinct digits
    (f"{HEAD}04{ACCOUNT}0123456789ABCDEF{VD}6256FFFFFFFF", b"25"),  # not decimal (plaintext tables)
    (f"{HEAD}04{ACCOUNT}0123456789000000{VD}6256FFFFFFFF", b"25"),  # 0 seven times
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    tpk = oracle.from_lmk("002", TPK)
    assert tpk.hex().upper() == "0B681FC20E62C734"
    for block, fmt, pin in [(BLOCK, "01", "4584"), (BLOCK_03, "03", "4584"), (BLOCK_6, "01", "123456")]:
        assert oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode(fmt, pin, ACCOUNT)) == block
    assert oracle.pinblock_encrypt("002", TPK, f"{int('03123FFFFFFFFFFF', 16) ^ int(ACCOUNT, 16):016X}") == BLOCK_LEN3
    assert oracle.pinblock_encrypt("002", TPK, f"{int('1441584FFFFFFFFF', 16) ^ int(ACCOUNT, 16):016X}") == BLOCK_CTL1
    assert oracle.to_lmk("002", "Z", bytes.fromhex("0123456789ABCDEF")) == PVK1
    assert oracle.to_lmk("002", "Z", bytes.fromhex("0123456789ABCDEE")) == EVEN
    vd = oracle.ibm_validation_data(VD, ACCOUNT)
    assert vd == "4458329372167593"
    single, double = oracle.from_lmk("002", PVK1), oracle.from_lmk("002", PVK)
    assert oracle.ibm_offset(single, TABLE, "4584", vd) == "6256"
    assert oracle.ibm_offset(single, TABLE, "123456", vd) == "390612"
    assert oracle.ibm_offset(double, TABLE, "4584", vd) == "0000"
    assert oracle.ibm_offset(double, TABLE, "123456", vd) == "775048"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_da_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(da, host, request_.encode()) == answer


def test_da_reads_format_04s_18_character_account(host: Host) -> None:
    """The manual's "Format 04" page: with a PLUS block the account field is 18 characters (the PAN,
    F-padded on the left), the block bound to the PAN's first 12 digits; the oracle makes the block."""
    pan = "4458329372167593"  # its 12 digits before the check digit are ACCOUNT: VD and the offset stay
    plus = oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("04", "4584", pan[:12]))
    assert native(da, host, f"{TPK}{PVK1}12{plus}0404FF{pan}{TABLE}{VD}6256FFFFFFFF".encode()) == b"00"
    assert native(da, host, f"{TPK}{PVK1}12{plus}0404FF{pan}{TABLE}{VD}6257FFFFFFFF".encode()) == b"01"
    assert native(da, host, f"{TPK}{PVK1}12{plus}0404{ACCOUNT}{TABLE}{VD}6256FFFFFFFF".encode()) == b"15"  # 12 N


def test_bk_offset_verifies_with_da(host: Host) -> None:
    """BK gives the offset of a customer-selected PIN; DA accepts the same block with it and refuses others."""
    for pvk, block, fmt in [(PVK1, BLOCK, "01"), (PVK, BLOCK_6, "01"), (PVK1, BLOCK_03, "03")]:
        answer = native(bk, host, f"002{TPK}{pvk}{block}{fmt}04{TAIL}".encode())
        code, offset = answer[:2], answer[2:].decode()
        assert native(da, host, f"{TPK}{pvk}12{block}{fmt}04{TAIL}{offset}".encode()) == code
        wrong = f"{(int(offset[0]) + 1) % 10}{offset[1:]}"
        assert native(da, host, f"{TPK}{pvk}12{block}{fmt}04{TAIL}{wrong}".encode()) == b"01"


@pytest.mark.wasm
def test_da_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "DA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(da, host, request_.encode()), request_


@pytest.mark.wasm
async def test_da_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"DA{HEAD}04{TAIL}6256FFFFFFFF".encode(), f"DA{HEAD}04{TAIL}6257FFFFFFFF".encode()) == [
        b"DB00",
        b"DB01",
    ]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# As in tests/test_cmd_ca.py: the PIN key and the PVK generated by A0 under the AES key-block test LMK (%02) and
# opened by the independent key-block oracle; blocks by psec's format 4, offsets by psec (tests/oracle.py). The
# block binds the whole PAN; the validation data's N takes the last five of the PAN's 12 account digits (the 12
# rightmost before the check digit). EA (tests/test_cmd_ea.py) runs the same requests.

ISO4_PAN = "4321987654321098765"
ISO4_ACCOUNT = ISO4_PAN[-13:-1]  # 765432109876
# A fixed block for the wrong-PAN check (random fill under a random key could read as a valid block): the format 4
# worked example of the X9.24-3-2017 supplement (PIN 1234, PAN 4111111111111111, fill 2F69ADDE2E9E7ACE) under its
# first PIN key, that key in a key block under the AES test LMK (made once with hsmd, opened below by the oracle).
OTHER_PAN = "4111111111111112"  # the same 12 account digits (111111111111): only the block's binding differs


def format_48_cases(host: Host) -> list[tuple[bytes, bytes]]:
    """DA/EA requests (the PIN key is a P0 key block, a TPK or a ZPK alike) and their answers, keys made on `host`."""
    pin_key, pin_key_clear = key_block(host, "02", "P0A1B00N00")
    tdes_pin_key, _ = key_block(host, "02", "P0T2B00N00")
    pvk, pvk_clear = key_block(host, "02", "V1T2N00N00")  # double length: a verified PIN answers 02
    offset = oracle.ibm_offset(pvk_clear, TABLE, "98765", oracle.ibm_validation_data(VD, ISO4_ACCOUNT)).ljust(12, "F")
    right = oracle.iso4_encrypt(pin_key_clear, "98765", ISO4_PAN)
    wrong = oracle.iso4_encrypt(pin_key_clear, "98764", ISO4_PAN)
    x924_offset = oracle.ibm_offset(pvk_clear, TABLE, "1234", oracle.ibm_validation_data(VD, X9243_PAN[-13:-1])).ljust(12, "F")

    def request(key: str, block: str, fmt: str, account: str = f"{ISO4_PAN};", offset: str = offset) -> bytes:
        return f"{key}{pvk}12{block}{fmt}04{account}{TABLE}{VD}{offset}%02".encode()

    return [
        (request(pin_key, right, "48"), b"02"),  # verified (02: the PVK is double length)
        (request(pin_key, wrong, "48"), b"01"),  # another PIN
        (request(X9243_PIN_KEY_BLOCK, X9243_BLOCK, "48", f"{X9243_PAN};", x924_offset), b"02"),
        (
            request(X9243_PIN_KEY_BLOCK, X9243_BLOCK, "48", f"{OTHER_PAN};", x924_offset),
            b"20",
        ),  # bound to the whole PAN
        (request(tdes_pin_key, right[:16], "48"), b"23"),  # 48 under a TDES key
        (request(pin_key, right, "01", ISO4_ACCOUNT), b"23"),  # an AES key takes 48 only
        (request(pin_key, right[:16], "48"), b"15"),  # 16 H under an AES key: 32 H read, the fields after it shift (check length 98)
        (request(pin_key, right, "48", ISO4_PAN), b"15"),  # the PAN without its ;
        (request(pin_key, right, "48", "43219876543;"), b"15"),  # a PAN under 12 digits
    ]


def test_da_verifies_format_48_under_an_aes_tpk() -> None:
    host = kb_oracle.make_host()
    for request_, answer in format_48_cases(host):
        assert native(da, host, request_) == answer, request_


@pytest.mark.wasm
def test_da_component_answers_format_48_as_the_logic_does(built_plugins: Path) -> None:
    host = kb_oracle.make_host()
    component_matches_logic(built_plugins / "DA.wasm", da, host, format_48_cases(host))
