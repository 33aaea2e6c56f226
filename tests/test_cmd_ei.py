"""EI — Generate an RSA key pair.

Known answer: a real unit's EJ frame for RSA-2048 with encoding 01
(softwaregroup-bg/ut-codec-payshield test/config/test.js,
generateRsaKeyPairDecode set 0): the public key is 269 bytes,
`3082010902820100` + 256-byte modulus (top bit set, no leading zero) +
`0203010001`, followed by the private key length (4 N) and that many bytes.
hsmd's keys are random, so every answer is checked for that shape and read
back with an independent DER reader (tests/oracle.py) and with OpenSSL
(`cryptography`, strict DER for encoding 02); that the keys sign and unwrap
is checked in tests/test_cmd_ew.py, test_cmd_ey.py and test_cmd_gi.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.protocol import split_trailer
from hsmd.runtime import Runtime
from logic import ei
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange

KEYS_HOST = Host(LmkSet({0: TEST_LMK}), "0007-E000")  # makes the keys other modules' vectors use


def der_end(data: bytes) -> int:
    """Where the DER element at the start of `data` ends (its length octets say so)."""
    if data[1] < 0x80:
        return 2 + data[1]
    count = data[1] & 0x7F
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def split_ej(answer: bytes) -> tuple[bytes, bytes]:
    """EJ's public key and private key (the private key length field checked) from an answer `00…`."""
    assert answer[:2] == b"00", answer[:2]
    body = answer[2:]
    end = der_end(body)
    length = int(body[end : end + 4])
    private_key = body[end + 4 :]
    assert len(private_key) == length
    return body[:end], private_key


def generate(key_type: str, bits: int, encoding: str = "02") -> tuple[bytes, bytes]:
    """A key pair made by EI (public key DER, private key under the test LMK).

    One whose binary fields could read as a message trailer is made again: a request whose last
    0x19 is followed by printable bytes only ends in a trailer (hsmd.protocol), so a key that ends
    a request over TCP must not hold a 0x19 with only printable bytes after it.
    """
    while True:
        pair = split_ej(native(ei, KEYS_HOST, f"{key_type}{bits:04d}{encoding}".encode()))
        if all(split_trailer(part)[1] is None for part in pair):
            return pair


def numbers(answer: bytes) -> tuple[int, int]:
    """(modulus, exponent) of the public key in an EJ answer."""
    return oracle.rsa_public_numbers(split_ej(answer)[0])


CASES: list[tuple[bytes, bytes]] = [
    (b"2031901", b"04"),  # 319 bits
    (b"2409701", b"04"),  # 4097 bits
    (b"205X201", b"04"),  # key length not numeric
    (b"3051201", b"05"),  # key type indicator 3
    (b"2051203", b"03"),  # encoding 03
    (b"20512", b"03"),  # no encoding
    (b"", b"05"),
    (b"2051201" + b"0017" + bytes.fromhex("010000"), b"08"),  # 65536: even
    (b"2051201" + b"0000", b"06"),  # an exponent of no bits
    (b"2051201" + b"4097" + bytes(513), b"06"),  # longer than any modulus
    (b"2051201" + b"0002" + b"\x01", b"06"),  # exponent 1
    (b"2051201" + b"0004" + b"\x11", b"06"),  # 17 (5 bits) declared as 4 bits
    (b"2051201" + b"0017" + b"\x01", b"06"),  # 17 bits declared, one byte given
    (b"2032001" + b"0319" + b"\x40" + bytes(38) + b"\x01", b"06"),  # an exponent as long as the 320-bit modulus
    (b"2051201X", b"06"),  # trailing data reads as an exponent length
    (b"2051201%01", b"13"),  # LMK 01 not loaded
    (b"2051201%00#0000&N", b"A1"),  # key-block fields with a variant LMK
    (b"2051201%00X", b"15"),
]

# Answers that are random: compared by their shape (modulus bits, exponent, private key length).
GENERATED = [b"0032001", b"1051202", b"2102401" + b"0002" + b"\x03", b"2051201%00"]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ei_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(ei, host, request_) == answer


def test_a_2048_bit_public_key_in_encoding_01_has_the_shape_of_a_real_units(host: Host) -> None:
    public_key, private_key = split_ej(native(ei, host, b"2204801"))
    assert len(public_key) == 269
    assert public_key[:8] == bytes.fromhex("3082010902820100")
    assert public_key[8] & 0x80  # the top bit of the modulus is set and no leading zero precedes it
    assert public_key[-5:] == bytes.fromhex("0203010001")
    modulus, exponent = oracle.rsa_public_numbers(public_key)
    assert (modulus.bit_length(), exponent) == (2048, 65537)
    assert oracle.rsa_der(modulus, exponent, unsigned=True) == public_key
    assert len(private_key) > 5 * 128  # the CRT parts at least; hsmd's own format, not a unit's 656 bytes


@pytest.mark.parametrize("bits", [320, 321, 512, 1024])
def test_encoding_02_is_strict_der_as_openssl_reads_it(host: Host, bits: int) -> None:
    public_key, _ = split_ej(native(ei, host, f"0{bits:04d}02".encode()))
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert (loaded.key_size, loaded.public_numbers().e) == (bits, 65537)
    assert oracle.rsa_der(loaded.public_numbers().n, 65537, unsigned=False) == public_key


@pytest.mark.parametrize("bits", [512, 1024])
def test_encoding_01_writes_the_modulus_without_a_leading_zero(host: Host, bits: int) -> None:
    public_key, _ = split_ej(native(ei, host, f"1{bits:04d}01".encode()))
    modulus, exponent = oracle.rsa_public_numbers(public_key)
    assert modulus.bit_length() == bits
    assert public_key == oracle.rsa_der(modulus, exponent, unsigned=True)
    assert len(public_key) == len(oracle.rsa_der(modulus, exponent, unsigned=False)) - 1


@pytest.mark.parametrize(
    ("exponent_field", "bits", "exponent"),
    [
        (b"0002" + b"\x03", 512, 3),
        (b"0005" + b"\x11", 768, 17),
        (b"0017" + bytes.fromhex("010001"), 1024, 65537),
        (b"0024" + bytes.fromhex("010001"), 1024, 65537),  # declared by the byte: the value fits
        (b"0009" + bytes.fromhex("0101"), 1030, 257),
    ],
)
def test_the_public_exponent_is_binary_with_its_length_in_bits(host: Host, exponent_field: bytes, bits: int, exponent: int) -> None:
    answer = native(ei, host, f"2{bits:04d}02".encode() + exponent_field)
    assert numbers(answer)[1] == exponent
    assert numbers(answer)[0].bit_length() == bits


def test_every_key_pair_is_new(host: Host) -> None:
    first, second = (split_ej(native(ei, host, b"0051202")) for _ in range(2))
    assert first[0] != second[0] and first[1] != second[1]


def test_the_private_key_length_counts_bytes_as_4_digits(host: Host) -> None:
    answer = native(ei, host, b"2102401")
    public_key, private_key = split_ej(answer)
    assert numbers(answer)[0].bit_length() == 1024
    assert answer[2 + len(public_key) : 2 + len(public_key) + 4] == f"{len(private_key):04d}".encode()


def shape(answer: bytes) -> tuple[bytes, int, int, int]:
    """What two answers to the same EI request share: the code, modulus bits, exponent, private key length."""
    if answer[:2] != b"00":
        return answer, 0, 0, 0
    public_key, private_key = split_ej(answer)
    modulus, exponent = oracle.rsa_public_numbers(public_key)
    return answer[:2], modulus.bit_length(), exponent, len(private_key)


@pytest.mark.wasm
def test_ei_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EI.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(ei, host, request_), request_
    for request_ in GENERATED:
        assert shape(in_component(runtime, plugin, request_)) == shape(native(ei, host, request_)), request_


@pytest.mark.wasm
async def test_ei_over_tcp(built_plugins: Path) -> None:
    generated, refused = await exchange(built_plugins, b"EI2102402", b"EI3102402")
    assert generated[:2] == b"EJ"
    assert shape(generated[2:])[:3] == (b"00", 1024, 65537)
    assert refused == b"EJ05"


# --- key-block LMKs (kb_oracle.make_host: 01 the 3DES key-block test LMK, 02 the AES one) ---
# Request forms: mszeu/PayShieldPressureTest pressureTest.py sends `EI2<bits>01#0000` to a 10K with a
# key-block LMK; aws-samples/samples-for-payment-cryptography-service key-import-export/key_exchange/hsm/
# payshield/commands.py sends `EI0` `2048` `02#0000&N` and skips the EJ's private key length ("FFFF for
# key blocks") to take the rest as the private key. The block is a 10K's (usage 03, algorithm R, key data
# in binary: DER SEQUENCE { p, q, dp, dq, qinv }, as the unit's block in tests/kb_oracle.py): each is
# opened here with tests/kb_oracle.py, no hsmd code, and kept as text of one character per byte (latin-1).

KB_HOST = kb_oracle.make_host()
LMK_KEYS = {1: kb_oracle.K3, 2: kb_oracle.KA}


def split_ej_block(answer: bytes) -> tuple[bytes, str]:
    """EJ's public key and private key ("S" + block) from an answer `00…` under a key-block LMK."""
    assert answer[:2] == b"00", answer[:2]
    body = answer[2:]
    end = der_end(body)
    assert body[end : end + 4] == b"FFFF"
    return body[:end], body[end + 4 :].decode("latin-1")


def generate_block(key_type: str, bits: int, lmk_id: int = 1, encoding: str = "02") -> tuple[bytes, str]:
    """A key pair made by EI under a key-block test LMK (public key DER, "S" + block)."""
    return split_ej_block(native(ei, KB_HOST, f"{key_type}{bits:04d}{encoding}%{lmk_id:02d}#0000&N".encode()))


def opened_private_key(block: str, lmk_id: int) -> tuple[str, rsa.RSAPrivateKey]:
    """The header of a private key block and its key, read by kb_oracle and OpenSSL alone."""
    header, data = kb_oracle.open_binary_block(LMK_KEYS[lmk_id], block)
    return header, kb_oracle.unit_rsa_key(data)


KB_CASES: list[tuple[bytes, bytes]] = [
    (b"2051201%01", b"A1"),  # a key-block LMK needs the key-block fields
    (b"2051201%01#00", b"15"),  # the number of optional blocks missing
    (b"2051201%01#00X0", b"AB"),
    (b"2051201%01#!!00", b"A9"),  # key version number
    (b"2051201%01#0000&X", b"AA"),  # exportability
    (b"2051201%01#0000&", b"15"),
    (b"2051201%01#0001", b"15"),  # one optional block announced, none given
    (b"2051201%01#0001DA02", b"AC"),  # an optional block shorter than its own header
    (b"2051201%01#0000&NX", b"15"),
    (b"3051201%01#0000", b"05"),
    (b"2031901%02#0000", b"04"),
    (b"2051203%02#0000", b"03"),
    (b"2051201%03#0000", b"13"),
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_ei_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(ei, KB_HOST, request_) == answer


@pytest.mark.parametrize("lmk_id", [1, 2])
def test_under_a_key_block_lmk_the_private_key_is_ffff_and_a_key_block_the_oracle_opens(lmk_id: int) -> None:
    public_key, block = generate_block("2", 1024, lmk_id)
    header, key = opened_private_key(block, lmk_id)
    version = "0" if lmk_id == 1 else "1"
    assert header == f"{version}{len(block) - 1:04d}03RN00N00{lmk_id:02d}"  # usage 03, RSA, mode N, version 00, N, LMK id
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == key.public_key().public_numbers()
    assert loaded.key_size == 1024


@pytest.mark.parametrize(("key_type", "mode"), [("0", "S"), ("1", "D"), ("2", "N")])
def test_the_key_type_indicator_becomes_the_mode_of_use(key_type: str, mode: str) -> None:
    _, block = generate_block(key_type, 512)
    header, _ = opened_private_key(block, 1)
    assert header[5:9] == "03R" + mode


def test_pressure_tests_frame_on_the_default_key_block_lmk_gives_a_non_exportable_key() -> None:
    host = kb_oracle.make_host(default=2)
    public_key, block = split_ej_block(native(ei, host, b"2051201#0000"))
    header, key = opened_private_key(block, 2)
    assert header[5:16] == "03RN00N0002"
    assert oracle.rsa_public_numbers(public_key) == (key.public_key().public_numbers().n, 65537)
    assert oracle.rsa_der(*oracle.rsa_public_numbers(public_key), unsigned=True) == public_key  # encoding 01


def test_the_exportability_and_optional_blocks_of_the_request_go_into_the_header() -> None:
    answer = native(ei, KB_HOST, b"2051202%02#0201DA080000&S")
    _, block = split_ej_block(answer)
    header, _ = opened_private_key(block, 2)
    # key version 02, exportability S, the DA block and hsmd's PB padding to the AES block (16 + 8 + 8 = 32)
    assert header[5:16] == "03RN02S0202"
    assert header[16:24] == "DA080000" and header[24:26] == "PB"
    assert len(header) % 16 == 0


@pytest.mark.parametrize("lmk_id", [1, 2])
def test_a_4096_bit_key_fits_one_key_block(lmk_id: int) -> None:
    public_key, block = generate_block("0", 4096, lmk_id)
    assert len(block) - 1 <= 9999 and int(block[2:6]) == len(block) - 1
    _, key = opened_private_key(block, lmk_id)
    assert key.key_size == 4096
    assert oracle.rsa_public_numbers(public_key)[0] == key.public_key().public_numbers().n


@pytest.mark.wasm
def test_ei_component_takes_the_key_block_forms_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "EI.wasm", ei, KB_HOST, KB_CASES)


def test_the_private_key_block_has_a_real_units_form() -> None:
    """The unit's RSA-2048 block (tests/kb_oracle.py: S0068803RS00N0001, 664 bytes of binary key data,
    7648310C) and hsmd's for the same request have the same shape: length field counting bytes, key
    data a whole number of blocks, the DER's length within one block of it."""
    unit = kb_oracle.UNIT_RSA_BLOCK.decode("latin-1")
    _, ours = generate_block("0", 2048)
    for block in (unit, ours):
        # 659 bytes of DER at most (p and q 128 bytes each), padded to 8: 664 (656 when dp, dq and
        # qinv happen to be 3 bytes shorter in all).
        size = int(block[2:6])
        assert block[1:2] == "0" and size in (680, 688) and len(block) == size + 1 and block[6:17] == "03RS00N0001"
        _, data = kb_oracle.open_binary_block(kb_oracle.K3, block)
        assert len(data) == size - 24 and kb_oracle.unit_rsa_key(data).key_size == 2048
    assert unit[:6] == "S00688"
