"""The host's RSA and ECC key pairs (EI, EO, EW, EY, GK, GI, FY) against `cryptography` as the oracle.

Published answers:
- payShield host command manual, "Verify a MAC on a Public Key" (EQ) example: MAC
  9C350891 on public key 30470240AE21…0203010001 with authentication data
  "AUTHEN-DATA", answered ER00; "Translate a Public Key MAC" (EU) example: new MAC
  530548CE on the same key without authentication data. Both under the public
  test LMK (its pair 36-37).
- ut-codec-payshield test/config/test.js, generateRsaKeyPairDecode set 0: a real
  EJ frame for RSA-2048, encoding 01, whose public key is 269 bytes (modulus C5AD…
  with its top bit set and no leading zero) followed by private key length 0656.

Everything else is checked with `cryptography` (OpenSSL's DER decoder, PKCS#1
v1.5 and OAEP, ECDSA) as the independent implementation.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from hsmd.host import TEST_LMK, HostError
from hsmd.host import rsa as hsm_rsa
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES, Header, KeyBlockLmk, wrap
from hsmd.host.lmk import Lmk
from logic.ei import block_to_wire
from tests import kb_oracle
from tests.test_cmd_eo import EJ_PUBLIC_KEY, EQ_PUBLIC_KEY
from tests.test_cmd_ew import HASHES

OTHER_LMK = Lmk((*TEST_LMK.pairs[:17], bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), *TEST_LMK.pairs[18:]))  # other 34-35
MESSAGE = b"The quick brown fox jumps over the lazy dog"


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(HostError) as exc:
        call()
    return exc.value.code


def oracle_public(der: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_der_public_key(der)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


@pytest.fixture(scope="module")
def signer() -> hsm_rsa.RsaKeyPair:
    return hsm_rsa.generate_rsa(TEST_LMK, 1024, key_type="0", encoding="02")


@pytest.fixture(scope="module")
def transport() -> hsm_rsa.RsaKeyPair:
    return hsm_rsa.generate_rsa(TEST_LMK, 1024, key_type="1", encoding="02")


@pytest.fixture(scope="module")
def both() -> hsm_rsa.RsaKeyPair:
    return hsm_rsa.generate_rsa(TEST_LMK, 1024, key_type="2", encoding="01")


@pytest.fixture(scope="module")
def outside() -> rsa.RSAPrivateKey:
    """A key pair made by `cryptography`, the other party of EY and GK."""
    return rsa.generate_private_key(65537, 1024)


def short_der_length(n: int) -> bytes:
    """A DER length below 256: one byte, or 81 and one byte from 128 on."""
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def outside_der(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


# --- the public-key MAC (EO, EQ): the manual's examples ---


def test_public_key_mac_reproduces_the_manuals_eq_example() -> None:
    assert hsm_rsa.public_key_mac(TEST_LMK, EQ_PUBLIC_KEY, b"AUTHEN-DATA").hex().upper() == "9C350891"


def test_public_key_mac_reproduces_the_manuals_eu_example_without_authentication_data() -> None:
    assert hsm_rsa.public_key_mac(TEST_LMK, EQ_PUBLIC_KEY).hex().upper() == "530548CE"


def test_eo_answers_the_mac_and_the_public_key_and_eq_accepts_it() -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "01", EQ_PUBLIC_KEY + b"AUTHEN-DATA")
    assert (mac.hex().upper(), public_key) == ("9C350891", EQ_PUBLIC_KEY)
    assert hsm_rsa.check_public_key_mac(TEST_LMK, mac, EQ_PUBLIC_KEY, b"AUTHEN-DATA").bits == 512


@pytest.mark.parametrize(
    ("mac", "auth_data", "lmk"),
    [
        (bytes.fromhex("9C350890"), b"AUTHEN-DATA", TEST_LMK),  # one bit off
        (bytes.fromhex("9C350891"), b"AUTHEN-DATB", TEST_LMK),  # other authentication data
        (bytes.fromhex("9C350891"), b"AUTHEN-DATA", Lmk((*TEST_LMK.pairs[:18], bytes(16), *TEST_LMK.pairs[19:]))),  # other LMK 36-37
    ],
)
def test_a_wrong_public_key_mac_is_01(mac: bytes, auth_data: bytes, lmk: Lmk) -> None:
    assert code_of(lambda: hsm_rsa.check_public_key_mac(lmk, mac, EQ_PUBLIC_KEY, auth_data)) == "01"


def test_eo_checks_the_encoding_it_is_told() -> None:
    """The EQ example key is in unsigned form (modulus AE… without a leading zero): not strict DER (02)."""
    assert code_of(lambda: hsm_rsa.import_public_key(TEST_LMK, "02", EQ_PUBLIC_KEY)) == "04"
    assert code_of(lambda: hsm_rsa.import_public_key(TEST_LMK, "03", EQ_PUBLIC_KEY)) == "03"
    assert code_of(lambda: hsm_rsa.import_public_key(TEST_LMK, "01", EQ_PUBLIC_KEY + b"A;B")) == "15"


# --- DER encodings 01 and 02 ---


def test_a_real_ej_public_key_is_encoding_01_and_reencodes_to_itself() -> None:
    key, end = hsm_rsa.parse_public_key(EJ_PUBLIC_KEY, "01")
    assert (end, key.bits, key.exponent) == (269, 2048, 65537)
    assert key.encode("01") == EJ_PUBLIC_KEY
    assert code_of(lambda: hsm_rsa.parse_public_key(EJ_PUBLIC_KEY, "02")) == "04"


def test_encoding_02_is_strict_der_as_openssl_reads_it() -> None:
    key, _ = hsm_rsa.parse_public_key(EJ_PUBLIC_KEY, "01")
    strict = key.encode("02")
    assert len(strict) == 270
    assert oracle_public(strict).public_numbers() == rsa.RSAPublicNumbers(key.exponent, key.modulus)


@pytest.mark.parametrize("bits", [320, 321, 512, 1024])
def test_ei_public_keys_in_both_encodings(bits: int) -> None:
    pair = hsm_rsa.generate_rsa(TEST_LMK, bits, encoding="02")
    numbers = oracle_public(pair.public_key).public_numbers()
    assert (numbers.n.bit_length(), numbers.e) == (bits, 65537)
    modulus = numbers.n.to_bytes((bits + 7) // 8, "big")
    unsigned = hsm_rsa.encode_public_key(numbers.n, numbers.e, "01")
    # Built by hand: SEQUENCE { INTEGER modulus (no leading zero), INTEGER 010001 }.
    body = b"\x02" + short_der_length(len(modulus)) + modulus + bytes.fromhex("0203010001")
    assert unsigned == b"\x30" + short_der_length(len(body)) + body
    assert hsm_rsa.parse_public_key(unsigned, "01")[0] == hsm_rsa.parse_public_key(pair.public_key, "02")[0]


@pytest.mark.parametrize(
    ("der", "code"),
    [
        (EQ_PUBLIC_KEY[:-1], "04"),  # cut short
        (bytes.fromhex("3048") + EQ_PUBLIC_KEY[2:] + b"\x00", "04"),  # a byte inside the SEQUENCE after the exponent
        (bytes.fromhex("308147") + EQ_PUBLIC_KEY[2:], "04"),  # long length form where the short one fits
        (bytes.fromhex("3080") + EQ_PUBLIC_KEY[2:], "04"),  # indefinite length
        (EQ_PUBLIC_KEY[:-5] + bytes.fromhex("0203010000"), "04"),  # even exponent
        (bytes.fromhex("300D020800C5ADCDF53DA40D020103"), "76"),  # a 64-bit modulus
        (b"", "04"),
    ],
)
def test_malformed_public_keys(der: bytes, code: str) -> None:
    assert code_of(lambda: hsm_rsa.parse_public_key(der)) == code


def test_the_public_key_field_splits_at_the_end_of_the_der() -> None:
    assert hsm_rsa.split_public_key(EQ_PUBLIC_KEY + b"AUTHEN-DATA") == (EQ_PUBLIC_KEY, b"AUTHEN-DATA")


# --- EI ---


@pytest.mark.parametrize(("bits", "exponent"), [(320, 65537), (512, 3), (768, 17), (1024, 65537), (1030, 257)])
def test_ei_generates_the_requested_modulus_and_exponent(bits: int, exponent: int) -> None:
    pair = hsm_rsa.generate_rsa(TEST_LMK, bits, encoding="02", exponent=exponent)
    numbers = oracle_public(pair.public_key).public_numbers()
    assert (numbers.n.bit_length(), numbers.e) == (bits, exponent)
    assert hsm_rsa.rsa_public_key(TEST_LMK, pair.private_key) == pair.public_key
    # hsmd's blob: 7-byte header, the exponent, five CRT parts of bits/16 bytes, the 16-byte SIV tag.
    assert len(pair.private_key) == 7 + (exponent.bit_length() + 7) // 8 + 5 * -(-bits // 16) + 16


def test_a_private_key_is_random_and_never_holds_the_clear_primes(signer: hsm_rsa.RsaKeyPair) -> None:
    other = hsm_rsa.generate_rsa(TEST_LMK, 1024, key_type="0", encoding="02")
    assert other.public_key != signer.public_key
    numbers = hsm_rsa.open_rsa(TEST_LMK, signer.private_key).key.private_numbers()
    assert numbers.p.to_bytes(64, "big")[:16] not in signer.private_key
    assert numbers.q.to_bytes(64, "big")[:16] not in signer.private_key


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"bits": 1024, "key_type": "3"}, "05"),
        ({"bits": 319}, "04"),
        ({"bits": 4097}, "04"),
        ({"bits": 1024, "encoding": "00"}, "03"),
        ({"bits": 1024, "exponent": 65536}, "08"),
        ({"bits": 1024, "exponent": 1}, "06"),
        ({"bits": 320, "exponent": (1 << 318) + 1}, "06"),  # an exponent as long as the modulus
    ],
)
def test_ei_refusals(kwargs: dict[str, object], code: str) -> None:
    assert code_of(lambda: hsm_rsa.generate_rsa(TEST_LMK, **kwargs)) == code  # type: ignore[arg-type]


# --- EW: hsmd signs, cryptography verifies ---


@pytest.mark.parametrize("hash_id", sorted(HASHES))
def test_ew_signatures_verify_with_the_ej_public_key(signer: hsm_rsa.RsaKeyPair, hash_id: str) -> None:
    signature = hsm_rsa.sign(TEST_LMK, signer.private_key, MESSAGE, hash_id=hash_id)
    assert len(signature) == 128
    oracle_public(signer.public_key).verify(signature, MESSAGE, padding.PKCS1v15(), HASHES[hash_id])


def test_ew_without_hash_signs_the_digest_info_it_is_given(signer: hsm_rsa.RsaKeyPair) -> None:
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(MESSAGE).digest()
    signature = hsm_rsa.sign(TEST_LMK, signer.private_key, digest_info, hash_id="04")
    assert signature == hsm_rsa.sign(TEST_LMK, signer.private_key, MESSAGE, hash_id="06")  # PKCS#1 v1.5 is deterministic
    oracle_public(signer.public_key).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_a_key_of_type_2_signs_and_its_unsigned_public_key_verifies(both: hsm_rsa.RsaKeyPair) -> None:
    signature = hsm_rsa.sign(TEST_LMK, both.private_key, MESSAGE, hash_id="01")
    key, _ = hsm_rsa.parse_public_key(both.public_key, "01")
    rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key().verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA1())


@pytest.mark.parametrize(
    ("hash_id", "signature_id", "pad_mode", "message", "code"),
    [
        ("03", "01", "01", MESSAGE, "05"),  # MDC-2: hsmd's refusal
        ("09", "01", "01", MESSAGE, "05"),
        ("06", "02", "01", MESSAGE, "06"),
        ("06", "01", "02", MESSAGE, "07"),
        ("04", "01", "01", MESSAGE, "74"),  # not a DigestInfo
        ("04", "01", "01", bytes.fromhex("3031300d060960864801650304020105000420") + bytes(31), "74"),  # digest one byte short
        ("04", "01", "01", bytes.fromhex("3031300d06096086480165030402FF05000420") + bytes(32), "79"),  # unknown hash OID
    ],
)
def test_ew_refusals(signer: hsm_rsa.RsaKeyPair, hash_id: str, signature_id: str, pad_mode: str, message: bytes, code: str) -> None:
    call = lambda: hsm_rsa.sign(TEST_LMK, signer.private_key, message, hash_id=hash_id, signature_id=signature_id, pad_mode=pad_mode)  # noqa: E731
    assert code_of(call) == code


def test_a_small_modulus_signs_only_the_digest_infos_it_can_hold() -> None:
    """PKCS#1 v1.5 needs the DigestInfo plus 11 bytes: SHA-1's 35 fit a 384-bit (48-byte) modulus, SHA-256's 51 do not."""
    small = hsm_rsa.generate_rsa(TEST_LMK, 384, key_type="0", encoding="02")
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, small.private_key, MESSAGE, hash_id="06")) == "76"
    signature = hsm_rsa.sign(TEST_LMK, small.private_key, MESSAGE, hash_id="01")
    oracle_public(small.public_key).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA1())


def test_a_key_management_key_does_not_sign(transport: hsm_rsa.RsaKeyPair) -> None:
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, transport.private_key, MESSAGE, hash_id="06")) == "03"


# --- private keys under the LMK: tampering ---


@pytest.mark.parametrize("position", [0, 1, 7, 40, -17, -1])
def test_a_tampered_private_key_is_49(signer: hsm_rsa.RsaKeyPair, position: int) -> None:
    blob = bytearray(signer.private_key)
    blob[position] ^= 0x01
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, bytes(blob), MESSAGE, hash_id="06")) == "49"


def test_a_private_key_under_another_lmk_is_49(signer: hsm_rsa.RsaKeyPair) -> None:
    assert code_of(lambda: hsm_rsa.sign(OTHER_LMK, signer.private_key, MESSAGE, hash_id="06")) == "49"


def test_a_kept_opened_key_is_found_only_under_its_own_lmk(signer: hsm_rsa.RsaKeyPair) -> None:
    # Opened keys are kept by LMK and sealed form: one opened under the test LMK stays 49 under another.
    assert hsm_rsa.open_rsa(TEST_LMK, signer.private_key) is hsm_rsa.open_rsa(TEST_LMK, signer.private_key)
    assert code_of(lambda: hsm_rsa.open_rsa(OTHER_LMK, signer.private_key)) == "49"
    assert code_of(lambda: hsm_rsa.open_rsa(OTHER_LMK, signer.private_key)) == "49"  # a refusal is not kept either


def test_a_shortened_private_key_is_refused(signer: hsm_rsa.RsaKeyPair) -> None:
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, signer.private_key[:-1], MESSAGE, hash_id="06")) == "49"
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, signer.private_key[:31], MESSAGE, hash_id="06")) == "78"


@pytest.mark.parametrize("blob", [b"", bytes(31), bytes(3000)])
def test_a_private_key_of_impossible_length_is_78(blob: bytes) -> None:
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, blob, MESSAGE, hash_id="06")) == "78"


def test_an_ecc_private_key_is_not_an_rsa_one() -> None:
    ecc = hsm_rsa.generate_ecc(TEST_LMK, "00")
    assert code_of(lambda: hsm_rsa.sign(TEST_LMK, ecc.private_key, MESSAGE, hash_id="06")) == "49"


# --- EY: cryptography signs, hsmd verifies ---


def test_ey_accepts_a_signature_made_by_cryptography(outside: rsa.RSAPrivateKey) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", outside_der(outside) + b"ISSUER-7")
    for hash_id, algorithm in HASHES.items():
        signature = outside.sign(MESSAGE, padding.PKCS1v15(), algorithm)
        hsm_rsa.verify(TEST_LMK, mac, public_key, signature, MESSAGE, hash_id=hash_id, auth_data=b"ISSUER-7")


def test_ey_answers_02_for_a_bad_signature_and_01_for_a_bad_mac(outside: rsa.RSAPrivateKey) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", outside_der(outside))
    signature = outside.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    verify = hsm_rsa.verify
    assert code_of(lambda: verify(TEST_LMK, mac, public_key, signature, MESSAGE + b".", hash_id="06")) == "02"
    assert code_of(lambda: verify(TEST_LMK, mac, public_key, signature, MESSAGE, hash_id="01")) == "02"  # other hash
    assert code_of(lambda: verify(TEST_LMK, mac, public_key, signature[:-1], MESSAGE, hash_id="06")) == "02"
    assert code_of(lambda: verify(TEST_LMK, bytes(4), public_key, signature, MESSAGE, hash_id="06")) == "01"
    assert code_of(lambda: verify(TEST_LMK, mac, public_key, signature, MESSAGE, hash_id="06", auth_data=b"X")) == "01"


def test_ey_verifies_what_ew_signed(both: hsm_rsa.RsaKeyPair) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "01", both.public_key)
    digest_info = bytes.fromhex("3021300906052b0e03021a05000414") + hashlib.sha1(MESSAGE).digest()
    signature = hsm_rsa.sign(TEST_LMK, both.private_key, MESSAGE, hash_id="01")
    hsm_rsa.verify(TEST_LMK, mac, public_key, signature, digest_info, hash_id="04")


def test_oracle_rejects_a_signature_ew_made_over_other_data(signer: hsm_rsa.RsaKeyPair) -> None:
    signature = hsm_rsa.sign(TEST_LMK, signer.private_key, MESSAGE, hash_id="06")
    with pytest.raises(InvalidSignature):
        oracle_public(signer.public_key).verify(signature, MESSAGE + b"!", padding.PKCS1v15(), hashes.SHA256())


# --- GK / GI: key transport ---

OAEP_LABEL = b"LABEL"
KEY16 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def oaep(label: bytes | None = OAEP_LABEL) -> padding.OAEP:
    return padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), label)


@pytest.mark.parametrize("key", [KEY16[:8], KEY16, KEY16 + KEY16[:8]])
def test_gi_unwraps_what_cryptography_wrapped_under_pkcs1(transport: hsm_rsa.RsaKeyPair, key: bytes) -> None:
    ciphertext = oracle_public(transport.public_key).encrypt(key, padding.PKCS1v15())
    assert hsm_rsa.unwrap_key(TEST_LMK, transport.private_key, ciphertext) == key


def test_gi_unwraps_what_cryptography_wrapped_under_oaep_with_a_label(transport: hsm_rsa.RsaKeyPair) -> None:
    ciphertext = oracle_public(transport.public_key).encrypt(KEY16, oaep())
    assert hsm_rsa.unwrap_key(TEST_LMK, transport.private_key, ciphertext, pad_mode="02", oaep_parameters=OAEP_LABEL) == KEY16
    wrong = lambda: hsm_rsa.unwrap_key(TEST_LMK, transport.private_key, ciphertext, pad_mode="02", oaep_parameters=b"OTHER")  # noqa: E731
    assert code_of(wrong) == "77"


def test_gi_takes_aes_key_lengths_when_asked(both: hsm_rsa.RsaKeyPair) -> None:
    key, _ = hsm_rsa.parse_public_key(both.public_key, "01")
    ciphertext = rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key().encrypt(KEY16 * 2, oaep(None))
    lengths = frozenset({16, 24, 32})
    assert hsm_rsa.unwrap_key(TEST_LMK, both.private_key, ciphertext, pad_mode="02", lengths=lengths) == KEY16 * 2
    assert code_of(lambda: hsm_rsa.unwrap_key(TEST_LMK, both.private_key, ciphertext, pad_mode="02")) == "77"


def test_gi_refusals(transport: hsm_rsa.RsaKeyPair, signer: hsm_rsa.RsaKeyPair) -> None:
    ciphertext = oracle_public(transport.public_key).encrypt(KEY16, padding.PKCS1v15())
    unwrap = hsm_rsa.unwrap_key
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, ciphertext[1:])) == "76"
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, ciphertext, encryption_id="02")) == "15"
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, ciphertext, pad_mode="03")) == "07"
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, ciphertext, pad_mode="02", mgf="02")) == "85"
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, ciphertext, pad_mode="02", mgf_hash="06")) == "86"
    assert code_of(lambda: unwrap(TEST_LMK, signer.private_key, ciphertext)) == "03"  # a signature-only key
    short = oracle_public(transport.public_key).encrypt(KEY16[:10], padding.PKCS1v15())
    assert code_of(lambda: unwrap(TEST_LMK, transport.private_key, short)) == "77"


def test_gk_wraps_so_that_cryptography_unwraps(outside: rsa.RSAPrivateKey) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", outside_der(outside) + b"BANK")
    wrapped = hsm_rsa.wrap_key(TEST_LMK, mac, public_key, KEY16, auth_data=b"BANK")
    assert outside.decrypt(wrapped, padding.PKCS1v15()) == KEY16
    wrapped = hsm_rsa.wrap_key(TEST_LMK, mac, public_key, KEY16, auth_data=b"BANK", pad_mode="02", oaep_parameters=OAEP_LABEL)
    assert outside.decrypt(wrapped, oaep()) == KEY16


def test_gk_refuses_a_public_key_whose_mac_fails_and_a_key_too_long(outside: rsa.RSAPrivateKey) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", outside_der(outside))
    assert code_of(lambda: hsm_rsa.wrap_key(TEST_LMK, mac[::-1], public_key, KEY16)) == "01"
    assert code_of(lambda: hsm_rsa.wrap_key(TEST_LMK, mac, public_key, bytes(118))) == "76"  # 128 - 11 bytes at most
    small = hsm_rsa.generate_rsa(TEST_LMK, 320, encoding="02")
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", small.public_key)
    assert code_of(lambda: hsm_rsa.wrap_key(TEST_LMK, mac, public_key, KEY16, pad_mode="02")) == "76"  # OAEP needs 42 + 16


def test_gk_then_gi_round_trips_a_key(transport: hsm_rsa.RsaKeyPair) -> None:
    mac, public_key = hsm_rsa.import_public_key(TEST_LMK, "02", transport.public_key)
    wrapped = hsm_rsa.wrap_key(TEST_LMK, mac, public_key, KEY16, pad_mode="02")
    assert hsm_rsa.unwrap_key(TEST_LMK, transport.private_key, wrapped, pad_mode="02") == KEY16


# --- FY ---


@pytest.mark.parametrize(("curve", "named"), [("00", ec.SECP256R1()), ("01", ec.SECP384R1()), ("02", ec.SECP521R1())])
def test_fy_key_pairs_sign_and_verify_with_cryptography(curve: str, named: ec.EllipticCurve) -> None:
    pair = hsm_rsa.generate_ecc(TEST_LMK, curve)
    public = serialization.load_der_public_key(pair.public_key)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == named.name
    assert ec.EllipticCurvePublicKey.from_encoded_point(named, pair.public_point) == public
    private = hsm_rsa.open_ecc(TEST_LMK, pair.private_key)
    public.verify(private.sign(MESSAGE, ec.ECDSA(hashes.SHA256())), MESSAGE, ec.ECDSA(hashes.SHA256()))


def test_fy_refusals() -> None:
    assert code_of(lambda: hsm_rsa.generate_ecc(TEST_LMK, "03")) == "D2"
    pair = hsm_rsa.generate_ecc(TEST_LMK, "00")
    blob = bytearray(pair.private_key)
    blob[5] ^= 0x80
    assert code_of(lambda: hsm_rsa.open_ecc(TEST_LMK, bytes(blob))) == "49"
    assert code_of(lambda: hsm_rsa.open_ecc(OTHER_LMK, pair.private_key)) == "49"
    rsa_blob = hsm_rsa.generate_rsa(TEST_LMK, 320).private_key
    assert code_of(lambda: hsm_rsa.open_ecc(TEST_LMK, rsa_blob)) == "49"


def test_private_keys_do_not_show_in_reprs(signer: hsm_rsa.RsaKeyPair) -> None:
    held = hsm_rsa.open_rsa(TEST_LMK, signer.private_key)
    assert repr(held) == "RsaPrivate(<1024 bits>, 0)"


# --- key-block LMKs: private keys as Thales key blocks (a 10K's binary RSA key data; ECC: PKCS#8), read back with kb_oracle ---

KB_LMKS = {1: TEST_KEYBLOCK_LMK_3DES, 2: TEST_KEYBLOCK_LMK_AES}


def pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def crafted(lmk: KeyBlockLmk, data: bytes, usage: str = "03", algorithm: str = "R", mode: str = "N", lmk_id: str = "01") -> str:
    """A block under the LMK holding `data`, as only the LMK's holder could make it."""
    return "S" + wrap(lmk, Header(lmk.version_id, usage, algorithm, mode, lmk_id=lmk_id), data)


@pytest.mark.parametrize("lmk_id", [1, 2])
def test_rsa_4096_in_a_block_under_each_key_block_lmk_signs_as_cryptography_verifies(lmk_id: int) -> None:
    pair = hsm_rsa.generate_rsa_block(KB_LMKS[lmk_id], lmk_id, 4096, key_type="2", encoding="02")
    block = pair.private_key.decode("ascii")  # transport form: the binary key data in hex (keyblock.wrap_binary)
    wire = block_to_wire(block).decode("latin-1")
    assert wire[0] == "S" and int(wire[2:6]) == len(wire) - 1 <= 9999
    header, data = kb_oracle.open_binary_block(KB_LMKS[lmk_id].key, wire)
    assert header[5:16] == f"03RN00N00{lmk_id:02d}"
    private = kb_oracle.unit_rsa_key(data)
    assert private.public_key().public_numbers() == oracle_public(pair.public_key).public_numbers()
    held = hsm_rsa.open_rsa_block(KB_LMKS[lmk_id], block, lmk_id)
    signature = hsm_rsa.sign_with(held, MESSAGE, hash_id="06")
    oracle_public(pair.public_key).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    assert repr(held) == "RsaPrivate(<4096 bits>, 2, key block 03RN)"


def test_a_kept_opened_block_is_found_only_under_its_own_lmk() -> None:
    lmk = TEST_KEYBLOCK_LMK_3DES
    block = crafted(lmk, pkcs8(rsa.generate_private_key(65537, 1024)))
    assert hsm_rsa.open_rsa_block(lmk, block, 1) is hsm_rsa.open_rsa_block(lmk, block, 1)
    other = dataclasses.replace(lmk, key=bytes(reversed(lmk.key)))
    assert code_of(lambda: hsm_rsa.open_rsa_block(other, block, 1)) == "A4"  # its authenticator fails under another key


def test_a_block_of_usage_or_data_no_private_key_has_is_refused() -> None:
    lmk = TEST_KEYBLOCK_LMK_3DES
    key = rsa.generate_private_key(65537, 1024)
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(key), usage="02", mode="V"), 1)) == "A6"
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(key), algorithm="H"), 1)) == "A7"
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, b"not a key"), 1)) == "A5"
    ecc = ec.generate_private_key(ec.SECP256R1())
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(ecc)), 1)) == "A5"  # algorithm R, ECC data
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(ecc), algorithm="E"), 1)) == "A7"
    assert code_of(lambda: hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(key), lmk_id="03"), 1)) == "A3"
    assert code_of(lambda: hsm_rsa.open_rsa_block(TEST_KEYBLOCK_LMK_AES, crafted(lmk, pkcs8(key)), 1)) == "A1"


@pytest.mark.parametrize(("usage", "mode", "sign", "unwrap"), [("03", "S", None, "A8"), ("03", "D", "A8", None), ("03", "N", None, None),
                                                                 ("04", "S", "A6", "A6")])  # fmt: skip
def test_a_block_signs_and_unwraps_as_its_usage_and_mode_allow(usage: str, mode: str, sign: str | None, unwrap: str | None) -> None:
    lmk = TEST_KEYBLOCK_LMK_3DES
    key = rsa.generate_private_key(65537, 1024)
    held = hsm_rsa.open_rsa_block(lmk, crafted(lmk, pkcs8(key), usage=usage, mode=mode), 1)
    wrapped = key.public_key().encrypt(bytes(16), padding.PKCS1v15())
    calls: list[tuple[str | None, Callable[[], object]]] = [
        (sign, lambda: hsm_rsa.sign_with(held, MESSAGE, hash_id="06")),
        (unwrap, lambda: hsm_rsa.unwrap_with(held, wrapped, padding.PKCS1v15())),
    ]
    for code, call in calls:
        if code is None:
            call()
        else:
            assert code_of(call) == code


@pytest.mark.parametrize(("fields", "code"), [("00N0", "15"), ("00NX0", "AB"), ("0!N00", "A9"), ("00Z00", "AA"), ("00N01DA02", "AC")])
def test_rsa_block_generation_refuses_bad_fields_before_making_a_key(fields: str, code: str) -> None:
    lmk = TEST_KEYBLOCK_LMK_AES
    assert code_of(lambda: hsm_rsa.generate_rsa_block(lmk, 2, 512, key_type="0", encoding="01", fields=fields)) == code


@pytest.mark.parametrize(("curve", "named"), [("00", ec.SECP256R1()), ("01", ec.SECP384R1()), ("02", ec.SECP521R1())])
def test_fy_key_blocks_sign_and_verify_with_cryptography(curve: str, named: ec.EllipticCurve) -> None:
    pair = hsm_rsa.generate_ecc_block(TEST_KEYBLOCK_LMK_AES, 2, curve, "X00S00")
    header, der = kb_oracle.open_block(TEST_KEYBLOCK_LMK_AES.key, pair.private_key.decode("ascii"))
    assert header[5:16] == "03EX00S0002"
    private = serialization.load_der_private_key(der, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == named.name
    public = serialization.load_der_public_key(pair.public_key)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(private.sign(MESSAGE, ec.ECDSA(hashes.SHA256())), MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert code_of(lambda: hsm_rsa.generate_ecc_block(TEST_KEYBLOCK_LMK_AES, 2, curve, "D00S00")) == "A8"
