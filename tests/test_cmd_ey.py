"""EY — Validate an RSA signature.

Known answers, under the public test LMK:
- payShield host command reference, "Verify a MAC on a Public Key" (EQ)
  example: MAC 9C350891 on the 512-bit key 30470240AE21…0203010001 with
  authentication data "AUTHEN-DATA", and "Translate a Public Key MAC" (EU):
  530548CE on the same key without. EY takes the key with those MACs (a
  signature that is not the key's then fails with 02, not 01) and refuses it
  with any other (01). No signature by that key is published.
- EZ's codes as kambizh/payshield-crypto-client (EYCommand.java, tested on a
  10K) reads them: 00 valid, 01 MAC verification failure, 02 signature
  verification failure.
Signatures are made by `cryptography` with a key of its own (PKCS#1 v1.5,
every hash), and the MACs by tests/oracle.py; the round trip EI -> EO -> EW
-> EY runs the four commands.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ei, eo, ew, ey
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange
from tests.test_cmd_ei import KB_HOST, generate_block, opened_private_key, split_ej
from tests.test_cmd_eo import AUTH_DATA, EQ_PUBLIC_KEY, eo_block
from tests.test_cmd_ew import HASHES, block_request

MESSAGE = b"The quick brown fox jumps over the lazy dog"
OUTSIDE = rsa.generate_private_key(65537, 1024)  # the other party, whose signatures EY checks
OUTSIDE_KEY = OUTSIDE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
OUTSIDE_MAC = bytes.fromhex(oracle.public_key_mac(OUTSIDE_KEY, b"ISSUER-7"))
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(MESSAGE).digest()


def request(
    hash_id: str, signature: bytes, data: bytes, mac: bytes, public_key: bytes, auth_data: bytes = b"", *, ids: str = "0101"
) -> bytes:
    """EY's fields: identifiers, signature and data each with its length and ';', then MAC, public key, authentication data."""
    return (
        f"{hash_id}{ids}{len(signature):04d}".encode()
        + signature
        + f";{len(data):04d}".encode()
        + data
        + b";"
        + mac
        + public_key
        + auth_data
    )


def signed(hash_id: str, data: bytes = MESSAGE) -> bytes:
    return OUTSIDE.sign(data, padding.PKCS1v15(), HASHES[hash_id])


def outside(hash_id: str, signature: bytes, data: bytes = MESSAGE, *, ids: str = "0101") -> bytes:
    return request(hash_id, signature, data, OUTSIDE_MAC, OUTSIDE_KEY, b"ISSUER-7", ids=ids)


NOT_A_SIGNATURE = bytes(range(64))
SHA256_SIGNATURE = signed("06")

CASES: list[tuple[bytes, bytes]] = [
    (request("06", NOT_A_SIGNATURE, MESSAGE, bytes.fromhex("9C350891"), EQ_PUBLIC_KEY, AUTH_DATA), b"02"),  # the EQ example's MAC
    (request("06", NOT_A_SIGNATURE, MESSAGE, bytes.fromhex("530548CE"), EQ_PUBLIC_KEY), b"02"),  # the EU example's MAC
    (request("06", NOT_A_SIGNATURE, MESSAGE, bytes.fromhex("9C350891"), EQ_PUBLIC_KEY), b"01"),  # without its auth data
    (request("06", NOT_A_SIGNATURE, MESSAGE, bytes.fromhex("9C350890"), EQ_PUBLIC_KEY, AUTH_DATA), b"01"),
    *((outside(hash_id, signed(hash_id)), b"00") for hash_id in sorted(HASHES)),
    (outside("06", SHA256_SIGNATURE) + b"%00", b"00"),
    (outside("04", SHA256_SIGNATURE, SHA256_INFO), b"00"),  # no hash: the data is the DigestInfo
    (outside("06", SHA256_SIGNATURE, MESSAGE + b"."), b"02"),
    (outside("01", SHA256_SIGNATURE), b"02"),  # made with SHA-256, checked as SHA-1
    (outside("06", SHA256_SIGNATURE[:-1]), b"02"),  # a byte short
    (outside("06", signed("06", b"")), b"02"),
    (request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_MAC, OUTSIDE_KEY, b"ISSUER-8"), b"01"),
    (outside("04", SHA256_SIGNATURE), b"74"),  # no hash, and the data is no DigestInfo
    (outside("09", SHA256_SIGNATURE), b"05"),
    (outside("03", SHA256_SIGNATURE), b"05"),  # MDC-2: hsmd's refusal
    (outside("06", SHA256_SIGNATURE, ids="0201"), b"06"),
    (outside("06", SHA256_SIGNATURE, ids="0104"), b"07"),  # PSS is not supported
    (b"0601010128" + SHA256_SIGNATURE + b"X", b"15"),  # no ';' after the signature
    (b"0601019999" + SHA256_SIGNATURE, b"15"),  # signature shorter than its length
    (b"0601010128" + SHA256_SIGNATURE + b";9999" + MESSAGE, b"80"),  # data shorter than its length
    (b"0601010128" + SHA256_SIGNATURE + b";0003" + MESSAGE, b"80"),  # no ';' after the data's length
    (request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_MAC, b"\x31" + OUTSIDE_KEY[1:]), b"04"),  # not a SEQUENCE
    (request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_MAC, OUTSIDE_KEY[:-1]), b"04"),  # cut short
    (request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_MAC, bytes.fromhex("300E020900C5ADCDF53DA40D2B020103")), b"76"),  # 64 bits
    (outside("06", SHA256_SIGNATURE) + b"%01", b"13"),  # LMK 01 not loaded
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ey_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(ey, host, request_) == answer


def test_ei_eo_ew_ey_round_trip(host: Host) -> None:
    """A key pair made by EI; its public key imported by EO with authentication data; EW signs; EY checks."""
    public_key, private_key = split_ej(native(ei, host, b"2102401"))
    imported = native(eo, host, b"01" + public_key + b"OUR-KEY")
    mac = imported[2:6]
    assert imported == b"00" + bytes.fromhex(oracle.public_key_mac(public_key, b"OUR-KEY")) + public_key
    for hash_id in sorted(HASHES):
        signed_answer = native(
            ew, host, f"{hash_id}0101{len(MESSAGE):04d}".encode() + MESSAGE + f";99{len(private_key):04d}".encode() + private_key
        )
        signature = signed_answer[6:]
        assert native(ey, host, request(hash_id, signature, MESSAGE, mac, public_key, b"OUR-KEY")) == b"00"
        assert native(ey, host, request(hash_id, signature, MESSAGE[:-1], mac, public_key, b"OUR-KEY")) == b"02"


@pytest.mark.wasm
def test_ey_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EY.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(ey, host, request_), request_


@pytest.mark.wasm
async def test_ey_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins, b"EY" + outside("06", SHA256_SIGNATURE), b"EY" + outside("06", SHA256_SIGNATURE, MESSAGE + b"!")
    ) == [b"EZ00", b"EZ02"]


# --- under a key-block LMK: the public key is EO's block (kambizh/payshield-crypto-client EYCommand, commit 89bc909) ---
# The signer's key pair is made by EI under a key-block LMK; its private key block is opened by tests/kb_oracle.py and
# signs with `cryptography` alone, so every "00" below is a signature hsmd did not make.

OUTSIDE_BLOCKS = {lmk_id: eo_block(lmk_id, "V00N00", OUTSIDE_KEY, encoding="01") for lmk_id in (1, 2)}


def kb_request(hash_id: str, signature: bytes, data: bytes, block: str, lmk_id: int = 1) -> bytes:
    head = f"{hash_id}0101{len(signature):04d}".encode() + signature + f";{len(data):04d}".encode() + data + b";"
    return head + block.encode("latin-1") + f"%{lmk_id:02d}".encode()


@pytest.mark.parametrize("lmk_id", [1, 2])
@pytest.mark.parametrize("hash_id", sorted(HASHES))
def test_ey_checks_a_signature_under_a_public_key_block(lmk_id: int, hash_id: str) -> None:
    block = OUTSIDE_BLOCKS[lmk_id]
    assert native(ey, KB_HOST, kb_request(hash_id, signed(hash_id), MESSAGE, block, lmk_id)) == b"00"
    assert native(ey, KB_HOST, kb_request(hash_id, signed(hash_id), MESSAGE + b".", block, lmk_id)) == b"02"


def test_ei_eo_ew_ey_round_trip_under_a_key_block_lmk() -> None:
    public_key, private_block = generate_block("0", 1024, lmk_id=2)
    _, private = opened_private_key(private_block, 2)
    block = eo_block(2, "N00N00", public_key, encoding="02")
    by_hsmd = native(ew, KB_HOST, block_request("06", MESSAGE, private_block, 2))[6:]
    assert by_hsmd == private.sign(MESSAGE, padding.PKCS1v15(), HASHES["06"])  # PKCS#1 v1.5 is deterministic
    assert native(ey, KB_HOST, kb_request("06", by_hsmd, MESSAGE, block, 2)) == b"00"


def tampered(block: str) -> str:
    at = len(block) - 20  # in the encrypted key data
    return block[:at] + ("1" if block[at] != "1" else "2") + block[at + 1 :]


KB_CASES: list[tuple[bytes, bytes]] = [
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_BLOCKS[1]), b"00"),
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_BLOCKS[1])[:-3], b"A1"),  # default LMK 00 is a variant LMK
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, tampered(OUTSIDE_BLOCKS[1])), b"A4"),
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_BLOCKS[2], 1), b"A1"),  # an AES LMK's block (version 1) under the 3DES LMK
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, eo_block(1, "E00N00", OUTSIDE_KEY)), b"A8"),  # E: for GK, not for verifying
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, kb_oracle.ZPK_1), b"A6"),  # a real unit's ZPK block: no public key
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, generate_block("0", 512)[1]), b"A6"),  # a private key block
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_BLOCKS[1][:-2]), b"15"),  # cut short of its length field
    (kb_request("06", SHA256_SIGNATURE, MESSAGE, OUTSIDE_BLOCKS[1]) + b"X", b"15"),  # after the LMK identifier
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_ey_key_block_answers_and_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(ey, KB_HOST, request_) == answer


@pytest.mark.wasm
def test_ey_component_takes_the_key_block_form_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "EY.wasm", ey, KB_HOST, KB_CASES)
