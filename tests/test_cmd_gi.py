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
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange
from tests.test_cmd_ei import KB_HOST, generate, generate_block, split_ej, split_ej_block
from tests.test_cmd_ew import tampered, tampered_block

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


# --- key-block LMKs: GI's private key is `99FFFF` + "S" block (EI's under LMK 01/02); key type FFFF and
# '#' fields (key usage 2, mode of use 1, key version 2, exportability 1, optional blocks 2 + blocks)
# give the imported key its header; GJ answers it as "S" + a block under the LMK, opened here by kb_oracle.

BLOCK_TRANSPORT = {lmk_id: generate_block("1", 1024, lmk_id) for lmk_id in (1, 2)}
BLOCK_SIGNER = generate_block("0", 1024, 1)
BLOCK_PUBLIC = {lmk_id: serialization.load_der_public_key(pair[0]) for lmk_id, pair in BLOCK_TRANSPORT.items()}
LMK_KEYS = {1: kb_oracle.K3, 2: kb_oracle.KA}


def block_request(
    transport: bytes, encrypted: bytes, block: str, lmk_id: int = 1, *, key_type: str = "FFFF", fields: str | None = "P0B00E00"
) -> bytes:
    tail = b"" if fields is None else b"#" + fields.encode()
    head = transport + f"{key_type}{len(encrypted):04d}".encode() + encrypted
    return head + b";99FFFF" + block.encode("latin-1") + f"%{lmk_id:02d}".encode() + tail


def encrypt_pkcs1(lmk_id: int, clear: bytes) -> bytes:
    public = BLOCK_PUBLIC[lmk_id]
    assert isinstance(public, rsa.RSAPublicKey)
    return public.encrypt(clear, padding.PKCS1v15())


def split_gj_block(answer: bytes) -> tuple[str, str]:
    """GJ's key ("S" + block) and 16 H check value."""
    assert answer[:2] == b"00", answer
    text = answer[2:].decode("ascii")
    length = 1 + int(text[2:6])
    assert len(text) == length + 16
    return text[:length], text[length:]


@pytest.mark.parametrize("lmk_id", [1, 2])
def test_gi_imports_a_key_under_a_key_block_lmk_with_the_header_its_fields_give(lmk_id: int) -> None:
    block = BLOCK_TRANSPORT[lmk_id][1]
    answer = native(gi, KB_HOST, block_request(PKCS1, encrypt_pkcs1(lmk_id, KEY16), block, lmk_id))
    key, check_value = split_gj_block(answer)
    header, clear = kb_oracle.open_block(LMK_KEYS[lmk_id], key)
    version = "0" if lmk_id == 1 else "1"
    assert header == f"{version}{len(key) - 1:04d}P0TB00E00{lmk_id:02d}"
    assert clear == KEY16
    assert check_value == oracle.kcv(KEY16)


def test_gi_under_a_key_block_lmk_with_oaep_and_parity_advice() -> None:
    public = BLOCK_PUBLIC[1]
    assert isinstance(public, rsa.RSAPublicKey)
    answer = native(gi, KB_HOST, block_request(OAEP, public.encrypt(EVEN, oaep()), BLOCK_TRANSPORT[1][1], fields="K0B00S00"))
    assert answer[:2] == b"01"
    key, _ = split_gj_block(b"00" + answer[2:])
    header, clear = kb_oracle.open_block(kb_oracle.K3, key)
    assert header[5:16] == "K0TB00S0001" and clear == oracle.with_odd_parity(EVEN)


def test_a_variant_key_type_takes_a_header_whose_usage_suits_it() -> None:
    encrypted = encrypt_pkcs1(1, KEY16)
    key, _ = split_gj_block(native(gi, KB_HOST, block_request(PKCS1, encrypted, BLOCK_TRANSPORT[1][1], key_type="0600")))
    assert kb_oracle.open_block(kb_oracle.K3, key)[1] == KEY16
    assert native(gi, KB_HOST, block_request(PKCS1, encrypted, BLOCK_TRANSPORT[1][1], key_type="0600", fields="K0B00E00")) == b"A6"


KB_CASES: list[tuple[bytes, bytes]] = [
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_SIGNER[1]), b"A8"),  # mode of use S: signature only
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), tampered_block(BLOCK_TRANSPORT[1][1])), b"A4"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], key_type="0600", fields=None), b"A1"),  # no header
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields=None), b"04"),  # FFFF needs the '#' fields
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], 0), b"A1"),  # a key block under the variant LMK
    (block_request(PKCS1, PKCS1_KEY16, TRANSPORT[1].hex(), 0), b"78"),  # FFFF and no "S" block
    (request(PKCS1, "0600", PKCS1_KEY16) + b"%00#P0B00E00", b"A1"),  # a header for a variant LMK's key
    (request(PKCS1, "0600", PKCS1_KEY16) + b"%01", b"A1"),  # a sealed key under a key-block LMK
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields="ZZB00E00"), b"A6"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields="P0C00E00"), b"A8"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields="P0B00Q00"), b"AA"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields="P0B00EXX"), b"AB"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16), BLOCK_TRANSPORT[1][1], fields="P0B00"), b"15"),
    (block_request(PKCS1, encrypt_pkcs1(1, KEY16[:10]), BLOCK_TRANSPORT[1][1]), b"77"),
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_gi_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(gi, KB_HOST, request_) == answer


@pytest.mark.parametrize("lmk_id", [1, 2])
def test_ei_eo_gk_gi_round_trip_under_a_key_block_lmk(lmk_id: int) -> None:
    """EI makes the receiver's key pair under the key-block LMK; EO and GK (public-key MACs: variant LMK 00)
    export a variant ZPK under its public key; GI imports it into a key block under the key-block LMK."""
    public_key, block = split_ej_block(native(ei, KB_HOST, f"1102401%{lmk_id:02d}#0000&E".encode()))
    mac = native(eo, KB_HOST, b"01" + public_key + b"%00")[2:6]
    field = oracle.to_lmk("001", "U", KEY16)
    exported = native(gk, KB_HOST, PKCS1 + f"06001{field}{oracle.kcv(KEY16)}".encode() + mac + public_key + b"%00")
    assert exported[:18] == b"00" + b"0" * 16
    encrypted = exported[22:]
    key, check_value = split_gj_block(native(gi, KB_HOST, block_request(PKCS1, encrypted, block, lmk_id, key_type="0600")))
    assert kb_oracle.open_block(LMK_KEYS[lmk_id], key)[1] == KEY16
    assert check_value == oracle.kcv(KEY16)


@pytest.mark.wasm
def test_gi_component_takes_the_key_block_forms_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "GI.wasm", gi, KB_HOST, KB_CASES)
