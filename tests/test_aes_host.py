"""AES keys at work in the host: CMAC, data encryption, ISO 9564 format 4 PIN blocks, AES DUKPT.

AES keys exist only in key blocks (key-block LMKs, TR-31): each test generates one
under the public AES key-block test LMK, opens the stored block with the independent
key-block oracle (tests/kb_oracle.py) and checks the host's answer with the
independent oracle (tests/oracle.py: `cryptography`, psec, and X9.24-3 restated).
Sources: NIST SP 800-38B and RFC 4493 (CMAC examples), ISO 9564-1:2017 format 4
(psec), ANSI X9.24-3-2017 annex B and its published test vectors (AES DUKPT).
"""

from __future__ import annotations

import pytest

from hsmd.host import Host, HostError, RequestScope, dukpt, macs, pins
from tests import kb_oracle, oracle

AES_LMK = 2  # kb_oracle.make_host: 00 variant, 01 3DES key block, 02 AES key block
PAN = "4321987654321098765"


@pytest.fixture
def host() -> Host:
    return kb_oracle.make_host()


@pytest.fixture
def scope() -> RequestScope:
    return RequestScope("t")


def generated(host: Host, scope: RequestScope, header: str) -> tuple[int, bytes]:
    """A new AES key (handle) and its clear value, read back through the oracle from its block under the LMK."""
    handle = host.key_generate_block(scope, header, AES_LMK)
    return handle, kb_oracle.open_block(kb_oracle.KA, host.key_to_lmk(scope, handle, "S", AES_LMK))[1]


def code_of(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(HostError) as refused:
        call(*args)
    return refused.value.code


# --------------------------------------------------------------------------- CMAC

RFC4493_KEY = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
RFC4493_MESSAGE = bytes.fromhex(
    "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710"
)


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, "BB1D6929E95937287FA37D129B756746"),
        (16, "070A16B46B4D4144F79BDD9DD04A287C"),
        (40, "DFA66747DE9AE63030CA32611497C827"),
        (64, "51F0BEBF7E3B9D92FC49741779363CFE"),
    ],
)
def test_cmac_of_the_rfc4493_examples(length: int, expected: str) -> None:
    # RFC 4493 section 4 (the SP 800-38B AES-128 examples), whole and chained in 16-byte parts.
    message = RFC4493_MESSAGE[:length]
    assert macs.cmac(RFC4493_KEY, bytes(16), message, aes_key=True, final=True).hex().upper() == expected
    assert oracle.aes_cmac(RFC4493_KEY, message) == expected
    split = (length - 1) // 16 * 16 if length else 0
    state = macs.cmac(RFC4493_KEY, bytes(16), message[:split], aes_key=True, final=False)
    assert macs.cmac(RFC4493_KEY, state, message[split:], aes_key=True, final=True).hex().upper() == expected


def test_an_aes_mac_key_computes_cmac_under_its_block(host: Host, scope: RequestScope) -> None:
    key, clear = generated(host, scope, "M6A3C00E00")
    data = bytes(range(37))
    assert host.mac_compute(scope, key, macs.CMAC, 0, "0" * 32, data.hex(), True) == oracle.aes_cmac(clear, data)
    assert code_of(host.mac_compute, scope, key, 3, 1, "0" * 32, data.hex(), True) == "A7"  # the retail MAC is a DES algorithm
    assert code_of(host.mac_compute, scope, key, macs.CMAC, 0, "0" * 16, data.hex(), True) == "15"  # an AES IV is 16 bytes
    assert code_of(host.mac_compute, scope, key, macs.CMAC, 0, "0" * 32, data[:20].hex(), False) == "80"  # parts are whole blocks


@pytest.mark.parametrize(("padding", "pad"), [(1, b"\x00" * 11), (2, b"\x80" + b"\x00" * 10)])
def test_an_aes_mac_key_computes_cbc_mac_over_16_byte_blocks(host: Host, scope: RequestScope, padding: int, pad: bytes) -> None:
    # ISO 9797-1 algorithm 1 with AES, padding methods 1 and 2 to 16 bytes: the oracle is psec's AES-CBC.
    key, clear = generated(host, scope, "M6A1C00E00")  # AES MAC keys carry usage M5 or M6 (TR-31)
    data = bytes(range(37))
    expected = oracle.aes_crypt(clear, "CBC", bytes(16), data + pad, encrypt=True)[-16:].hex().upper()
    assert host.mac_compute(scope, key, 1, padding, "0" * 32, data.hex(), True) == expected


# --------------------------------------------------------------------------- data


@pytest.mark.parametrize("mode", ["ECB", "CBC"])
def test_an_aes_data_key_encrypts_and_decrypts_in_16_byte_blocks(host: Host, scope: RequestScope, mode: str) -> None:
    key, clear = generated(host, scope, "D0A1B00E00")
    iv, data = bytes(range(16)), bytes(range(64))
    encrypted = host.data_crypt(scope, key, True, mode, iv.hex(), data.hex())
    assert bytes.fromhex(encrypted) == oracle.aes_crypt(clear, mode, iv, data, encrypt=True)
    assert host.data_crypt(scope, key, False, mode, iv.hex(), encrypted) == data.hex().upper()
    assert code_of(host.data_crypt, scope, key, True, mode, iv.hex(), data[:24].hex()) == "80"
    assert code_of(host.data_crypt, scope, key, True, "CFB64", iv.hex(), data.hex()) == "15"  # AES has CFB8 and CFB128


# --------------------------------------------------------------------------- ISO 9564 format 4


def test_format_48_round_trips_with_psec_under_an_aes_zpk(host: Host, scope: RequestScope) -> None:
    zpk, clear = generated(host, scope, "P0A2B00E00")
    pin = host.pin_generate(scope, 6)
    block = host.pin_to_block(scope, zpk, pin, "48", PAN)
    assert len(block) == 32
    digits = oracle.iso4_decrypt(clear, block, PAN)
    again = host.pin_from_block(scope, zpk, oracle.iso4_encrypt(clear, digits, PAN), "48", PAN)
    assert host.pin_compare(scope, pin, again)
    assert code_of(host.pin_to_block, scope, zpk, pin, "01", "987654321098") == "23"  # an AES key writes format 48 only


def test_format_48_needs_an_aes_key() -> None:
    with pytest.raises(HostError) as refused:
        pins.encrypt_block(bytes(16), "48", "1234", PAN)
    assert refused.value.code == "23"


def test_the_commands_tests_hold_the_worked_example_as_published() -> None:
    from tests import kb_oracle

    assert kb_oracle.X9243_BLOCK == "A912150391AB65A67E52883D81CE2D15" and kb_oracle.X9243_PAN == "4111111111111111"
    pin = oracle.iso4_decrypt(kb_oracle.X9243_PIN_KEY, kb_oracle.X9243_BLOCK, kb_oracle.X9243_PAN)
    assert pin == kb_oracle.X9243_PIN == "1234"
    assert kb_oracle.open_block(kb_oracle.KA, kb_oracle.X9243_PIN_KEY_BLOCK) == ("10096P0AB00N0002", kb_oracle.X9243_PIN_KEY)


@pytest.mark.parametrize(
    ("key", "block"),
    [
        ("AF8CB133A78F8DC2D1359F18527593FB", "A912150391AB65A67E52883D81CE2D15"),
        ("D30BDC73EC9714B000BEC66BDB7B6D09", "52A00503BD34BA1383F6A7EE9FE2547F"),
    ],
)
def test_format_48_decodes_the_x9_24_3_worked_example(key: str, block: str) -> None:
    # X9.24-3-2017 supplement, format 4 worked example: PIN 1234, PAN 4111111111111111, random fill
    # 2F69ADDE2E9E7ACE, under the PIN keys of transactions 1 and 2 (the AES DUKPT vectors below); re-derived by psec.
    clear, pan = bytes.fromhex(key), "4111111111111111"
    assert pins.decrypt_block(clear, "48", block, pan, aes_key=True) == "1234" == oracle.iso4_decrypt(clear, block, pan)
    # Bound to the whole PAN: the check digit or the first digit changed, the block no longer reads (20).
    for other in ("4111111111111112", "5111111111111111"):
        with pytest.raises(HostError) as refused:
            pins.decrypt_block(clear, "48", block, other, aes_key=True)
        assert refused.value.code == "20"


# --------------------------------------------------------------------------- AES DUKPT

X9243_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
X9243_IKID = "1234567890123456"


def test_aes_dukpt_initial_keys_of_x9_24_3_annex_b() -> None:
    # X9.24-3-2017 annex B / the X9 published test vectors: AES-128 and AES-256 BDKs, IKID 1234567890123456.
    assert dukpt.aes_initial_key(X9243_BDK, bytes.fromhex(X9243_IKID)).hex().upper() == "1273671EA26AC29AFA4D1084127652A1"
    bdk256 = X9243_BDK * 2
    assert (
        dukpt.aes_initial_key(bdk256, bytes.fromhex(X9243_IKID)).hex().upper()
        == "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
    )


@pytest.mark.parametrize(
    ("counter", "usage", "expected"),
    [
        (1, "pin", "AF8CB133A78F8DC2D1359F18527593FB"),
        (1, "mac-request", "A2DC23DE6FDE0824A2BC321E08E4B8B7"),
        (1, "data-request", "A35C412EFD41FDB98B69797C02DCD08F"),
        (2, "pin", "D30BDC73EC9714B000BEC66BDB7B6D09"),
    ],
)
def test_aes_dukpt_working_keys_of_the_x9_24_3_test_vectors(counter: int, usage: str, expected: str) -> None:
    # X9.24-3-2017 published test vectors (AES-128 BDK, AES-128 working keys), re-derived by the oracle.
    ksn = f"{X9243_IKID}{counter:08X}"
    assert dukpt.aes_key(X9243_BDK, ksn, usage).hex().upper() == expected
    assert oracle.aes_dukpt_key(X9243_BDK, ksn, usage).hex().upper() == expected


@pytest.mark.parametrize("ksn", ["1234567890123456FFFF8000", "12345678901234560000FFFF00", "12345678901234560000000G"])
def test_aes_dukpt_refuses_a_malformed_ksn(ksn: str) -> None:
    # More than 16 one bits in the counter, wrong length, not hex: 15.
    with pytest.raises(HostError) as refused:
        dukpt.aes_key(X9243_BDK, ksn, "pin")
    assert refused.value.code == "15"


def test_an_aes_bdk_gives_aes_working_keys_that_read_format_48(host: Host, scope: RequestScope) -> None:
    bdk, clear = generated(host, scope, "B0A1X00N00")
    ksn = X9243_IKID + "0000002A"
    pin_key = host.dukpt_key(scope, bdk, ksn, "pin")
    block = oracle.iso4_encrypt(oracle.aes_dukpt_key(clear, ksn, "pin"), "246813", PAN)
    pin = host.pin_from_block(scope, pin_key, block, "48", PAN)
    assert host.pin_length(scope, pin) == 6
    mac_key = host.dukpt_key(scope, bdk, ksn, "mac-request")
    assert host.mac_compute(scope, mac_key, macs.CMAC, 0, "0" * 32, "00112233", True) == oracle.aes_cmac(
        oracle.aes_dukpt_key(clear, ksn, "mac-request"), bytes.fromhex("00112233")
    )
    assert code_of(host.dukpt_key, scope, bdk, "FFFF9876543210E00001", "pin") == "15"  # a TDES KSN
    assert code_of(host.key_to_lmk, scope, pin_key, "S", AES_LMK) == "29"  # a derived key never leaves
