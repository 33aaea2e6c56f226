"""EW — Generate an RSA signature.

The request layout is a real unit's frame (softwaregroup-bg/ut-codec-payshield
test/config/test.js, generateRsaSignatureEncode set 0: `EW` `06` `01` `01`
`0003` data `;` `99` `0656` key). The keys are made by EI under the test LMK;
every signature is checked two ways, independently of hsmd: `cryptography`
verifies it with the EJ public key, and the RSA public operation on it
(Python's pow) gives exactly the EMSA-PKCS1-v1_5 block built here from
hashlib's digest and RFC 8017's DigestInfo prefixes. PKCS#1 v1.5 is
deterministic, so the component must give the very same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES
from hsmd.host.lmk import Lmk
from hsmd.runtime import Runtime
from logic import ei, ew
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange
from tests.test_cmd_ei import KB_HOST, generate, generate_block, split_ej_block

MESSAGE = b"The quick brown fox jumps over the lazy dog"
SIGNER = generate("0", 1024)  # signature only
BOTH = generate("2", 512, "01")  # signature and key management, public key in encoding 01
TRANSPORT = generate("1", 1024)  # key management only
SMALL = generate("0", 384)  # too short for a SHA-256 DigestInfo

# RFC 8017 section 9.2 note 1: the DigestInfo DER before the digest, by payShield hash identifier.
DIGEST_INFO = {
    "01": ("sha1", "3021300906052b0e03021a05000414"),
    "02": ("md5", "3020300c06082a864886f70d020505000410"),
    "05": ("sha224", "302d300d06096086480165030402040500041c"),
    "06": ("sha256", "3031300d060960864801650304020105000420"),
    "07": ("sha384", "3041300d060960864801650304020205000430"),
    "08": ("sha512", "3051300d060960864801650304020305000440"),
}
HASHES: dict[str, hashes.HashAlgorithm] = {
    "01": hashes.SHA1(),
    "02": hashes.MD5(),
    "05": hashes.SHA224(),
    "06": hashes.SHA256(),
    "07": hashes.SHA384(),
    "08": hashes.SHA512(),
}


def request(hash_id: str, data: bytes, private_key: bytes, *, ids: str = "0101", key_length: str | None = None) -> bytes:
    """EW's fields: identifiers, data with its length and ';', flag 99 and the private key with its length."""
    length = f"{len(private_key):04d}" if key_length is None else key_length
    return f"{hash_id}{ids}{len(data):04d}".encode() + data + b";99" + length.encode() + private_key


def digest_info(hash_id: str, data: bytes) -> bytes:
    name, prefix = DIGEST_INFO[hash_id]
    return bytes.fromhex(prefix) + hashlib.new(name, data).digest()


def emsa_pkcs1_v15(info: bytes, size: int) -> bytes:
    """RFC 8017 section 9.2: 00 01 FF…FF 00 DigestInfo, `size` bytes."""
    return b"\x00\x01" + b"\xff" * (size - len(info) - 3) + b"\x00" + info


def signature_of(answer: bytes) -> bytes:
    assert answer[:2] == b"00", answer
    length = int(answer[2:6])
    assert len(answer) == 6 + length
    return answer[6:]


def opened(public_key: bytes, signature: bytes) -> bytes:
    """The RSA public operation on a signature: the encoded message it carries."""
    modulus, exponent = oracle.rsa_public_numbers(public_key)
    size = (modulus.bit_length() + 7) // 8
    return pow(int.from_bytes(signature, "big"), exponent, modulus).to_bytes(size, "big")


def tampered(private_key: bytes, position: int) -> bytes:
    blob = bytearray(private_key)
    blob[position] ^= 0x01
    return bytes(blob)


CASES: list[tuple[bytes, bytes]] = [
    (request("09", MESSAGE, SIGNER[1]), b"05"),
    (request("03", MESSAGE, SIGNER[1]), b"05"),  # MDC-2: hsmd's refusal
    (request("06", MESSAGE, SIGNER[1], ids="0201"), b"06"),
    (request("06", MESSAGE, SIGNER[1], ids="0102"), b"07"),  # OAEP, PSS, X9.31: not for signatures here
    (request("04", MESSAGE, SIGNER[1]), b"74"),  # not a DigestInfo
    (request("04", digest_info("06", MESSAGE)[:-1], SIGNER[1]), b"74"),  # digest one byte short
    (request("04", bytes.fromhex("3031300d06096086480165030402FF05000420") + bytes(32), SIGNER[1]), b"79"),  # unknown OID
    (request("06", MESSAGE, SMALL[1]), b"76"),  # a 384-bit modulus cannot hold SHA-256's DigestInfo
    (request("06", MESSAGE, TRANSPORT[1]), b"03"),  # key management only
    (request("06", MESSAGE, tampered(SIGNER[1], 40)), b"49"),
    (request("06", MESSAGE, SIGNER[1][:-1]), b"49"),  # cut short, its length field agreeing
    (request("06", MESSAGE, bytes(31)), b"78"),  # no private key is this short
    (request("06", MESSAGE, SIGNER[1], key_length="FFFF"), b"78"),  # a key-block unit's length
    (request("06", MESSAGE, SIGNER[1], key_length="9999"), b"78"),  # longer than the data
    (b"060101" + f"{len(MESSAGE) + 1:04d}".encode() + MESSAGE, b"80"),  # data shorter than declared
    (b"0601010005" + MESSAGE[:6] + b";99", b"80"),  # no ';' right after the declared data
    (b"0601010003ABC;98", b"04"),  # private key flag
    (b"0601010003ABC;05", b"12"),  # a user storage index: hsmd holds none
    (request("06", MESSAGE, SIGNER[1]) + b"%01", b"13"),  # LMK 01 not loaded
    (request("06", MESSAGE, SIGNER[1]) + b"X", b"15"),
]
# Signed: the answers are checked below; the component must give the same bytes.
SIGNED = [request("06", MESSAGE, SIGNER[1]) + b"%00", request("01", b"", BOTH[1]), request("04", digest_info("08", MESSAGE), SIGNER[1])]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ew_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(ew, host, request_) == answer


@pytest.mark.parametrize("hash_id", sorted(HASHES))
def test_ew_signatures_verify_with_the_ej_public_key(host: Host, hash_id: str) -> None:
    public_key, private_key = SIGNER
    signature = signature_of(native(ew, host, request(hash_id, MESSAGE, private_key)))
    assert len(signature) == 128
    assert opened(public_key, signature) == emsa_pkcs1_v15(digest_info(hash_id, MESSAGE), 128)
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, rsa.RSAPublicKey)
    loaded.verify(signature, MESSAGE, padding.PKCS1v15(), HASHES[hash_id])


def test_without_hash_ew_signs_the_digest_info_it_is_given(host: Host) -> None:
    public_key, private_key = SIGNER
    signature = signature_of(native(ew, host, request("04", digest_info("06", MESSAGE), private_key)))
    assert signature == signature_of(native(ew, host, request("06", MESSAGE, private_key)))  # deterministic
    assert opened(public_key, signature) == emsa_pkcs1_v15(digest_info("06", MESSAGE), 128)


def test_a_key_of_both_types_signs_and_its_unsigned_public_key_verifies(host: Host) -> None:
    public_key, private_key = BOTH
    signature = signature_of(native(ew, host, request("01", b"", private_key)))
    assert len(signature) == 64
    assert opened(public_key, signature) == emsa_pkcs1_v15(digest_info("01", b""), 64)


def test_binary_data_with_delimiters_and_percent_signs_is_signed_whole(host: Host) -> None:
    data = b";%00\x19\x00" + bytes(range(256))
    public_key, private_key = SIGNER
    signature = signature_of(native(ew, host, request("06", data, private_key)))
    assert opened(public_key, signature) == emsa_pkcs1_v15(digest_info("06", data), 128)


def test_a_private_key_under_another_lmk_is_49() -> None:
    other = Lmk((*TEST_LMK.pairs[:17], bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), *TEST_LMK.pairs[18:]))  # 34-35
    two_lmks = Host(LmkSet({0: TEST_LMK, 1: other}), "0007-E000")
    assert native(ew, two_lmks, request("06", MESSAGE, SIGNER[1]) + b"%01") == b"49"
    assert native(ew, two_lmks, request("06", MESSAGE, SIGNER[1]) + b"%00")[:2] == b"00"


@pytest.mark.wasm
def test_ew_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EW.wasm")
    for request_ in [request_ for request_, _ in CASES] + SIGNED:
        assert in_component(runtime, plugin, request_) == native(ew, host, request_), request_
    assert all(native(ew, host, request_)[:2] == b"00" for request_ in SIGNED)


@pytest.mark.wasm
async def test_ew_over_tcp(built_plugins: Path) -> None:
    public_key, private_key = SIGNER
    signed, refused = await exchange(
        built_plugins, b"EW" + request("06", MESSAGE, private_key), b"EW" + request("09", MESSAGE, private_key)
    )
    assert signed[:2] == b"EX"
    assert opened(public_key, signature_of(signed[2:])) == emsa_pkcs1_v15(digest_info("06", MESSAGE), 128)
    assert refused == b"EX05"


# --- key-block LMKs: the private key field is flag 99, "FFFF" and "S" + the block (EI's under LMK 01/02) ---
# aws-samples/samples-for-payment-cryptography-service (key-import-export .../payshield/commands.py) sends a
# key-block private key as `99FFFF` + the block in its B8; EW takes it the same way in place of length + key.

BLOCK_SIGNER = {lmk_id: generate_block("0", 1024, lmk_id) for lmk_id in (1, 2)}
BLOCK_BOTH = generate_block("2", 512, 1)
BLOCK_TRANSPORT = generate_block("1", 1024, 1)


def block_request(hash_id: str, data: bytes, block: str, lmk_id: int = 1) -> bytes:
    return f"{hash_id}0101{len(data):04d}".encode() + data + b";99FFFF" + block.encode("latin-1") + f"%{lmk_id:02d}".encode()


def tampered_block(block: str) -> str:
    """The block with one byte of its encrypted key data changed."""
    at = 40
    return block[:at] + ("1" if block[at] != "1" else "2") + block[at + 1 :]


def other_3des_lmks() -> Host:
    """The 3DES key-block test LMK loaded as both 01 and 03: a block made for 01 names its LMK."""
    return Host(LmkSet({1: TEST_KEYBLOCK_LMK_3DES, 3: TEST_KEYBLOCK_LMK_3DES}, default=1), "0007-E000")


KB_CASES: list[tuple[bytes, bytes]] = [
    (block_request("06", MESSAGE, BLOCK_TRANSPORT[1]), b"A8"),  # mode of use D: key management only
    (block_request("06", MESSAGE, kb_oracle.ZPK_1), b"A6"),  # a real unit's ZPK block: no private key
    (block_request("06", MESSAGE, tampered_block(BLOCK_SIGNER[1][1])), b"A4"),
    (block_request("06", MESSAGE, BLOCK_SIGNER[1][1], 0), b"A1"),  # a key block under the variant LMK
    (block_request("06", MESSAGE, BLOCK_SIGNER[2][1], 1), b"A1"),  # an AES LMK's block under the 3DES LMK
    (request("06", MESSAGE, SIGNER[1]) + b"%01", b"A1"),  # a sealed key under a key-block LMK
    (b"0601010003ABC;99FFFF" + SIGNER[1], b"78"),  # FFFF without a key block after it
    (b"0601010003ABC;99FFFFS0", b"78"),  # a key block without its length
    (b"0601010003ABC;99FFFFS00005ABCDE", b"78"),  # a key block shorter than its header
    (block_request("06", MESSAGE, BLOCK_SIGNER[1][1])[:-10], b"78"),  # cut short
    (block_request("05", MESSAGE, BLOCK_SIGNER[1][1], 1) + b"X", b"15"),
    (block_request("09", MESSAGE, BLOCK_SIGNER[1][1]), b"05"),
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_ew_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(ew, KB_HOST, request_) == answer


@pytest.mark.parametrize("lmk_id", [1, 2])
@pytest.mark.parametrize("hash_id", ["01", "06", "08"])
def test_ew_signs_with_a_key_block_private_key_and_cryptography_verifies(lmk_id: int, hash_id: str) -> None:
    public_key, block = BLOCK_SIGNER[lmk_id]
    signature = signature_of(native(ew, KB_HOST, block_request(hash_id, MESSAGE, block, lmk_id)))
    assert len(signature) == 128
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, rsa.RSAPublicKey)
    loaded.verify(signature, MESSAGE, padding.PKCS1v15(), HASHES[hash_id])
    assert opened(public_key, signature) == emsa_pkcs1_v15(digest_info(hash_id, MESSAGE), 128)


def test_a_key_block_of_mode_n_signs_on_the_default_lmk() -> None:
    public_key, block = BLOCK_BOTH
    host = kb_oracle.make_host(default=1)
    answer = native(ew, host, b"0101010000;99FFFF" + block.encode("latin-1"))
    assert opened(public_key, signature_of(answer)) == emsa_pkcs1_v15(digest_info("01", b""), 64)


def test_a_key_block_for_another_lmk_identifier_is_a3() -> None:
    host = other_3des_lmks()
    assert native(ew, host, block_request("06", MESSAGE, BLOCK_SIGNER[1][1], 3)) == b"A3"
    assert native(ew, host, block_request("06", MESSAGE, BLOCK_SIGNER[1][1], 1))[:2] == b"00"


@pytest.mark.wasm
def test_ew_component_takes_the_key_block_forms_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "EW.wasm", ew, KB_HOST, KB_CASES)


def test_ew_signs_with_a_real_units_key_block_as_the_unit_did() -> None:
    """REAL (tests/kb_oracle.py: a 10K's RSA-2048 block under its LMK 01 and its signature of ABCBAB,
    SHA-256, PKCS#1 v1.5, from ut-codec-payshield docs/examples.js): hsmd gives the unit's bytes.
    The oracle opens the block itself, and `cryptography` verifies the signature with its key."""
    data = bytes.fromhex("ABCBAB")
    key = kb_oracle.unit_rsa_key(kb_oracle.open_binary_block(kb_oracle.K3, kb_oracle.UNIT_RSA_BLOCK.decode("latin-1"))[1])
    key.public_key().verify(kb_oracle.UNIT_RSA_SIGNATURE, data, padding.PKCS1v15(), hashes.SHA256())
    request = b"060101" + f"{len(data):04d}".encode() + data + b";99FFFF" + kb_oracle.UNIT_RSA_BLOCK + b"%01"
    assert native(ew, KB_HOST, request) == b"000256" + kb_oracle.UNIT_RSA_SIGNATURE
    tampered = kb_oracle.UNIT_RSA_BLOCK[:100] + bytes([kb_oracle.UNIT_RSA_BLOCK[100] ^ 1]) + kb_oracle.UNIT_RSA_BLOCK[101:]
    assert native(ew, KB_HOST, request.replace(kb_oracle.UNIT_RSA_BLOCK, tampered)) == b"A4"


@pytest.mark.parametrize(("bits", "exponent_bits"), [(512, 301), (1024, 601)])
def test_a_key_block_with_a_wide_public_exponent_signs(bits: int, exponent_bits: int) -> None:
    """The block holds no exponent (tests/kb_oracle.py, the unit's form): the host recovers it from dp and
    dq, however wide EI let it be (up to bits - 2). `cryptography` verifies with EI's public key."""
    exponent = (1 << (exponent_bits - 1)) | 1
    raw = exponent.to_bytes(-(-exponent_bits // 8), "big")
    answer = native(ei, KB_HOST, f"0{bits:04d}02{exponent_bits:04d}".encode() + raw + b"%01#0000")
    public_key, block = split_ej_block(answer)
    assert oracle.rsa_public_numbers(public_key)[1] == exponent
    signature = signature_of(native(ew, KB_HOST, block_request("06", MESSAGE, block)))
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, rsa.RSAPublicKey)
    loaded.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
