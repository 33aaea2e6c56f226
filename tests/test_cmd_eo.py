"""EO — Import a public key: generate a MAC on it under the LMK.

Known answers, under the public test LMK:
- payShield host command reference, "Verify a MAC on a Public Key" (EQ)
  example: MAC 9C350891 on the 512-bit public key 30470240AE21…0203010001
  (encoding 01: the modulus' top bit is set, no leading zero) with
  authentication data 41555448454E2D44415441 ("AUTHEN-DATA"). EO gives that
  key that MAC.
- "Translate a Public Key MAC" (EU) example: MAC 530548CE on the same key
  without authentication data.
- Under key-block LMKs (the form below the variant cases): blocks opened by
  tests/kb_oracle.py, which reads Thales key blocks with `cryptography` alone.
- softwaregroup-bg/ut-codec-payshield test/config/test.js,
  generateRsaKeyPairDecode set 0: a real unit's RSA-2048 public key in
  encoding 01 (269 bytes), imported as it came.
Every MAC is re-derived with tests/oracle.py (psec's ISO 9797-1 MAC algorithm 3
under LMK pair 36-37); strict-DER keys are written by the oracle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import eo
from tests import kb_oracle, oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange

EQ_PUBLIC_KEY = bytes.fromhex(
    "30470240AE213EBDFE272616058114CA5D6E8DDD2F976EF0C6D6F6ADE0204E916CE0B5C704A1A9F1F631F578D7B87D1981951BB99A572400AC43BB3AF8C2A4068A0052250203010001"
)
AUTH_DATA = bytes.fromhex("41555448454E2D44415441")  # "AUTHEN-DATA"
EJ_PUBLIC_KEY = bytes.fromhex(
    "3082010902820100C5ADCDF53DA40D6FFA2EC2AD4854A0CDCD7AEDE1419727A62D1E2EF673FC2C669DC56BB9EFDBBD824158E781C7CB6D4690F94D9391E105C6"
    "031B4C93B61C8DD659D62DA43C36C34A94E22CE1FA4F0802D7C3F2FCC43E743A777BCE8F6DFFDF9545D016632D1F957731F0280CF47393923A9D9E3E296C1F05"
    "A50B417133DF175303B50D7A01577305CFFF22D25E8336B0A13FDF91D51A2242360F171425D3F6C0E5CAC15D4846F6A3578A9BD1203E7818F5954CC0450CC97B"
    "369243067A10CBFA7B2B70F67929DD6B89A09E9ED8D54E03B5ABA8F3424DAA9ABC22E137CEA5ED3294EE24BFB4BE43122FDBCAABFB79ECCA7A5233676F47A26C"
    "CB96B0A8775201CD0203010001"
)
EQ_STRICT = oracle.rsa_der(*oracle.rsa_public_numbers(EQ_PUBLIC_KEY), unsigned=False)  # with the leading 00
EJ_STRICT = oracle.rsa_der(*oracle.rsa_public_numbers(EJ_PUBLIC_KEY), unsigned=False)
EQ_MAC = bytes.fromhex("9C350891")
EU_MAC = bytes.fromhex("530548CE")

CASES: list[tuple[bytes, bytes]] = [
    (b"01" + EQ_PUBLIC_KEY + AUTH_DATA, b"00" + EQ_MAC + EQ_PUBLIC_KEY),  # the manual's EQ example
    (b"01" + EQ_PUBLIC_KEY, b"00" + EU_MAC + EQ_PUBLIC_KEY),  # the manual's EU example
    (b"01" + EQ_PUBLIC_KEY + AUTH_DATA + b"%00", b"00" + EQ_MAC + EQ_PUBLIC_KEY),
    (b"02" + EQ_STRICT, b"00" + bytes.fromhex(oracle.public_key_mac(EQ_STRICT)) + EQ_STRICT),
    (b"01" + EJ_PUBLIC_KEY, b"00" + bytes.fromhex(oracle.public_key_mac(EJ_PUBLIC_KEY)) + EJ_PUBLIC_KEY),  # a real unit's key
    (b"02" + EJ_STRICT + b"BANK-7", b"00" + bytes.fromhex(oracle.public_key_mac(EJ_STRICT, b"BANK-7")) + EJ_STRICT),
    (b"02" + EQ_PUBLIC_KEY, b"04"),  # unsigned INTEGER where two's complement is announced
    (b"01" + EQ_STRICT, b"00" + bytes.fromhex(oracle.public_key_mac(EQ_STRICT)) + EQ_STRICT),  # 01 takes a leading zero
    (b"03" + EQ_PUBLIC_KEY, b"03"),
    (b"0", b"03"),
    (b"01", b"04"),  # no public key
    (b"01" + EQ_PUBLIC_KEY[:-1], b"04"),  # cut short
    (b"01" + b"\x31" + EQ_PUBLIC_KEY[1:], b"04"),  # a SET, not a SEQUENCE
    (b"01" + bytes.fromhex("3080") + EQ_PUBLIC_KEY[2:], b"04"),  # indefinite length
    (b"01" + EQ_PUBLIC_KEY[:-5] + bytes.fromhex("0203010000"), b"04"),  # even exponent
    (b"01" + bytes.fromhex("300E020900C5ADCDF53DA40D2B020103"), b"76"),  # a 64-bit modulus
    (b"01" + EQ_PUBLIC_KEY + b"AUTH;DATA", b"15"),  # authentication data must not hold ';'
    (b"01" + EQ_PUBLIC_KEY + b"%01", b"13"),  # LMK 01 not loaded
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.public_key_mac(EQ_PUBLIC_KEY, AUTH_DATA) == "9C350891"
    assert oracle.public_key_mac(EQ_PUBLIC_KEY) == "530548CE"
    modulus, exponent = oracle.rsa_public_numbers(EQ_PUBLIC_KEY)
    assert (modulus.bit_length(), exponent, len(EQ_STRICT)) == (512, 65537, len(EQ_PUBLIC_KEY) + 1)


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_eo_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(eo, host, request_) == answer


def test_the_mac_binds_the_authentication_data(host: Host) -> None:
    assert native(eo, host, b"01" + EQ_PUBLIC_KEY + b"AUTHEN-DATB")[2:6] != EQ_MAC


@pytest.mark.wasm
def test_eo_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "EO.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(eo, host, request_), request_


@pytest.mark.wasm
async def test_eo_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, b"EO01" + EQ_PUBLIC_KEY + AUTH_DATA, b"EO03" + EQ_PUBLIC_KEY) == [
        b"EP00" + EQ_MAC + EQ_PUBLIC_KEY,
        b"EP03",
    ]


# --- under a key-block LMK: the public key comes back as a key block ---
# The form is kambizh/payshield-crypto-client's EOCommand (commit 89bc909) and metalcorpe/payshield-rest-gopher's
# engine/command.go (commit 9fc713f): "~", [%nn], "#" mode, key version, exportability, optional block count.
# Each block is opened by tests/kb_oracle.py (cryptography only): header and key data checked there.

KB_HOST = kb_oracle.make_host()  # LMK 00 variant, 01 3DES key-block, 02 AES key-block
LMK_KEYS = {1: kb_oracle.K3, 2: kb_oracle.KA}


def eo_block(lmk_id: int, fields: str = "V00N00", key: bytes = EQ_PUBLIC_KEY, auth_data: bytes = b"", encoding: str = "01") -> str:
    """EO's answer in the key-block form: "S" + the block."""
    answer = native(eo, KB_HOST, encoding.encode() + key + auth_data + f"~%{lmk_id:02d}#{fields}".encode())
    assert answer[:2] == b"00", answer
    return answer[2:].decode("ascii")


@pytest.mark.parametrize("lmk_id", [1, 2])
@pytest.mark.parametrize(("fields", "header"), [("V00N00", "02RV00N00"), ("E03S00", "02RE03S00"), ("N00E00", "02RN00E00")])
def test_under_a_key_block_lmk_eo_answers_a_block_of_usage_02_over_the_key_and_its_authentication_data(
    lmk_id: int, fields: str, header: str
) -> None:
    block = eo_block(lmk_id, fields, auth_data=AUTH_DATA)
    opened_header, data = kb_oracle.open_block(LMK_KEYS[lmk_id], block)
    assert opened_header[0] == ("0" if lmk_id == 1 else "1")  # the block version of the LMK's kind
    assert opened_header[5:] == f"{header}{lmk_id:02d}"
    assert data == EQ_PUBLIC_KEY + AUTH_DATA


def test_the_key_block_form_takes_the_default_lmk_and_optional_blocks() -> None:
    host = kb_oracle.make_host(default=1)
    answer = native(eo, host, b"02" + EQ_STRICT + b"~#V00N01KS1800604B120F9292800000")
    header, data = kb_oracle.open_block(kb_oracle.K3, answer[2:].decode())
    assert (answer[:2], header[5:], data) == (b"00", "02RV00N0101KS1800604B120F9292800000", EQ_STRICT)


KB_CASES: list[tuple[bytes, bytes]] = [
    (b"01" + EQ_PUBLIC_KEY + b"~%01#S00N00", b"A8"),  # S (sign) is no mode of a public key
    (b"01" + EQ_PUBLIC_KEY + b"~%01#D00N00", b"A8"),
    (b"01" + EQ_PUBLIC_KEY + b"~%01#V00Q00", b"AA"),  # no such exportability
    (b"01" + EQ_PUBLIC_KEY + b"~%01#V0", b"15"),  # the fields cut short
    (b"01" + EQ_PUBLIC_KEY + b"~%01V00N00", b"15"),  # no "#"
    (b"01" + EQ_PUBLIC_KEY + b"~%00#V00N00", b"A1"),  # the key-block form for a variant LMK
    (b"01" + EQ_PUBLIC_KEY + b"%01", b"A1"),  # the variant form for a key-block LMK
    (b"01" + EQ_PUBLIC_KEY + b"AUTH;DATA~%01#V00N00", b"15"),  # ';' in the authentication data
    (b"02" + EQ_PUBLIC_KEY + b"~%01#V00N00", b"04"),  # unsigned INTEGER where two's complement is announced
    (b"03" + EQ_PUBLIC_KEY + b"~%01#V00N00", b"03"),
    (b"01" + EQ_PUBLIC_KEY + b"~%03#V00N00", b"13"),
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_eo_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(eo, KB_HOST, request_) == answer


@pytest.mark.wasm
def test_eo_component_takes_the_key_block_form_as_the_logic_does(built_plugins: Path) -> None:
    cases = [(b"01" + EQ_PUBLIC_KEY + b"~%01#V00N00", b"00"), (b"01" + EQ_PUBLIC_KEY + b"~%02#E00S00", b"00"), *KB_CASES]
    component_matches_logic(built_plugins / "EO.wasm", eo, KB_HOST, cases)
