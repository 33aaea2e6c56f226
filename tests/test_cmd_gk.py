"""GK — Export a DES key under an RSA public key.

The other party is a key pair `cryptography` makes; its public key carries
the MAC EO gives it (re-derived with tests/oracle.py), and the keys under the
test LMK and their check values are written with the oracle (psec). The
encrypted keys are random (PKCS#1 v1.5 and OAEP both pad with random bytes),
so each answer is checked by decrypting it with the other party's private key
(`cryptography`, PKCS#1 v1.5 and OAEP with SHA-1 and the label): it must give
the clear key back. Key type 1400 for a TMK is the one an HPS PowerCARD
client sends (hps_gen_key.c `ExportKeyUnderRSA`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import gk
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, key_block, native
from tests.tcp import exchange
from tests.test_cmd_ei import KB_HOST, generate
from tests.test_cmd_eo import eo_block

OUTSIDE = rsa.generate_private_key(65537, 1024)  # the party the key is exported to
OUTSIDE_KEY = OUTSIDE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
AUTH_DATA = b"BANK-7"
MAC = bytes.fromhex(oracle.public_key_mac(OUTSIDE_KEY, AUTH_DATA))
SMALL_KEY = generate("1", 320)[0]  # too short for OAEP and a double-length key
SMALL_MAC = bytes.fromhex(oracle.public_key_mac(SMALL_KEY))

KEY16 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KEY8 = KEY16[:8]
KEY24 = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")
EVEN = bytes.fromhex("0123456789ABCDEEFEDCBA9876543210")  # EE: even parity
LABEL = b"GK-LABEL"

PKCS1 = b"0101"
OAEP = b"0102" + b"0101" + f"{len(LABEL):02d}".encode() + LABEL + b";"
OAEP_NO_LABEL = b"0102" + b"0101" + b"00" + b";"


def request(
    transport: bytes,
    key_type: str,
    flag: str,
    key_field: str,
    check_value: str,
    *,
    mac: bytes = MAC,
    public_key: bytes = OUTSIDE_KEY,
    auth_data: bytes = AUTH_DATA,
) -> bytes:
    return transport + f"{key_type}{flag}{key_field}{check_value}".encode() + mac + public_key + auth_data


def zpk(scheme: str, clear: bytes) -> str:
    return oracle.to_lmk("001", scheme, clear)


EXPORTS: list[tuple[bytes, padding.AsymmetricPadding, bytes]] = [
    (request(PKCS1, "0600", "1", zpk("U", KEY16), oracle.kcv(KEY16)), padding.PKCS1v15(), KEY16),
    (request(PKCS1, "0600", "0", zpk("Z", KEY8), oracle.kcv(KEY8)), padding.PKCS1v15(), KEY8),
    (request(PKCS1, "0600", "1", zpk("X", KEY16)[1:], oracle.kcv(KEY16)), padding.PKCS1v15(), KEY16),  # bare 32 H
    (request(PKCS1, "0600", "2", zpk("T", KEY24), oracle.kcv(KEY24)), padding.PKCS1v15(), KEY24),
    (request(PKCS1, "1400", "1", oracle.to_lmk("002", "U", KEY16), oracle.kcv(KEY16)), padding.PKCS1v15(), KEY16),  # TMK
    (request(PKCS1, "1404", "1", oracle.to_lmk("402", "U", KEY16), oracle.kcv(KEY16)), padding.PKCS1v15(), KEY16),  # CVK
    (request(PKCS1, "0400", "1", oracle.to_lmk("000", "U", KEY16), oracle.kcv(KEY16)), padding.PKCS1v15(), KEY16),  # ZMK
    (request(PKCS1, "3000", "1", oracle.to_lmk("00A", "U", KEY16), oracle.kcv(KEY16)) + b"%00", padding.PKCS1v15(), KEY16),  # ZEK
    (
        request(OAEP, "0600", "1", zpk("U", KEY16), oracle.kcv(KEY16)),
        padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), LABEL),
        KEY16,
    ),
    (
        request(OAEP_NO_LABEL, "0600", "2", zpk("T", KEY24), oracle.kcv(KEY24)),
        padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
        KEY24,
    ),
]

ZPK = zpk("U", KEY16)
KCV = oracle.kcv(KEY16)
CASES: list[tuple[bytes, bytes]] = [
    (request(PKCS1, "0600", "1", ZPK, oracle.kcv(KEY8)), b"01"),  # not the key's check value
    (request(PKCS1, "0600", "1", ZPK, KCV, mac=MAC[::-1]), b"01"),  # MAC on the public key
    (request(PKCS1, "0600", "1", ZPK, KCV, auth_data=b"BANK-8"), b"01"),  # other authentication data
    (request(PKCS1, "0600", "1", zpk("U", EVEN), oracle.kcv(EVEN)), b"10"),  # parity under the LMK
    (request(PKCS1, "0700", "1", ZPK, KCV), b"04"),  # LMK 07-08: no such pair
    (request(PKCS1, "1000", "1", ZPK, KCV), b"04"),  # LMK 10-11: no key type code
    (request(PKCS1, "0610", "1", ZPK, KCV), b"04"),  # variant 10
    (request(PKCS1, "3401", "1", ZPK, KCV), b"04"),  # HMAC keys: not supported
    (request(PKCS1, "06A0", "1", ZPK, KCV), b"04"),
    (request(PKCS1, "0600", "3", ZPK, KCV), b"05"),  # DES key flag
    (request(PKCS1, "0600", "0", ZPK, KCV), b"15"),  # a U key announced single length
    (request(PKCS1, "0600", "2", ZPK, KCV), b"15"),  # and triple length
    (request(PKCS1, "0600", "1", ZPK, KCV[:-1] + "G"), b"15"),  # check value not hex
    (request(b"0103", "0600", "1", ZPK, KCV), b"07"),  # pad mode
    (request(b"0201", "0600", "1", ZPK, KCV), b"15"),  # encryption identifier
    (request(b"0102" + b"0201" + b"00;", "0600", "1", ZPK, KCV), b"85"),  # MGF
    (request(b"0102" + b"0106" + b"00;", "0600", "1", ZPK, KCV), b"86"),  # MGF hash
    (request(b"0102" + b"0A01" + b"00;", "0600", "1", ZPK, KCV), b"85"),  # MGF not even digits: still the MGF's code
    (request(b"0102" + b"01A1" + b"00;", "0600", "1", ZPK, KCV), b"86"),
    (request(b"0102" + b"0101" + b"08" + LABEL, "0600", "1", ZPK, KCV), b"15"),  # no ';' after the parameters
    (request(OAEP, "0600", "1", ZPK, KCV, mac=SMALL_MAC, public_key=SMALL_KEY, auth_data=b""), b"76"),  # 16 + 42 > 40 bytes
    (request(PKCS1, "0600", "1", ZPK, KCV, public_key=bytes.fromhex("300E020900C5ADCDF53DA40D2B020103")), b"76"),
    (request(PKCS1, "0600", "1", ZPK, KCV, public_key=OUTSIDE_KEY[:-1], auth_data=b""), b"04"),
    (request(PKCS1, "0600", "1", ZPK, KCV) + b"%01", b"13"),
]


def exported(answer: bytes, scheme: padding.AsymmetricPadding) -> bytes:
    """The clear key a GL answer carries, decrypted by the other party."""
    assert answer[:18] == b"00" + b"0" * 16, answer[:18]
    length = int(answer[18:22])
    assert length == len(answer) - 22 == 128
    return OUTSIDE.decrypt(answer[22:], scheme)


@pytest.mark.parametrize(("request_", "scheme", "clear"), EXPORTS)
def test_gk_exports_what_the_other_party_decrypts(host: Host, request_: bytes, scheme: padding.AsymmetricPadding, clear: bytes) -> None:
    assert exported(native(gk, host, request_), scheme) == clear


def test_each_export_is_padded_afresh(host: Host) -> None:
    request_ = EXPORTS[0][0]
    assert native(gk, host, request_) != native(gk, host, request_)


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_gk_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(gk, host, request_) == answer


@pytest.mark.wasm
def test_gk_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GK.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(gk, host, request_), request_
    for request_, scheme, clear in EXPORTS:
        assert exported(in_component(runtime, plugin, request_), scheme) == clear, request_


@pytest.mark.wasm
async def test_gk_over_tcp(built_plugins: Path) -> None:
    request_, scheme, clear = EXPORTS[0]
    answered, refused = await exchange(built_plugins, b"GK" + request_, b"GK" + CASES[0][0])
    assert answered[:2] == b"GL"
    assert exported(answered[2:], scheme) == clear
    assert refused == b"GL01"


# --- under a key-block LMK: key type FFFF, the key and the public key as key blocks ---
# The request form is metalcorpe/payshield-rest-gopher's engine/command.go (commit 9fc713f); the public key block is
# EO's (tests/test_cmd_eo.py). Keys come from A0's key-block form and are opened by tests/kb_oracle.py; each export is
# decrypted by the other party's private key (`cryptography`).

ZPK_S, ZPK_S_CLEAR = key_block(KB_HOST, "01", "P0T2B00S00")  # exportable by anyone: S
ZPK_AES_LMK, ZPK_AES_LMK_CLEAR = key_block(KB_HOST, "02", "P0T2B00S00")
ZPK_N, ZPK_N_CLEAR = key_block(KB_HOST, "01", "P0T2B00N00")  # never leaves
ZPK_E, ZPK_E_CLEAR = key_block(KB_HOST, "01", "P0T2B00E00")  # only under a trusted key
PUBLIC_BLOCKS = {lmk_id: eo_block(lmk_id, "E00N00", OUTSIDE_KEY) for lmk_id in (1, 2)}


def kb_request(transport: bytes, key: str, check_value: str, public_block: str, lmk_id: int = 1, flag: str = "1") -> bytes:
    return transport + f"FFFF{flag}{key}{check_value}{public_block}%{lmk_id:02d}".encode()


@pytest.mark.parametrize(
    ("request_", "scheme", "clear"),
    [
        (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), PUBLIC_BLOCKS[1]), padding.PKCS1v15(), ZPK_S_CLEAR),
        (
            kb_request(OAEP, ZPK_AES_LMK, oracle.kcv(ZPK_AES_LMK_CLEAR), PUBLIC_BLOCKS[2], 2),
            padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), LABEL),
            ZPK_AES_LMK_CLEAR,
        ),
    ],
)
def test_gk_exports_a_key_block_key_under_a_public_key_block(request_: bytes, scheme: padding.AsymmetricPadding, clear: bytes) -> None:
    assert exported(native(gk, KB_HOST, request_), scheme) == clear


KB_CASES: list[tuple[bytes, bytes]] = [
    (kb_request(PKCS1, ZPK_N, oracle.kcv(ZPK_N_CLEAR), PUBLIC_BLOCKS[1]), b"AA"),  # exportability N
    (kb_request(PKCS1, ZPK_E, oracle.kcv(ZPK_E_CLEAR), PUBLIC_BLOCKS[1]), b"AA"),  # E: a public key is no trusted key
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), eo_block(1, "V00N00", OUTSIDE_KEY)), b"A8"),  # V: for EY
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_N_CLEAR), PUBLIC_BLOCKS[1]), b"01"),  # another key's check value
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), kb_oracle.ZPK_1), b"A6"),  # a ZPK where the public key goes
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), "0000"), b"15"),  # no public key block
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), PUBLIC_BLOCKS[1], flag="3"), b"05"),
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), PUBLIC_BLOCKS[1])[:-3], b"A1"),  # the default LMK 00 is a variant LMK
    (kb_request(PKCS1, ZPK_S, oracle.kcv(ZPK_S_CLEAR), PUBLIC_BLOCKS[1] + ";01"), b"15"),  # a key data block type
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_gk_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(gk, KB_HOST, request_) == answer


@pytest.mark.wasm
def test_gk_component_takes_the_key_block_form_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "GK.wasm", gk, KB_HOST, KB_CASES)
