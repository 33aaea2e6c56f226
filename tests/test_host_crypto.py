"""The host's MAC, data, hash, EMV and DUKPT primitives against independent implementations.

Oracles: psec (ISO 9797-1 MACs, DES), pyemv (EMV key derivation, cryptograms),
hashlib; published vectors: MDC-2 (ISO/IEC 10118-2 as OpenSSL's test suite:
"Now is the time for all " -> 42E50CD224BACEBA760BDD2BD409281A) and ANSI
X9.24-1 TDES DUKPT (BDK 0123456789ABCDEFFEDCBA9876543210, KSN FFFF9876543210E00000:
initial key 6AC292FAA1315B4D858AB3A3D7D5933A, PIN 1234 / PAN 4012345678909 blocks
as jPOS's DUKPTTest and the standard's examples list them; single-DES X9.24-1998
blocks from jPOS's DUKPTTest).
"""

from __future__ import annotations

import hashlib

import psec
import pyemv
import pytest

from hsmd.host import TEST_LMK, Host, HostError, LmkSet, RequestScope, des, dukpt, emv, hashes, macs, pins

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
DATA = b"The quick brown fox jumps over the lazy dog, 49 B"


@pytest.mark.parametrize("padding", [1, 2, 3])
def test_macs_agree_with_psec(padding: int) -> None:
    zero = bytes(8)
    assert macs.mac(KEY[:8], 1, padding, zero, DATA, final=True) == psec.mac.generate_cbc_mac(KEY[:8], DATA, padding)
    assert macs.mac(KEY, 1, padding, zero, DATA, final=True) == psec.mac.generate_cbc_mac(KEY, DATA, padding)
    assert macs.mac(KEY, 3, padding, zero, DATA, final=True) == psec.mac.generate_retail_mac(KEY[:8], KEY[8:], DATA, padding)


def test_a_message_maced_in_parts_gives_the_whole_message_mac() -> None:
    data = bytes(range(200))
    state = macs.mac(KEY, 3, 1, bytes(8), data[:64], final=False)
    state = macs.mac(KEY, 3, 1, state, data[64:128], final=False)
    assert macs.mac(KEY, 3, 1, state, data[128:], final=True) == psec.mac.generate_retail_mac(KEY[:8], KEY[8:], data, 1)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: macs.mac(KEY[:8], 3, 1, bytes(8), DATA, final=True), "27"),  # algorithm 3 needs two keys
        (lambda: macs.mac(KEY, 2, 1, bytes(8), DATA, final=True), "15"),
        (lambda: macs.mac(KEY, 1, 4, bytes(8), DATA, final=True), "15"),
        (lambda: macs.mac(KEY, 1, 1, bytes(8), DATA, final=False), "80"),  # a middle part not whole blocks
    ],
)
def test_mac_refusals(call: object, code: str) -> None:
    with pytest.raises(HostError) as exc:
        call()  # type: ignore[operator]
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("identifier", "name"), [("01", "sha1"), ("02", "md5"), ("05", "sha224"), ("06", "sha256"), ("07", "sha384"), ("08", "sha512")]
)
def test_hashes_agree_with_hashlib(identifier: str, name: str) -> None:
    assert hashes.digest(identifier, DATA) == hashlib.new(name, DATA).digest()


def test_mdc2_published_vector() -> None:
    assert hashes.digest("03", b"Now is the time for all ").hex().upper() == "42E50CD224BACEBA760BDD2BD409281A"


def test_unknown_hash_answers_05() -> None:
    with pytest.raises(HostError) as exc:
        hashes.digest("04", b"")
    assert exc.value.code == "05"


def test_data_modes_round_trip_and_agree_with_psec() -> None:
    iv, data = bytes(range(8)), bytes(range(64))
    assert des.crypt(KEY, "CBC", iv, data, encrypt=True) == psec.des.encrypt_tdes_cbc(KEY, iv, data)
    assert des.crypt(KEY, "ECB", iv, data, encrypt=True) == psec.des.encrypt_tdes_ecb(KEY, data)
    for mode in ("ECB", "CBC", "CFB8", "CFB64"):
        assert (
            des.crypt(KEY, mode, iv, des.crypt(KEY, mode, iv, data[: 61 if mode.startswith("CFB") else 64], encrypt=True), encrypt=False)
            == data[: 61 if mode.startswith("CFB") else 64]
        )


BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


@pytest.mark.parametrize(
    ("counter", "block"),
    [
        ("E00001", "1B9C1845EB993A7A"),
        ("E00008", "50E55547A5027551"),
        ("E00010", "D5D9638559EF53D6"),
        ("EFFC00", "DEFC6F09F8927B71"),
        ("F00000", "73EC88AD0AC5830E"),
    ],
)
def test_tdes_dukpt_pin_blocks_of_the_published_table(counter: str, block: str) -> None:
    key = dukpt.tdes_key(BDK, dukpt.parse_ksn("FFFF9876543210" + counter), "pin")
    assert pins.encrypt_block(key, "01", "1234", "401234567890") == block


@pytest.mark.parametrize(
    ("counter", "block"), [("E00001", "6B1431D0D9B23093"), ("E00010", "6268FFC127118969"), ("F00000", "3FAC6F8763C0B60C")]
)
def test_single_des_dukpt_pin_blocks_of_jpos(counter: str, block: str) -> None:
    key = dukpt.des_pin_key(BDK, dukpt.parse_ksn("FFFF9876543210" + counter))
    assert pins.encrypt_block(key, "01", "1234", "401234567890", whitened=True) == block
    assert pins.decrypt_block(key, "01", block, "401234567890", whitened=True) == "1234"


def test_tdes_dukpt_initial_key_and_mac_variants() -> None:
    ksn = dukpt.parse_ksn("FFFF9876543210E00001")
    assert dukpt.tdes_key(BDK, ksn, "mac-request").hex().upper() == "042666B4918430A368DE9628D03984C9"
    assert dukpt.tdes_key(BDK, ksn, "mac-response").hex().upper() == "042666B46E84CFA368DE96282F397BC9"
    base = des.encrypt_ecb(BDK, bytes.fromhex("FFFF9876543210E0"))
    assert base.hex().upper() == "6AC292FAA1315B4D"  # the initial key's left half


@pytest.mark.parametrize("atc", ["0000", "001C", "1234", "FFFF"])
def test_emv_session_keys_agree_with_pyemv(atc: str) -> None:
    a, un, iv = bytes.fromhex(atc), bytes.fromhex("12345678"), bytes(range(16))
    assert emv.session_key(KEY, "tree-4-8", a, b"", bytes(16)) == pyemv.kd.derive_emv2000_tree_sk(KEY, a, 8, 4)
    assert emv.session_key(KEY, "tree-2-16", a, b"", iv) == pyemv.kd.derive_emv2000_tree_sk(KEY, a, 16, 2, iv)
    assert emv.session_key(KEY, "common", a, b"", b"") == pyemv.kd.derive_common_sk(KEY, a + bytes(6))
    assert emv.session_key(KEY, "mchip", a, un, b"") == pyemv.kd.derive_common_sk(KEY, a + bytes(2) + un)


def test_emv_cryptograms_agree_with_pyemv() -> None:
    data, arqc = bytes(range(39)), bytes.fromhex("08A3F7861DB29926")
    assert emv.cryptogram(KEY, data, 1) == pyemv.ac.generate_ac(KEY, data, pyemv.ac.PaddingType.VISA)
    assert emv.cryptogram(KEY, data, 2) == pyemv.ac.generate_ac(KEY, data, pyemv.ac.PaddingType.EMV)
    assert emv.arpc(KEY, arqc, 1, b"00", b"") == pyemv.ac.generate_arpc_1(KEY, arqc, b"00")
    assert emv.arpc(KEY, arqc, 2, bytes(4), b"\x01\x02") == pyemv.ac.generate_arpc_2(KEY, arqc, bytes(4), b"\x01\x02")


def test_derived_keys_never_leave_the_host_and_keep_to_their_use() -> None:
    host, scope = Host(LmkSet({0: TEST_LMK}), "0007-E000"), RequestScope("t")
    mk = host.key_generate(scope, "109", "U")
    card = host.emv_card_key(scope, mk, "A", "4761739001010010", "01")
    bdk = host.key_generate(scope, "009", "U")
    pin_key = host.dukpt_key(scope, bdk, "FFFF9876543210E00001", "pin")
    zmk = host.key_generate(scope, "000", "U")
    for derived in (card, pin_key):
        with pytest.raises(HostError) as exc:
            host.key_to_lmk(scope, derived, "U", None)
        assert exc.value.code == "29"
        with pytest.raises(HostError) as exc:
            host.key_to_kek(scope, zmk, derived, "U")
        assert exc.value.code == "29"
    with pytest.raises(HostError) as exc:
        host.data_crypt(scope, pin_key, True, "ECB", "", "00" * 8)  # a PIN key cannot encrypt data
    assert exc.value.code == "29"
    with pytest.raises(HostError) as exc:
        host.mac_compute(scope, mk, 3, 1, "0000000000000000", "", True)  # nor an MK-AC MAC a message
    assert exc.value.code == "29"
    with pytest.raises(HostError) as exc:
        host.dukpt_key(scope, mk, "FFFF9876543210E00001", "pin")  # an MK-AC is no BDK
    assert exc.value.code == "29"
