"""GI — Import a DES key encrypted under an RSA public key.

The key pairs are made by EI under the test LMK. `cryptography` encrypts
known DES keys under the EJ public key (PKCS#1 v1.5, and OAEP with SHA-1 and
a label); GI must answer each key under its LMK pair and its check value
exactly as tests/oracle.py (psec) writes them. The round trip EI -> EO -> GK
-> GI runs the four commands: the key GK exports under the public key comes
back under the LMK with its check value.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ei, eo, gi, gk
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_ei import generate, split_ej
from tests.test_cmd_ew import tampered

TRANSPORT = generate("1", 1024)  # key management only
SIGNER = generate("0", 1024)  # signature only
PUBLIC = serialization.load_der_public_key(TRANSPORT[0])
assert isinstance(PUBLIC, rsa.RSAPublicKey)

KEY16 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KEY8 = bytes.fromhex("89ABCDEF01234567")
KEY24 = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")
EVEN = bytes.fromhex("0123456789ABCDEEFEDCBA9876543210")  # EE: even parity
LABEL = b"GI-LABEL"

PKCS1 = b"0101"
OAEP = b"0102" + b"0101" + f"{len(LABEL):02d}".encode() + LABEL + b";"


def oaep(label: bytes | None = LABEL) -> padding.OAEP:
    return padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), label)


def request(transport: bytes, key_type: str, encrypted: bytes, private_key: bytes = TRANSPORT[1], *, flag: str = "99") -> bytes:
    return transport + f"{key_type}{len(encrypted):04d}".encode() + encrypted + f";{flag}{len(private_key):04d}".encode() + private_key


def under_lmk(key_type: str, clear: bytes) -> bytes:
    """GJ's fields for `clear` imported as `key_type`: the key under the test LMK (Z, U, T by length) and its check value."""
    scheme = {8: "Z", 16: "U", 24: "T"}[len(clear)]
    return (oracle.to_lmk(key_type, scheme, oracle.with_odd_parity(clear)) + oracle.kcv(oracle.with_odd_parity(clear))).encode()


PKCS1_KEY16 = PUBLIC.encrypt(KEY16, padding.PKCS1v15())
CASES: list[tuple[bytes, bytes]] = [
    (request(PKCS1, "0600", PKCS1_KEY16), b"00" + under_lmk("001", KEY16)),
    (request(PKCS1, "0600", PUBLIC.encrypt(KEY8, padding.PKCS1v15())), b"00" + under_lmk("001", KEY8)),
    (request(PKCS1, "0600", PUBLIC.encrypt(KEY24, padding.PKCS1v15())) + b"%00", b"00" + under_lmk("001", KEY24)),
    (request(PKCS1, "1400", PKCS1_KEY16), b"00" + under_lmk("002", KEY16)),  # a TMK under LMK 14-15
    (request(PKCS1, "1404", PKCS1_KEY16), b"00" + under_lmk("402", KEY16)),  # a CVK, 14-15 variant 4
    (request(OAEP, "0600", PUBLIC.encrypt(KEY16, oaep())), b"00" + under_lmk("001", KEY16)),
    (request(b"0102010100;", "0600", PUBLIC.encrypt(KEY16, oaep(None))), b"00" + under_lmk("001", KEY16)),
    (request(PKCS1, "0600", PUBLIC.encrypt(EVEN, padding.PKCS1v15())), b"01" + under_lmk("001", EVEN)),  # parity advice
    (request(OAEP, "0600", PUBLIC.encrypt(KEY16, oaep(b"OTHER"))), b"77"),  # another label
    (request(PKCS1, "0600", PUBLIC.encrypt(KEY16[:10], padding.PKCS1v15())), b"77"),  # 10 bytes: not a key
    (request(PKCS1, "0600", PKCS1_KEY16[1:]), b"76"),  # not as long as the modulus
    (request(PKCS1, "0600", PKCS1_KEY16, SIGNER[1]), b"03"),  # a signature-only key does not unwrap
    (request(PKCS1, "0600", PKCS1_KEY16, tampered(TRANSPORT[1], 7)), b"49"),
    (request(PKCS1, "0600", PKCS1_KEY16, bytes(31)), b"78"),
    (request(PKCS1, "0700", PKCS1_KEY16), b"04"),  # no LMK pair 07-08
    (request(PKCS1, "3400", PKCS1_KEY16), b"04"),  # 00C: not in the key type table
    (request(PKCS1, "0600", PKCS1_KEY16, flag="98"), b"04"),  # private key flag
    (request(PKCS1, "0600", PKCS1_KEY16)[: 4 + 4 + 4 + 128] + b";05", b"12"),  # a user storage index
    (request(PKCS1, "0600", PKCS1_KEY16)[: 4 + 4 + 4 + 128] + b";99FFFF", b"78"),  # a key-block unit's length
    (request(b"0103", "0600", PKCS1_KEY16), b"07"),
    (request(b"0201", "0600", PKCS1_KEY16), b"15"),  # encryption identifier
    (request(b"0102020100;", "0600", PKCS1_KEY16), b"85"),
    (request(b"0102010600;", "0600", PKCS1_KEY16), b"86"),
    (PKCS1 + b"06000128" + PKCS1_KEY16 + b"99", b"15"),  # no ';' after the encrypted key
    (PKCS1 + b"06009999" + PKCS1_KEY16, b"15"),  # shorter than its length
    (request(PKCS1, "0600", PKCS1_KEY16) + b"%01", b"13"),
    (request(PKCS1, "0600", PKCS1_KEY16) + b"X", b"15"),
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_gi_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(gi, host, request_) == answer


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("001", under_lmk("001", KEY16)[:33].decode()) == KEY16
    assert oracle.kcv(KEY16) == under_lmk("001", KEY16)[33:].decode()


@pytest.mark.parametrize(("key_type", "code", "transport"), [("1400", "002", PKCS1), ("0600", "001", OAEP), ("0400", "000", PKCS1)])
def test_ei_eo_gk_gi_round_trip(host: Host, key_type: str, code: str, transport: bytes) -> None:
    """EI makes the receiver's key pair, EO MACs its public key, GK exports a key under it, GI imports it back."""
    public_key, private_key = split_ej(native(ei, host, b"1102401"))
    mac = native(eo, host, b"01" + public_key)[2:6]
    field = oracle.to_lmk(code, "U", KEY16)
    exported = native(gk, host, transport + f"{key_type}1{field}{oracle.kcv(KEY16)}".encode() + mac + public_key)
    assert exported[:18] == b"00" + b"0" * 16
    encrypted = exported[22:]
    assert native(gi, host, request(transport, key_type, encrypted, private_key)) == b"00" + under_lmk(code, KEY16)


@pytest.mark.wasm
def test_gi_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GI.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(gi, host, request_), request_


@pytest.mark.wasm
async def test_gi_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, b"GI" + CASES[0][0], b"GI" + request(PKCS1, "0600", PKCS1_KEY16, SIGNER[1])) == [
        b"GJ" + CASES[0][1],
        b"GJ03",
    ]
