"""Key-block LMKs in the host: LMK sets and files, key handles from blocks, header enforcement, export and import.

Known answers, each naming its source:
- REAL: softwaregroup-bg/ut-codec-payshield docs/examples.js and test/config/test.js: blocks a real
  payShield 10K returned under its LMK 01 (the public 3DES key-block test LMK), with the check
  values, the CVV (181) and the MAC (F9369211) the unit computed with them.
- BP-Tools: EFTlab BP-Tools blocks under the public AES key-block test LMK (CryptoCarver
  ThalesKeyBlockAesTest.java), LMK identifier 02.
- libiso: rkbalgi/libiso test_key_block_lmk.go gives the AES test LMK's check value 9D04A0.
Independent oracles: tests/kb_oracle.py (Thales blocks with `cryptography` alone), psec.tr31 (TR-31),
psec (check values, CVV).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psec
import pytest

from hsmd.app import StartupError, load_lmks
from hsmd.cli import main
from hsmd.config import Config
from hsmd.host import TEST_LMK, Host, HostError, LmkSet, RequestScope, key_blocks
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES, Header, KeyBlockLmk
from hsmd.host.lmk_file import LmkFileError, generate_lmk, lmk_kind, load_lmk_file, write_lmk_file
from logic import cc
from tests import guest_memory, kb_oracle, oracle
from tests.commands import native
from tests.conftest import link_plugin, make_runtime

FIRMWARE = kb_oracle.FIRMWARE
K3, KA = kb_oracle.K3, kb_oracle.KA
ZMK_1, ZMK_1_CLEAR, ZPK_1, ZPK_1_CLEAR = kb_oracle.ZMK_1, kb_oracle.ZMK_1_CLEAR, kb_oracle.ZPK_1, kb_oracle.ZPK_1_CLEAR
ZPK_1_UNDER_ZMK_1, AES_LMK_BDK = kb_oracle.ZPK_1_UNDER_ZMK_1, kb_oracle.AES_LMK_BDK
CVK, TAK, BDK = kb_oracle.CVK, kb_oracle.TAK, kb_oracle.BDK
make_host = kb_oracle.make_host


@pytest.fixture
def kb_host() -> Host:
    return make_host()


@pytest.fixture
def scope() -> RequestScope:
    return RequestScope("t")


def code_of(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(HostError) as refused:
        call(*args)
    return refused.value.code


# --------------------------------------------------------------------------- LMK sets, check values, JK


def test_lmk_set_hands_out_each_kind_only_where_it_fits(kb_host: Host) -> None:
    lmks = kb_host.lmks
    assert lmks.get(1) is TEST_KEYBLOCK_LMK_3DES and lmks.keyblock(2) is TEST_KEYBLOCK_LMK_AES and lmks.select(None) is TEST_LMK
    assert code_of(lmks.select, 1) == "A1"  # a variant-only operation (PIN under the LMK, RSA…) on a key-block LMK
    assert code_of(lmks.keyblock, 0) == "A1"
    assert code_of(lmks.get, 3) == "13"
    assert lmks.resolve(None) == 0 and make_host(default=1).lmks.resolve(None) == 1


def test_check_values_per_kind(kb_host: Host, scope: RequestScope) -> None:
    # Variant: pair 00-01's check value (shared/reference/payshield.md). AES key-block: AES-CMAC of an empty
    # message, which gives libiso's 9D04A0 for the public AES test LMK. 3DES key-block: nothing public
    # reproduces libiso's 165126; hsmd shows the LMK's TDES check value (psec computes it independently).
    assert kb_host.lmk_check_value(scope, 0) == "7D22270000000000"
    assert kb_host.lmk_check_value(scope, 2) == "9D04A00000000000"
    assert kb_host.lmk_check_value(scope, 1) == psec.des.generate_kcv(K3, 3).hex().upper() + "0" * 10


def test_lmk_table_reports_scheme_and_algorithm(kb_host: Host, scope: RequestScope) -> None:
    table = [(row.id, row.scheme, row.algorithm, row.live) for row in kb_host.lmk_table(scope)]
    assert table == [(0, "V", "0", False), (1, "K", "1", False), (2, "K", "2", False)]  # 3DES triple length: 1, AES-256: 2


# --------------------------------------------------------------------------- LMK files


@pytest.mark.parametrize("kind", ["keyblock-3des", "keyblock-aes", "variant"])
def test_lmk_files_of_each_kind_round_trip(tmp_path: Path, kind: str) -> None:
    lmk = generate_lmk(kind)  # type: ignore[call-overload]
    write_lmk_file(tmp_path / "x.lmk", lmk)
    assert (tmp_path / "x.lmk").stat().st_mode & 0o777 == 0o600
    assert f"kind = {kind}\n" in (tmp_path / "x.lmk").read_text()
    assert load_lmk_file(tmp_path / "x.lmk") == lmk
    assert not lmk.is_test


@pytest.mark.parametrize(
    ("text", "test"),
    [
        ("kind = keyblock-3des\nkey 0123456789ABCDEF8080808080808080FEDCBA9876543210\n", TEST_KEYBLOCK_LMK_3DES),
        (
            "# the AES one\nkind=keyblock-aes\n9B71333A13F9FAE72F9D0E2DAB4AD6784718012F9244033F3F26A2DE0C8AA11A # test\n",
            TEST_KEYBLOCK_LMK_AES,
        ),
    ],
)
def test_a_file_holding_a_public_test_key_block_lmk_is_flagged(tmp_path: Path, text: str, test: KeyBlockLmk) -> None:
    path = tmp_path / "t.lmk"
    path.write_text(text)
    path.chmod(0o600)
    loaded = load_lmk_file(path)
    assert loaded == test and loaded.is_test


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("kind = keyblock-3des\nkey " + K3.hex() + "\n", 0o640, "x.lmk: accessible to other users (mode -rw-r-----); chmod go-rwx it"),
        (
            "kind = keyblock-des\nkey " + K3.hex() + "\n",
            0o600,
            "x.lmk:1: unknown LMK kind 'keyblock-des' (one of variant, keyblock-3des, keyblock-aes)",
        ),
        ("kind = keyblock-3des\nkey " + K3.hex()[:32] + "\n", 0o600, "x.lmk:2: expected [key] and 48 hex characters"),
        ("kind = keyblock-aes\nkey " + K3.hex() + "\n", 0o600, "x.lmk:2: expected [key] and 64 hex characters"),
        ("kind = keyblock-3des\nkey 00" + K3.hex()[2:] + "\n", 0o600, "x.lmk:2: the TDES key does not have odd parity"),
        ("kind = keyblock-aes\n", 0o600, "x.lmk: 0 key lines, a keyblock-aes LMK is one key of 64 hex characters"),
        (
            "kind = keyblock-aes\n" + KA.hex() + "\n" + KA.hex() + "\n",
            0o600,
            "x.lmk: 2 key lines, a keyblock-aes LMK is one key of 64 hex characters",
        ),
    ],
)
def test_unusable_key_block_lmk_files_are_refused_with_the_reason(tmp_path: Path, text: str, mode: int, message: str) -> None:
    path = tmp_path / "x.lmk"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(LmkFileError) as refused:
        load_lmk_file(path)
    assert str(refused.value) == f"{tmp_path}/{message}"


def test_a_key_block_lmk_file_behind_a_symlink_or_not_utf8_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.lmk"
    real.write_text("kind = keyblock-aes\n" + KA.hex() + "\n")
    real.chmod(0o600)
    (tmp_path / "link.lmk").symlink_to(real)
    with pytest.raises(LmkFileError, match="is a symlink"):
        load_lmk_file(tmp_path / "link.lmk")
    real.write_bytes(b"kind = keyblock-aes\n\xff\n")
    with pytest.raises(LmkFileError, match="not UTF-8"):
        load_lmk_file(real)


# --------------------------------------------------------------------------- keys from and to the LMK


def test_real_unit_blocks_give_their_keys_and_check_values(kb_host: Host, scope: RequestScope) -> None:
    # REAL: ZMK-1 check value 2356F2, ZPK-1 4FE9FD (docs/examples.js).
    zmk = kb_host.key_from_lmk(scope, "FFF", ZMK_1, 1)
    assert kb_host.key_check_value(scope, zmk)[:6] == "2356F2"
    assert kb_host.key_check_value(scope, kb_host.key_from_lmk(scope, "001", ZPK_1, 1))[:6] == "4FE9FD"
    info = kb_host.key_describe(scope, zmk)
    assert (info.key_type, info.length, info.odd_parity) == ("FFF", 16, True)


def test_the_aes_test_lmk_opens_bp_tools_blocks_and_aes_check_values_are_cmac(kb_host: Host, scope: RequestScope) -> None:
    # BP-Tools (CryptoCarver): key 000102…0F. Its check value: AES-CMAC of a zero block (X9.24-1 A.3).
    key = kb_host.key_from_lmk(scope, "FFF", AES_LMK_BDK, 2)
    clear = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    assert kb_host.key_check_value(scope, key)[:6] == psec.des.generate_kcv(clear, 3).hex().upper()  # a TDES key (algorithm T)
    aes_key = kb_host.key_generate_block(scope, "D0A3B00S00", 2)
    opened = kb_oracle.open_block(KA, kb_host.key_to_lmk(scope, aes_key, "S", 2))
    assert opened[0] == "10128D0AB00S0002"  # 2 + 32 bytes padded to 48: 96 H, header 16, authenticator 16
    assert kb_host.key_check_value(scope, aes_key)[:6] == kb_oracle.aes_kcv(opened[1])


@pytest.mark.parametrize(
    ("key_type", "key", "lmk_id", "code"),
    [
        ("001", "U1457FF6ADF6250C66C368416B4C9D383", 1, "A1"),  # a variant key under a key-block LMK
        ("FFF", ZPK_1, 0, "A1"),  # a key block under a variant LMK
        ("001", ZPK_1, 0, "A1"),
        ("FFF", ZPK_1, 2, "A1"),  # a 3DES-LMK block ('0') under the AES LMK
        ("FFF", AES_LMK_BDK, 1, "A1"),
        ("FFF", ZPK_1[:-1] + ("0" if ZPK_1[-1] != "0" else "1"), 1, "A4"),  # authenticator
        ("FFF", ZPK_1[:20] + ("0" if ZPK_1[20] != "0" else "1") + ZPK_1[21:], 1, "A4"),  # encrypted data
        ("FFF", ZPK_1.replace("P0TB", "P0TN", 1), 1, "A4"),  # the header is authenticated
        ("402", ZPK_1, 1, "A6"),  # a ZPK block where a CVK is expected
        ("001", CVK, 1, "A6"),
        ("000", ZPK_1, 1, "A6"),
        ("FFF", ZPK_1[:5] + "Q" + ZPK_1[6:], 1, "15"),  # length field not digits
        ("FFF", ZPK_1 + "00", 1, "15"),  # length field does not match
        ("FFF", "S2" + ZPK_1[2:], 1, "BE"),  # unknown version ID
    ],
)
def test_keys_the_lmk_refuses(kb_host: Host, scope: RequestScope, key_type: str, key: str, lmk_id: int, code: str) -> None:
    assert code_of(kb_host.key_from_lmk, scope, key_type, key, lmk_id) == code


def test_a_block_naming_another_lmk_is_refused(scope: RequestScope) -> None:
    # The block's header says LMK 01; the same test LMK loaded as 03 refuses it (A3, hsmd's reading).
    host = Host(LmkSet({0: TEST_LMK, 3: TEST_KEYBLOCK_LMK_3DES}), FIRMWARE)
    assert code_of(host.key_from_lmk, scope, "FFF", ZPK_1, 3) == "A3"


def test_the_default_lmk_may_be_a_key_block_lmk(scope: RequestScope) -> None:
    host = make_host(default=1)
    assert host.key_check_value(scope, host.key_from_lmk(scope, "FFF", ZMK_1, None))[:6] == "2356F2"


def test_key_to_lmk_rewraps_with_the_header_and_refuses_mixed_kinds(kb_host: Host, scope: RequestScope) -> None:
    zpk = kb_host.key_from_lmk(scope, "001", ZPK_1, 1)
    again = kb_host.key_to_lmk(scope, zpk, "S", 1)
    # Real-unit trace and re-wrap agree on the header and the first two cipher blocks (the IV is the header;
    # only the random padding in the third block differs).
    assert again[:49] == ZPK_1[:49] and again != ZPK_1
    assert kb_oracle.open_block(K3, again) == (ZPK_1[1:17], ZPK_1_CLEAR)
    assert code_of(kb_host.key_to_lmk, scope, zpk, "U", 1) == "A1"
    assert code_of(kb_host.key_to_lmk, scope, zpk, "S", 0) == "A1"  # a variant LMK takes no block
    assert code_of(kb_host.key_to_lmk, scope, kb_host.key_from_lmk(scope, "FFF", ZPK_1, 1), "U", 0) == "A1"  # FFF: no LMK pair
    variant = kb_host.key_generate(scope, "001", "U")
    assert code_of(kb_host.key_to_lmk, scope, variant, "S", 1) == "A1"  # no header to write


# --------------------------------------------------------------------------- header enforcement, known answers


def test_real_unit_cvv_and_mac(kb_host: Host, scope: RequestScope) -> None:
    # REAL (test/config/test.js): CW with the CVK block → 181; M8 verifies MAC F9369211 over ABCDEF12 (alg 1, pad 1).
    cvk = kb_host.key_from_lmk(scope, "402", CVK, 1)
    assert kb_host.card_cvv(scope, cvk, "502265400089000092", "2010", "620") == "181"
    assert oracle.visa_cvv(bytes.fromhex("5179BFD6894C8937EFA1AD3BB9F2A17F"), "502265400089000092", "2010", "620") == "181"
    tak = kb_host.key_from_lmk(scope, "FFF", TAK, 1)
    assert kb_host.mac_compute(scope, tak, 1, 1, "0" * 16, "ABCDEF12", True)[:8] == "F9369211"


def test_usage_mode_and_algorithm_are_enforced(kb_host: Host, scope: RequestScope) -> None:
    zpk = kb_host.key_from_lmk(scope, "FFF", ZPK_1, 1)
    assert code_of(kb_host.card_cvv, scope, zpk, "502265400089000092", "2010", "620") == "A6"  # a PIN key makes no CVV
    assert code_of(kb_host.mac_compute, scope, zpk, 1, 1, "0" * 16, "00", True) == "A6"
    # Mode of use D (decrypt only): a PIN block can be read, not written; E the other way round.
    decrypt_only = kb_host.key_generate_block(scope, "P0T2D00E00", 1)
    encrypt_only = kb_host.key_generate_block(scope, "P0T2E00E00", 1)
    pin = kb_host.pin_generate(scope, 4)
    block = kb_host.pin_to_block(scope, encrypt_only, pin, "01", "123456789012")
    assert code_of(kb_host.pin_from_block, scope, encrypt_only, block, "01", "123456789012") == "A8"
    assert code_of(kb_host.pin_to_block, scope, decrypt_only, pin, "01", "123456789012") == "A8"
    # Data keys: E encrypts only; an AES data key works in 16-byte blocks (80 for 8 bytes).
    data_e = kb_host.key_generate_block(scope, "D0T2E00E00", 1)
    assert len(kb_host.data_crypt(scope, data_e, True, "ECB", "0" * 16, "00" * 8)) == 16
    assert code_of(kb_host.data_crypt, scope, data_e, False, "ECB", "0" * 16, "00" * 8) == "A8"
    aes_data = kb_host.key_generate_block(scope, "D0A3B00E00", 2)
    assert code_of(kb_host.data_crypt, scope, aes_data, True, "ECB", "0" * 32, "00" * 8) == "80"
    # An AES MAC key runs CMAC (algorithm 5) only: ISO 9797-1 algorithm 3 is DES (A7).
    aes_mac = kb_host.key_generate_block(scope, "M6A1C00E00", 2)
    assert code_of(kb_host.mac_compute, scope, aes_mac, 3, 1, "0" * 32, "00", True) == "A7"
    # A BDK (mode N) derives DUKPT keys.
    assert kb_host.dukpt_key(scope, kb_host.key_from_lmk(scope, "009", BDK, 1), "FFFF9876543210E00001", "pin") > 0


def test_a_pin_written_under_a_key_block_zpk_reads_back_after_a_round_trip_through_the_lmk(kb_host: Host, scope: RequestScope) -> None:
    both = kb_host.key_generate_block(scope, "P0T2B00E00", 1)
    stored = kb_host.key_to_lmk(scope, both, "S", 1)
    pin = kb_host.pin_generate(scope, 6)
    block = kb_host.pin_to_block(scope, both, pin, "01", "123456789012")
    again = kb_host.pin_from_block(scope, kb_host.key_from_lmk(scope, "001", stored, 1), block, "01", "123456789012")
    assert kb_host.pin_compare(scope, pin, again)
    clear = kb_oracle.open_block(K3, stored)[1]
    assert oracle.pinblock_decode("01", psec.des.decrypt_tdes_ecb(clear, bytes.fromhex(block)).hex().upper(), "123456789012")


# --------------------------------------------------------------------------- generation


def test_generated_blocks_carry_the_requested_header(kb_host: Host, scope: RequestScope) -> None:
    key = kb_host.key_generate_block(scope, "K0T3B01S00", 1)
    header, clear = kb_oracle.open_block(K3, kb_host.key_to_lmk(scope, key, "S", 1))
    assert header == "00088K0TB01S0001" and len(clear) == 24 and oracle.odd_parity(clear)
    aes = kb_host.key_generate_block(scope, "K0A2B00E00", 2)
    header, clear = kb_oracle.open_block(KA, kb_host.key_to_lmk(scope, aes, "S", 2))
    assert header == "10096K0AB00E0002" and len(clear) == 24


def test_optional_blocks_are_kept_padded_and_authenticated(kb_host: Host, scope: RequestScope) -> None:
    key = kb_host.key_generate_block(scope, "P0T2B00E01KS0CABCDEFGH", 1)
    text = kb_host.key_to_lmk(scope, key, "S", 1)
    header, clear = kb_oracle.open_block(K3, text)
    assert header[12:14] == "02" and header[16:28] == "KS0CABCDEFGH" and header[28:30] == "PB"  # padded to the block size
    assert len(header) % 8 == 0
    again = kb_host.key_from_lmk(scope, "FFF", text, 1)  # kept, re-padded, not repeated
    assert kb_oracle.open_block(K3, kb_host.key_to_lmk(scope, again, "S", 1)) == (header, clear)


@pytest.mark.parametrize(
    ("fields", "lmk_id", "code"),
    [
        ("ZZT2B00E00", 1, "A6"),  # no such key usage
        ("P0X9B00E00", 1, "A7"),  # no such algorithm
        ("M1A3C00E00", 1, "A7"),  # M1 is DES/TDES only
        ("P0T2C00E00", 1, "A8"),  # a PIN key cannot be a MAC key
        ("P0T2B0!E00", 1, "A9"),
        ("P0T2B00Q00", 1, "AA"),
        ("P0T2B00EX0", 1, "AB"),
        ("P0T2B00E01KS", 1, "AC"),  # optional block cut short
        ("P0T2B00E00KS04", 1, "AC"),  # more than the count says
        ("P0T2B00E02KS04KS04", 1, "BC"),  # repeated
        ("P0A3B00E00", 1, "A7"),  # an AES key under the 3DES key-block LMK
        ("P0T2B00E00", 0, "A1"),  # a variant LMK
        ("P0T2B00E0", 1, "15"),
    ],
)
def test_generation_errors(kb_host: Host, scope: RequestScope, fields: str, lmk_id: int, code: str) -> None:
    assert code_of(kb_host.key_generate_block, scope, fields, lmk_id) == code


# --------------------------------------------------------------------------- export and import under a ZMK


def test_thales_export_under_the_zmk_matches_the_real_unit(kb_host: Host, scope: RequestScope) -> None:
    # REAL (test.js exportKey 2): A8 with &N answered S00072P0TB00N00FFE1D89671C973C7F0DAF91CB2EBF37949…, KCV 4FE9FD.
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    zpk = kb_host.key_from_lmk(scope, "001", ZPK_1, 1)
    out = kb_host.key_to_kek(scope, zmk, zpk, "S&N")
    assert out[:49] == "S00072P0TB00N00FFE1D89671C973C7F0DAF91CB2EBF37949"
    assert kb_oracle.open_block(ZMK_1_CLEAR, out) == ("00072P0TB00N00FF", ZPK_1_CLEAR)


def test_thales_import_under_the_zmk_matches_the_real_unit(kb_host: Host, scope: RequestScope) -> None:
    # REAL (test.js importKey 2 / importKeyDecode 2): A6 answered S00072P0TB00N0001EA421618B34F5FA1A77F7CF6480111B9…, 4FE9FD.
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    key = kb_host.key_from_kek(scope, zmk, "FFF", ZPK_1_UNDER_ZMK_1)
    stored = kb_host.key_to_lmk(scope, key, "S", 1)
    assert stored[:49] == "S00072P0TB00N0001EA421618B34F5FA1A77F7CF6480111B9"
    assert kb_host.key_check_value(scope, key)[:6] == "4FE9FD"


@pytest.mark.parametrize("version", ["A", "B", "C"])
def test_tr31_export_round_trips_with_psec(kb_host: Host, scope: RequestScope, version: str) -> None:
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    zpk = kb_host.key_from_lmk(scope, "001", ZPK_1, 1)
    out = kb_host.key_to_kek(scope, zmk, zpk, f"R!{version}")
    assert out[0] == "R"
    header, clear = psec.tr31.unwrap(ZMK_1_CLEAR, out[1:])
    assert clear == ZPK_1_CLEAR
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use, header.exportability) == (
        version,
        "P0",
        "T",
        "B",
        "E",
    )
    # …and back in: the TR-31 block imports to the same key, which keeps its header.
    back = kb_host.key_from_kek(scope, zmk, "001", out)
    assert kb_oracle.open_block(K3, kb_host.key_to_lmk(scope, back, "S", 1)) == ("00072P0TB00E0001", ZPK_1_CLEAR)


def test_tr31_d_under_an_aes_kek_round_trips_with_psec(kb_host: Host, scope: RequestScope) -> None:
    kek = kb_host.key_generate_block(scope, "K0A3B00E00", 2)
    kek_clear = kb_oracle.open_block(KA, kb_host.key_to_lmk(scope, kek, "S", 2))[1]
    key = kb_host.key_generate_block(scope, "D0A1B00E00", 2)
    out = kb_host.key_to_kek(scope, kek, key, "R")  # version D by default under an AES KEK
    header, clear = psec.tr31.unwrap(kek_clear, out[1:])
    assert header.version_id == "D" and header.algorithm == "A"
    assert kb_oracle.aes_kcv(clear) == kb_host.key_check_value(scope, key)[:6]
    # psec wraps one for import (its default masks the key length: hsmd reads that too).
    block = psec.tr31.wrap(kek_clear, "D0000M6AC00E0000", bytes(range(16)))
    imported = kb_host.key_from_kek(scope, kek, "FFF", "R" + block)
    assert kb_host.key_check_value(scope, imported)[:6] == kb_oracle.aes_kcv(bytes(range(16)))
    # Thales export under the AES KEK is a version '1' block with LMK identifier FF.
    thales = kb_host.key_to_kek(scope, kek, key, "S")
    assert kb_oracle.open_block(kek_clear, thales) == ("10096D0AB00E00FF", clear)


def test_variant_lmk_keys_leave_as_tr31_with_header_fields(scope: RequestScope) -> None:
    # aws-samples payshield/commands.py: A8 009 + ZMK + BDK + R%00&B0X00S00!B on a variant-LMK unit.
    host = Host(LmkSet({0: TEST_LMK}), FIRMWARE)
    zmk = host.key_from_lmk(scope, "000", "U1457FF6ADF6250C66C368416B4C9D383", None)
    bdk = host.key_generate(scope, "009", "U")
    out = host.key_to_kek(scope, zmk, bdk, "R&B0X00S00!B")
    header, clear = psec.tr31.unwrap(bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070"), out[1:])
    assert (header.version_id, header.key_usage, header.mode_of_use, header.exportability) == ("B", "B0", "X", "S")
    assert oracle.kcv(clear) == host.key_check_value(scope, bdk)
    # …and a TR-31 block under a variant ZMK imports as a variant key type, stored in a variant scheme.
    imported = host.key_from_kek(scope, zmk, "009", out)
    assert oracle.from_lmk("009", host.key_to_lmk(scope, imported, "U", None)) == clear
    assert code_of(host.key_to_kek, scope, zmk, bdk, "R!B") == "A6"  # no header and no fields to make one


@pytest.mark.parametrize(
    ("scheme", "code"),
    [
        ("U", "AA"),  # exportability E: only into a key block
        ("S&S", "AA"),  # exportability may only tighten
        ("R!D", "BB"),  # a version D block needs an AES KEK
        ("R!Q", "BE"),
        ("S!B", "15"),  # a version ID belongs to TR-31
        ("S&", "15"),
        ("R&P0B00E00", "AA"),  # a key block's header cannot be replaced
    ],
)
def test_export_refusals(kb_host: Host, scope: RequestScope, scheme: str, code: str) -> None:
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    zpk = kb_host.key_from_lmk(scope, "001", ZPK_1, 1)
    assert code_of(kb_host.key_to_kek, scope, zmk, zpk, scheme) == code


def test_exportability_n_never_leaves_and_s_leaves_in_any_form(kb_host: Host, scope: RequestScope) -> None:
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    never = kb_host.key_generate_block(scope, "P0T2B00N00", 1)
    assert code_of(kb_host.key_to_kek, scope, zmk, never, "S") == "AA"
    sensitive = kb_host.key_generate_block(scope, "P0T2B00S00", 1)
    under = kb_host.key_to_kek(scope, zmk, sensitive, "X")
    assert oracle.decrypt(ZMK_1_CLEAR, under) == kb_oracle.open_block(K3, kb_host.key_to_lmk(scope, sensitive, "S", 1))[1]


def test_exportability_holds_under_an_rsa_public_key_too(kb_host: Host, scope: RequestScope) -> None:
    """GK's host function: a block that may not leave (N), or only in a key block (E), stays in (AA)."""
    pair = kb_host.rsa_generate(scope, 512, "2", "01", "", 0)
    imported = kb_host.public_key_import(scope, "01", pair.public_key, 0)
    public = kb_host.public_key_from_mac(scope, imported.mac, imported.public_key, 0)
    for exportability in "NE":
        key = kb_host.key_generate_block(scope, f"P0T2B00{exportability}00", 1)
        assert code_of(kb_host.key_to_public_key, scope, public, key, "0101", "") == "AA"
    sensitive = kb_host.key_generate_block(scope, "P0T2B00S00", 1)
    assert len(kb_host.key_to_public_key(scope, public, sensitive, "0101", "")) == 128


def test_a_kek_must_be_a_kek_in_a_mode_that_allows_the_direction(kb_host: Host, scope: RequestScope) -> None:
    zpk = kb_host.key_from_lmk(scope, "FFF", ZPK_1, 1)
    assert code_of(kb_host.key_to_kek, scope, zpk, zpk, "S") == "A6"
    decrypt_only = kb_host.key_generate_block(scope, "K0T2D00E00", 1)
    assert code_of(kb_host.key_to_kek, scope, decrypt_only, zpk, "S") == "A8"
    zmk = kb_host.key_from_lmk(scope, "000", ZMK_1, 1)
    assert code_of(kb_host.key_from_kek, scope, zmk, "FFF", ZPK_1_UNDER_ZMK_1[:-1] + "0") == "A4"
    other = kb_host.key_generate_block(scope, "K0T2B00E00", 1)
    assert code_of(kb_host.key_from_kek, scope, other, "FFF", ZPK_1_UNDER_ZMK_1) == "A4"  # under another ZMK
    assert code_of(kb_host.key_from_kek, scope, zmk, "402", ZPK_1_UNDER_ZMK_1) == "A6"


# --------------------------------------------------------------------------- configuration and the CLI


def _config(files: tuple[Path, ...] = (), test_lmks: tuple[str, ...] = (), default: int = 0) -> Config:
    base = Config()
    return replace(base, lmk=replace(base.lmk, files=files, test_lmks=test_lmks, default=default))


def test_test_lmks_are_numbered_after_the_files(tmp_path: Path) -> None:
    assert load_lmks(_config()).items() == [(0, TEST_LMK)]  # today's default, unchanged
    lmks = load_lmks(_config(test_lmks=("variant", "keyblock-3des", "keyblock-aes")))
    assert lmks.items() == [(0, TEST_LMK), (1, TEST_KEYBLOCK_LMK_3DES), (2, TEST_KEYBLOCK_LMK_AES)]
    write_lmk_file(tmp_path / "kb.lmk", generated := generate_lmk("keyblock-aes"))
    lmks = load_lmks(_config(files=(tmp_path / "kb.lmk",), test_lmks=("keyblock-3des",), default=1))
    assert lmks.items() == [(0, generated), (1, TEST_KEYBLOCK_LMK_3DES)] and lmks.default == 1
    assert load_lmks(_config(files=(tmp_path / "kb.lmk",))).items() == [(0, generated)]  # files alone: no test LMK
    with pytest.raises(StartupError, match=r"lmk\.default: LMK 02 is not loaded"):
        load_lmks(_config(test_lmks=("keyblock-aes",), default=2))


def test_hsmd_lmk_generate_writes_each_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("keyblock-3des", "keyblock-aes", "variant"):
        target = tmp_path / f"{kind}.lmk"
        assert main(["lmk", "generate", "--kind", kind, str(target)]) == 0
        loaded = load_lmk_file(target)
        assert capsys.readouterr().out == f"{target}: LMK check value {loaded.check_value}\n"
        assert isinstance(loaded, KeyBlockLmk) == kind.startswith("keyblock")
    with pytest.raises(SystemExit):
        main(["lmk", "generate", "--kind", "keyblock-des", str(tmp_path / "x.lmk")])


def test_start_up_warns_for_each_test_lmk_loaded() -> None:
    # The start-up warning names every public test LMK, by identifier and kind (hsmd.app.run logs it).
    lmks = load_lmks(_config(test_lmks=("variant", "keyblock-aes")))
    assert lmks.any_test
    assert [f"{i:02d} ({lmk_kind(lmk)})" for i, lmk in lmks.items() if lmk.is_test] == ["00 (variant)", "01 (keyblock-aes)"]


def test_commands_that_read_keys_take_key_blocks(kb_host: Host) -> None:
    # REAL keys (docs/examples.js): CC translates a PIN block from ZPK-1 to ZPK-2, both key blocks under LMK 01,
    # as ut-codec-payshield's translatePinZpkZpk request does. Checked with psec and the PIN block oracle.
    zpk_2 = "S00072P0TB00E00010D869FE84C1F77AE64E0019151533363D4CCE7E1C3F89F3D86115EE8"
    zpk_2_clear = bytes.fromhex("49C7CDA758407C6189E0102F6D583298")
    source = psec.des.encrypt_tdes_ecb(ZPK_1_CLEAR, bytes.fromhex(oracle.pinblock_encode("01", "1234", "400000123456")))
    answer = native(cc, kb_host, f"{ZPK_1}{zpk_2}12{source.hex().upper()}0101400000123456%01".encode())
    assert answer[:4] == b"0004"
    clear = psec.des.decrypt_tdes_ecb(zpk_2_clear, bytes.fromhex(answer[4:20].decode())).hex().upper()
    assert oracle.pinblock_decode("01", clear, "400000123456") == "1234"
    assert native(cc, kb_host, f"{ZPK_1}{CVK}12{source.hex().upper()}0101400000123456%01".encode()) == b"A6"


# --------------------------------------------------------------------------- the trust boundary


@pytest.mark.wasm
def test_no_clear_key_or_key_block_lmk_reaches_any_plugin(built_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key-block command of this issue runs in its component; no guest memory then holds an LMK or a clear key.

    As tests/test_boundary.py does for the variant commands: the keys the host generates are recorded
    and searched for too, as bytes and as hex.
    """
    generated: list[bytes] = []
    real_generate = key_blocks.generate_key

    def recording_generate(header: Header, length: int) -> bytes:
        key = real_generate(header, length)
        generated.append(key)
        return key

    monkeypatch.setattr(key_blocks, "generate_key", recording_generate)
    requests = {
        "A0": ["0FFFS%01#K0T2B00E00", "0FFFS%02#D0A3B00E00", f"1FFFS0{ZMK_1}S%01#P0T2B00E00", f"1FFFS0{ZMK_1}R%01#P0T2B00E00!B"],
        "A6": [f"FFF{ZMK_1}{ZPK_1_UNDER_ZMK_1}S%01"],
        "A8": [f"FFF{ZMK_1}{ZPK_1}S%01&N", f"FFF{ZMK_1}{ZPK_1}R%01!B"],
        "BU": [f"FFF{ZMK_1};FFF;001%01", f"FFF{AES_LMK_BDK};FFF;001%02"],
        "CW": [f"{CVK}502265400089000092;2010620%01"],
        "M6": [f"01011FFF{TAK}0008ABCDEF12%01"],
        "NC": ["%01", "%02"],
    }
    with make_runtime(make_host()) as runtime:
        for command in requests:
            link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
        plugins, refused = runtime.load_dir(tmp_path)
        assert refused == []
        for command, texts in requests.items():
            for text in texts:
                assert runtime.execute(plugins[command], text.encode(), RequestScope(command))[:2] == b"00", (command, text)
        needles: dict[str, bytes] = {}
        for name, secret in [
            ("3DES key-block LMK", K3),
            ("AES key-block LMK", KA),
            *[(f"LMK pair {i}", p) for i, p in enumerate(TEST_LMK.pairs)],
        ]:
            needles |= _forms(name, secret)
        known = [ZMK_1_CLEAR, ZPK_1_CLEAR, kb_oracle.CVK_CLEAR, bytes.fromhex("762673ECB637ABD9A140625D94E515FE")]
        for i, secret in enumerate(known + generated):
            needles |= _forms(f"key {i}", secret)
        # The BP-Tools BDK is 00 01 02 … 0F: as bytes that run is in any memory (tables), so only its hex forms count.
        needles |= {name: n for name, n in _forms("BP-Tools BDK", bytes(range(16))).items() if "hex" in name}
        needles = {name: n for name, n in needles.items() if len(set(n)) > 2}
        assert len(generated) == 4
        assert guest_memory.find(needles) == []


def _forms(name: str, secret: bytes) -> dict[str, bytes]:
    return {f"{name} (bytes)": secret, f"{name} (hex)": secret.hex().upper().encode(), f"{name} (hex lower)": secret.hex().encode()}
