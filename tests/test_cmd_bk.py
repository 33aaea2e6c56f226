"""BK — Generate an IBM PIN offset for a customer-selected PIN.

Keys and PIN blocks: ThalesSim's single TPK (DC vectors) and its ZPK, PVK and
PIN block 28992058275C1FED (PIN 4584, GenerateAndVerifyIBMPin), from
nickntg/thalessimulatorlibrary ThalesCore.Tests/HostCommandTests.vb, under the
public test LMK, plus a single-length PVK made here. Offsets are re-derived
with tests/oracle.py (psec.pin.generate_ibm3624_offset) using the real
payShield decimalisation rule and clear tables (ThalesSim's FFFFFFFFFFFFFFFF
is a simulator-private default). Answer shape `BL02` + 6 digits + FFFFFF as in
softwaregroup-bg/ut-codec-payshield `test/config/test.js`.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import bk
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # clear 0B681FC20E62C734
ZPK = "U402F396F7ABEDC14976EB65959AA99B2"  # clear 98010ECE70A8FEA82AF8EA4A3B5B0494
PVK = "UA8B1520E201412938388191885FFA50A"  # clear 91F8983761D9EAC4761FEC58FDF82A43
PVK1 = "FCBA7CF5972CF0DD"  # single length: clear 0123456789ABCDEF under LMK 14-15
EVEN_TPK = "F38EF4656D399467"  # clear 0123456789ABCDEE (even last byte) under LMK 14-15
EVEN_ZPK = "F1F31D9B35137917"  # the same clear key under LMK 06-07
ACCOUNT = "832937216759"
TABLE = "0123456789123456"
TABLE2 = "0123456789012345"
VD = "4458329372N3"  # 4458329372167593
TPK_BLOCK = "A465BCCDBAA1D540"  # PIN 4584, ISO format 0, under the TPK
TPK_BLOCK_6 = "F2AABFA263B31F46"  # PIN 123456, ISO format 0, under the TPK
TPK_BLOCK_LEN3 = "2CF1CCF989971D6E"  # ISO format 0 with length nibble 3
ZPK_BLOCK = "28992058275C1FED"  # ThalesSim: PIN 4584, ISO format 0, under the ZPK
ZPK_BLOCK_03 = "E03EE7FE6C8FE034"  # PIN 4584, IBM 3624 (03), under the ZPK

TAIL = f"{ACCOUNT}{TABLE}{VD}"
CASES = [
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}", b"006256FFFFFFFF"),
    (f"002{TPK}{PVK1}{TPK_BLOCK_6}0104{TAIL}", b"00390612FFFFFF"),
    (f"002{TPK}{PVK1}{TPK_BLOCK_6}0106{TAIL}", b"00390612FFFFFF"),
    (f"002{TPK}{PVK}{TPK_BLOCK_6}0104{ACCOUNT}{TABLE2}{VD}", b"02785148FFFFFF"),  # double PVK: warning 02
    (f"001{ZPK}{PVK}{ZPK_BLOCK}0104{TAIL}", b"020000FFFFFFFF"),
    (f"001{ZPK}{PVK}{ZPK_BLOCK}0104{ACCOUNT}{TABLE2}{VD}", b"020101FFFFFFFF"),
    (f"001{ZPK}{PVK1}{ZPK_BLOCK_03}0304{TAIL}", b"006256FFFFFFFF"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}%00", b"006256FFFFFFFF"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}%01", b"13"),
    (f"003{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}", b"04"),  # key type: 001 or 002 only
    (f"001{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}", b"10"),  # a TPK given as a ZPK: parity fails under 06-07
    (f"002{EVEN_TPK}{PVK1}{TPK_BLOCK}0104{TAIL}", b"10"),
    (f"001{EVEN_ZPK}{PVK}{ZPK_BLOCK}0104{TAIL}", b"10"),
    (f"002{TPK}{EVEN_TPK}{TPK_BLOCK}0104{TAIL}", b"11"),  # PVK parity
    (f"002{TPK}{PVK1}{TPK_BLOCK}0105{TAIL}", b"24"),  # PIN shorter than the check length
    (f"002{TPK}{PVK1}{TPK_BLOCK_LEN3}0104{TAIL}", b"24"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0304{TAIL}", b"20"),  # an ISO-0 block read as 3624
    (f"002{TPK}{PVK1}{TPK_BLOCK}0704{TAIL}", b"23"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0100{TAIL}", b"15"),  # check length below 04
    (f"002{TPK}{PVK1}{TPK_BLOCK}12{TAIL}", b"15"),  # short: no format code
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}F", b"15"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}*0104", b"15"),  # no excluded PIN table
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{ACCOUNT}9999888877776666{VD}", b"25"),
    (f"002{TPK}{PVK1}{TPK_BLOCK}0104{ACCOUNT}0123456789ABCDEF{VD}", b"25"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("01", "4584", ACCOUNT)) == TPK_BLOCK
    assert oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("01", "123456", ACCOUNT)) == TPK_BLOCK_6
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("001", ZPK, ZPK_BLOCK), ACCOUNT) == "4584"
    assert oracle.pinblock_encrypt("001", ZPK, oracle.pinblock_encode("03", "4584")) == ZPK_BLOCK_03
    assert oracle.to_lmk("001", "Z", bytes.fromhex("0123456789ABCDEE")) == EVEN_ZPK
    vd = oracle.ibm_validation_data(VD, ACCOUNT)
    single, double = oracle.from_lmk("002", PVK1), oracle.from_lmk("002", PVK)
    assert oracle.ibm_offset(single, TABLE, "4584", vd) == "6256"
    assert oracle.ibm_offset(single, TABLE, "123456", vd) == "390612"
    assert oracle.ibm_offset(double, TABLE2, "123456", vd) == "785148"
    assert oracle.ibm_offset(double, TABLE, "4584", vd) == "0000"
    assert oracle.ibm_offset(double, TABLE2, "4584", vd) == "0101"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_bk_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(bk, host, request_.encode()) == answer


@pytest.mark.parametrize("pin", ["0000", "9999", "12345", "8675309", "123456789012"])
@pytest.mark.parametrize("table", [TABLE, TABLE2, "9876543210987654"])
def test_offsets_agree_with_psec(host: Host, pin: str, table: str) -> None:
    vd = oracle.ibm_validation_data(VD, ACCOUNT)
    for pvk in (PVK1, PVK):
        block = oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("01", pin, ACCOUNT))
        offset = oracle.ibm_offset(oracle.from_lmk("002", pvk), table, pin, vd)
        code = b"00" if pvk == PVK1 else b"02"
        assert native(bk, host, f"002{TPK}{pvk}{block}0104{ACCOUNT}{table}{VD}".encode()) == code + offset.ljust(12, "F").encode()


@pytest.mark.wasm
def test_bk_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "BK.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(bk, host, request_.encode()), request_


@pytest.mark.wasm
async def test_bk_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"BK002{TPK}{PVK1}{TPK_BLOCK}0104{TAIL}".encode(), f"BK003{TPK}".encode()) == [
        b"BL006256FFFFFFFF",
        b"BL15",
    ]


def test_bk_takes_key_blocks_with_key_type_fff() -> None:
    """ut-codec-payshield's generateOffsetIbm fixture sends `BKFFF` + a P0 block + a V1 block (its
    decimalisation table is encrypted under that unit's LMK, so the fixture itself cannot be replayed).
    Blocks made by A0 under LMK 01, opened by the key-block oracle; psec computes the offset."""
    from logic import a0

    host = kb_oracle.make_host()
    zpk = native(a0, host, b"0FFFS%01#P0T2B00E00")[2:-6].decode()
    pvk = native(a0, host, b"0FFFS%01#V1T2C00E00")[2:-6].decode()
    zpk_clear, pvk_clear = (kb_oracle.open_block(kb_oracle.K3, block)[1] for block in (zpk, pvk))
    block = psec.des.encrypt_tdes_ecb(zpk_clear, bytes.fromhex(oracle.pinblock_encode("01", "4584", ACCOUNT))).hex().upper()
    offset = oracle.ibm_offset(pvk_clear, TABLE, "4584", oracle.ibm_validation_data(VD, ACCOUNT))
    answer = native(bk, host, f"FFF{zpk}{pvk}{block}0104{TAIL}%01".encode())
    assert answer == f"02{offset.ljust(12, 'F')}".encode()  # a double-length PVK: the 02 warning, as the unit's BL02
    assert native(bk, host, f"FFF{pvk}{pvk}{block}0104{TAIL}%01".encode()) == b"A6"  # a PVK block as the PIN key
    assert native(bk, host, f"FFF{ZPK}{pvk}{block}0104{TAIL}%01".encode()) == b"04"  # FFF needs a key block


def test_bk_gives_a_real_units_offsets_with_its_encrypted_table() -> None:
    """softwaregroup-bg/ut-codec-payshield docs/examples.js: a payShield 10K under LMK 01 (the
    public 3DES key-block test LMK) encrypted the table 0123456789012345 to 709F26B22464E96A
    ("DTAB" line) and, with that table, answered generateOffsetIbm (BK FFF, ZPK_1, its PVK V1
    block) with offsets 309783FFFFFF and 035965FFFFFF. The oracle decrypts the table under the
    LMK with every byte XORed with 0x54 (cryptography's TDES), the PIN blocks under the ZPK and
    the PVK block with the key-block oracle, and re-derives both offsets with psec."""
    from dataclasses import replace

    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    encrypted = "709F26B22464E96A"
    table_key = bytes(b ^ 0x54 for b in kb_oracle.K3)
    decryptor = Cipher(TripleDES(table_key), modes.ECB()).decryptor()
    assert (decryptor.update(bytes.fromhex(encrypted)) + decryptor.finalize()).hex() == "0123456789012345"
    pvk = "S00072V1TN00E00010AE0AD2B1990AB407FAD15059E287760A05DF4DA2391EAB138877E22"
    pvk_clear = kb_oracle.open_block(kb_oracle.K3, pvk)[1]
    host = kb_oracle.make_host()
    host.pin_settings = replace(host.pin_settings, decimalisation_tables="encrypted")
    for block, account, data, offset in [
        ("967CDB6E3D492E28", "850103093936", "50103093936N", "309783"),
        ("FC99D994F1D3D3B8", "600000000000", "0000000000N0", "035965"),
    ]:
        clear = psec.des.decrypt_tdes_ecb(kb_oracle.ZPK_1_CLEAR, bytes.fromhex(block)).hex().upper()
        pin = oracle.pinblock_decode("01", clear, account)
        assert oracle.ibm_offset(pvk_clear, "0123456789012345", pin, oracle.ibm_validation_data(data, account)) == offset
        request = f"FFF{kb_oracle.ZPK_1}{pvk}{block}0106{account}{encrypted}{data}%01".encode()
        assert native(bk, host, request) == f"02{offset}FFFFFF".encode()  # a double-length PVK: 02
