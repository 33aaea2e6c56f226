"""CA — Translate a PIN from TPK to ZPK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslatePINFromTPKToZMK`), keys
under the public test LMK; extra 6-digit and error vectors computed for hsmd
under the same keys. Every vector is re-derived independently below with
tests/oracle.py (psec), and every PIN block format (01 02 03 04 05 34 35 47)
is translated both ways and decoded by the oracle (payShield host command
reference, "PIN block formats").
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ca
from tests import oracle
from tests.commands import in_component, key_block, native, pci_host
from tests.tcp import exchange

TPK_Z = "0406FBB23A5214DF"  # clear 0B681FC20E62C734
ZPK_Z = "BAB32D775A38E4AB"  # clear 13F10E5D868A529E
TPK_U = "U8463435FC4B4DAA0C49025272C29B12C"  # clear D3DCC7EA9BCB755D254620B376B3D007
ZPK_U = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # clear C7152C20BC2C830EA7EC9E8334ABE3FE
ZPK_T = "TA5E7D4FE829B0D83C5E7352636C16C7827E197349E34A5CD"
ACCOUNT = "550000025321"
TPK = "002"
ZPK = "001"
FORMATS = ("01", "02", "03", "04", "05", "34", "35", "47")
PAN = "4000001234567899"  # 16 digits: 01 binds 000123456789, 04 (PLUS) binds 400000123456
PLUS_FIELD = PAN.rjust(18, "F")

CASES = [
    # ThalesSim TestTranslatePINFromTPKToZMK, PIN 1234.
    (f"{TPK_Z}{ZPK_Z}12DC80B186C30902B00303{ACCOUNT}", b"0004F7808F2CBEC6316803"),
    (f"{TPK_Z}{ZPK_Z}12DC80B186C30902B00301{ACCOUNT}", b"0004E98FFDA17099AF5501"),
    (f"{TPK_Z}{ZPK_Z}12AE7A708F877571A90101{ACCOUNT}", b"0004E98FFDA17099AF5501"),
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}", b"000491DDDA0A7C12CFAA01"),
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0103{ACCOUNT}", b"000482206CCD872229C203"),
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0103{ACCOUNT}%00", b"000482206CCD872229C203"),
    # hsmd's 6-digit vector: PIN 123456, account 400000123456.
    (f"{TPK_U}{ZPK_U}12360D039E4CCF45D00101400000123456", b"00061A971BFEAEDD701701"),
    # Errors.
    (f"{TPK_U}{ZPK_U}124B5BD91211D16D780101{ACCOUNT}", b"24"),  # length nibble 3
    (f"{TPK_U}{ZPK_U}128F704D5DFE96C0CB0101{ACCOUNT}", b"24"),  # length nibble 13
    (f"{TPK_U}{ZPK_U}12BA0EAC47D1938B3F0101{ACCOUNT}", b"20"),  # last fill nibble not F
    (f"{TPK_U}{ZPK_U}124B53D577746704810101{ACCOUNT}", b"20"),  # control nibble 1
    (f"{ZPK_Z}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}", b"10"),  # a ZPK as the TPK: parity fails under 14-15
    (f"{TPK_U}{TPK_Z}126428EB94035AF53B0101{ACCOUNT}", b"11"),  # a TPK as the ZPK: parity fails under 06-07
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B9901{ACCOUNT}", b"23"),  # source format 99
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0199{ACCOUNT}", b"23"),  # destination format 99
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0141{ACCOUNT}", b"23"),  # 41: Visa PIN change, KU only
    (f"{TPK_U}{ZPK_U}116428EB94035AF53B0101{ACCOUNT}", b"15"),  # maximum PIN length not 12
    (f"{TPK_U}{ZPK_U}126428EB94035AF53G0101{ACCOUNT}", b"15"),  # PIN block not hex
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0A01{ACCOUNT}", b"15"),  # format not numeric
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT[:-1]}", b"15"),  # account short
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}0", b"15"),  # a byte after the last field
    (f"{TPK_U}{ZPK_U}126428EB94035AF53B0104{ACCOUNT}", b"15"),  # format 04 needs an 18-character account
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    cases = [
        # (TPK, ZPK, source block, source format, destination format, destination block, account, PIN)
        (TPK_Z, ZPK_Z, "DC80B186C30902B0", "03", "03", "F7808F2CBEC63168", ACCOUNT, "1234"),
        (TPK_Z, ZPK_Z, "AE7A708F877571A9", "01", "01", "E98FFDA17099AF55", ACCOUNT, "1234"),
        (TPK_U, ZPK_U, "6428EB94035AF53B", "01", "01", "91DDDA0A7C12CFAA", ACCOUNT, "1234"),
        (TPK_U, ZPK_U, "6428EB94035AF53B", "01", "03", "82206CCD872229C2", ACCOUNT, "1234"),
        (TPK_U, ZPK_U, "360D039E4CCF45D0", "01", "01", "1A971BFEAEDD7017", "400000123456", "123456"),
    ]
    for tpk, zpk, source, source_format, destination_format, destination, account, pin in cases:
        assert oracle.pinblock_decode(source_format, oracle.pinblock_decrypt(TPK, tpk, source), account) == pin
        clear = oracle.pinblock_encode(destination_format, pin, account)
        assert oracle.pinblock_encrypt(ZPK, zpk, clear) == destination
    # The error vectors' clear blocks.
    assert oracle.pinblock_decrypt(TPK, TPK_U, "4B5BD91211D16D78") == "03126AFFFFFDACDE"
    assert oracle.pinblock_decrypt(TPK, TPK_U, "8F704D5DFE96C0CB") == "0D1261567892411E"
    assert oracle.pinblock_decrypt(TPK, TPK_U, "BA0EAC47D1938B3F") == "041261FFFFFDACDF"
    assert oracle.pinblock_decrypt(TPK, TPK_U, "4B53D57774670481") == "141261FFFFFDACDE"
    assert not oracle.odd_parity(oracle.from_lmk(TPK, ZPK_Z))
    assert not oracle.odd_parity(oracle.from_lmk(ZPK, TPK_Z))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ca_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(ca, host, request_.encode()) == answer


def _account_field(*formats: str) -> str:
    return PLUS_FIELD if "04" in formats else PAN[-13:-1]


def _bound(fmt: str) -> str:
    return PAN[:12] if fmt == "04" else PAN[-13:-1]


# PINs of 4, 6 and 12 digits in every format pair (a Docutel block cannot carry 12 digits in).
ROUND_TRIPS = [
    (source, destination, pin)
    for source, destination in itertools.product(FORMATS, FORMATS)
    for pin in ("4729", "372015", "904718263551")
    if not (source == "02" and len(pin) > 6)
]


@pytest.mark.parametrize(("source_format", "destination_format", "pin"), ROUND_TRIPS)
def test_every_format_translates_to_every_format(host: Host, source_format: str, destination_format: str, pin: str) -> None:
    clear = oracle.pinblock_encode(source_format, pin, _bound(source_format))
    source = oracle.pinblock_encrypt(TPK, TPK_U, clear)
    account = _account_field(source_format, destination_format)
    answer = native(ca, host, f"{TPK_U}{ZPK_T}12{source}{source_format}{destination_format}{account}".encode()).decode()
    if destination_format == "02" and len(pin) > 6:
        assert answer == "24"  # a 12-digit PIN does not fit a Docutel block
        return
    assert answer[:4] == f"00{len(pin):02d}"
    assert answer[20:] == destination_format
    out = oracle.pinblock_decrypt(ZPK, ZPK_T, answer[4:20])
    assert oracle.pinblock_decode(destination_format, out, _bound(destination_format)) == pin


def test_random_fill_formats_differ_from_request_to_request(host: Host) -> None:
    request_ = f"{TPK_U}{ZPK_U}126428EB94035AF53B0147{ACCOUNT}".encode()
    blocks = {native(ca, host, request_) for _ in range(4)}
    assert len(blocks) > 1
    for answer in blocks:
        clear = oracle.pinblock_decrypt(ZPK, ZPK_U, answer[4:20].decode())
        assert oracle.pinblock_decode("47", clear, ACCOUNT) == "1234"


def test_published_format_samples_decode(host: Host) -> None:
    # hsmd's deterministic samples: 05 under the TPK (fill 2B3C4D5E), 47 under the TPK (fill ABCDEFABCD).
    answer = native(ca, host, f"{TPK_U}{ZPK_U}1205DCF3B4D8758B2F0501{ACCOUNT}".encode())
    assert answer == b"0006" + oracle.pinblock_encrypt(ZPK, ZPK_U, oracle.pinblock_encode("01", "123456", ACCOUNT)).encode() + b"01"
    assert oracle.pinblock_decrypt(TPK, TPK_U, "6A280EFA18242512") == "341261ABCDEDF8EC"
    assert native(ca, host, f"{TPK_U}{ZPK_U}126A280EFA182425124701{ACCOUNT}".encode()) == b"000491DDDA0A7C12CFAA01"


def test_plus_format_binds_the_leftmost_twelve_digits(host: Host) -> None:
    # Manual example: PAN 2283400000123456, PIN 92389 -> clear 05921A1CBFFFFFED (account block 0000228340000012).
    account = "2283400000123456".rjust(18, "F")
    assert oracle.pinblock_encode("04", "92389", "228340000012") == "05921A1CBFFFFFED"
    source = oracle.pinblock_encrypt(TPK, TPK_U, "05921A1CBFFFFFED")
    answer = native(ca, host, f"{TPK_U}{ZPK_U}12{source}0401{account}".encode()).decode()
    assert answer[:4] == "0005"
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt(ZPK, ZPK_U, answer[4:20]), "340000012345") == "92389"
    assert native(ca, host, f"{TPK_U}{ZPK_U}12{source}0401{'F' * 6}ABCDEF123456".encode()) == b"15"  # not a PAN


def test_broken_ibm_3624_and_docutel_blocks(host: Host) -> None:
    broken_fill = oracle.pinblock_encrypt(TPK, TPK_U, "1234F5FFFFFFFFFF")
    assert native(ca, host, f"{TPK_U}{ZPK_U}12{broken_fill}0301{ACCOUNT}".encode()) == b"20"
    short = oracle.pinblock_encrypt(TPK, TPK_U, "123FFFFFFFFFFFFF")
    assert native(ca, host, f"{TPK_U}{ZPK_U}12{short}0301{ACCOUNT}".encode()) == b"24"
    not_decimal = oracle.pinblock_encrypt(TPK, TPK_U, "41234A0000000000")
    assert native(ca, host, f"{TPK_U}{ZPK_U}12{not_decimal}0201{ACCOUNT}".encode()) == b"20"


def test_in_pci_mode_a_pin_from_iso_0_or_3_leaves_only_in_iso_0_or_3() -> None:
    # krestfield/docs ezsign/payshield_error_codes.md, 23: a PCI HSM disallowed PIN block format.
    tpk_70d = oracle.to_lmk("70D", "U", oracle.from_lmk(TPK, TPK_U))
    host = pci_host()
    iso0 = "6428EB94035AF53B"
    iso3 = oracle.pinblock_encrypt("70D", tpk_70d, oracle.pinblock_encode("47", "1234", ACCOUNT))
    assert native(ca, host, f"{tpk_70d}{ZPK_U}12{iso0}0101{ACCOUNT}".encode()) == b"000491DDDA0A7C12CFAA01"
    assert native(ca, host, f"{tpk_70d}{ZPK_U}12{iso3}4701{ACCOUNT}".encode()) == b"000491DDDA0A7C12CFAA01"
    assert native(ca, host, f"{tpk_70d}{ZPK_U}12{iso0}0147{ACCOUNT}".encode())[:4] == b"0004"
    for source, source_format in [(iso0, "01"), (iso3, "47")]:
        for destination_format in ("02", "03", "05", "34", "35"):
            request_ = f"{tpk_70d}{ZPK_U}12{source}{source_format}{destination_format}{ACCOUNT}"
            assert native(ca, host, request_.encode()) == b"23", request_
        plus = f"4{ACCOUNT}7".rjust(18, "F")  # a PAN whose 12 digits before the check digit are ACCOUNT
        assert native(ca, host, f"{tpk_70d}{ZPK_U}12{source}{source_format}04{plus}".encode()) == b"23"
    # Other formats are not restricted: Diebold to Diebold.
    diebold = oracle.pinblock_encrypt("70D", tpk_70d, "1234FFFFFFFFFFFF")
    assert native(ca, host, f"{tpk_70d}{ZPK_U}12{diebold}0303{ACCOUNT}".encode()) == b"000482206CCD872229C203"


def test_in_pci_mode_a_tpk_under_14_15_is_not_a_tpk() -> None:
    assert native(ca, pci_host(), f"{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}".encode()) == b"10"


@pytest.mark.wasm
def test_ca_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ca, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ca_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"CA{TPK_U}{ZPK_U}126428EB94035AF53B0101{ACCOUNT}".encode(), f"CA{TPK_U}{ZPK_U}11".encode()) == [
        b"CB000491DDDA0A7C12CFAA01",
        b"CB15",
    ]


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# AES rows of CA in AWS's payShield migration table; keys generated by A0 under the AES key-block test
# LMK (%02), opened by the independent key-block oracle, blocks checked with psec's format 4 (tests/oracle.py).

ISO4_PAN = "4321987654321098765"


def test_ca_and_cc_translate_format_48_under_aes_keys() -> None:
    import psec

    from logic import cc
    from tests import kb_oracle

    host = kb_oracle.make_host()

    def generated(header: str) -> tuple[str, bytes]:
        return key_block(host, "02", header)

    tpk, tpk_clear = generated("P0A1B00N00")
    zpk, zpk_clear = generated("P0A3B00N00")
    tdes_zpk, tdes_clear = generated("P0T2B00N00")
    source = oracle.iso4_encrypt(tpk_clear, "98765", ISO4_PAN)
    answer = native(ca, host, f"{tpk}{zpk}12{source}4848{ISO4_PAN};%02".encode())
    assert answer[:4] == b"0005" and answer[-2:] == b"48" and len(answer) == 4 + 32 + 2
    assert oracle.iso4_decrypt(zpk_clear, answer[4:36].decode(), ISO4_PAN) == "98765"
    again = native(cc, host, f"{zpk}{zpk}12{answer[4:36].decode()}4848{ISO4_PAN};%02".encode())
    assert oracle.iso4_decrypt(zpk_clear, again[4:36].decode(), ISO4_PAN) == "98765"
    # 48 to ISO 0 under a TDES ZPK: the account digits come from the ISO4_PAN.
    clear0 = bytes.fromhex(oracle.pinblock_encode("01", "98765", ISO4_PAN[-13:-1]))
    assert native(ca, host, f"{tpk}{tdes_zpk}12{source}4801{ISO4_PAN};%02".encode()) == (
        f"0005{psec.des.encrypt_tdes_ecb(tdes_clear, clear0).hex().upper()}01".encode()
    )
    # Errors: 48 needs an AES key and an AES key 48 (23); the ISO4_PAN field needs its delimiter (15).
    assert native(ca, host, f"{tpk}{zpk}12{source}0148{ISO4_PAN};%02".encode()) == b"23"
    assert native(ca, host, f"{tpk}{tdes_zpk}12{source}4848{ISO4_PAN};%02".encode()) == b"23"
    assert native(ca, host, f"{tpk}{zpk}12{source}4848{ISO4_PAN}%02".encode()) == b"15"
    assert native(ca, host, f"{tpk}{zpk}12{source}48481234567890;%02".encode()) == b"15"  # ISO4_PAN under 12 digits


# REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js, translatePinTpkZpkBdk): a payShield 10K under
# its LMK 01 (the 3DES key-block test LMK) translated one PIN block to a ZPK and to a BDK's DUKPT PIN key.
UNIT_TPK = "S0007271TN00E00019BAD23B0CEF79E33328CA0568A0E186FC17E8DE738AAF9FB67C6E1FF"
UNIT_BLOCK, UNIT_ACCOUNT, UNIT_KSN = "E57BC634D4717907", "600000000000", "FFFF000001315240003A"


def test_ca_translates_to_a_bdks_dukpt_pin_key_as_a_unit_did() -> None:
    """CB00 06 741311DA9D5D6C32 01 (to the BDK) and FC99D994F1D3D3B8 (to ZPK 1): the unit's answers,
    re-derived by opening the blocks with the key-block oracle and the DUKPT oracle's PIN key."""
    import psec

    from tests import kb_oracle

    host = kb_oracle.make_host()
    tpk = kb_oracle.open_block(kb_oracle.K3, UNIT_TPK)[1]
    clear = psec.des.decrypt_tdes_ecb(tpk, bytes.fromhex(UNIT_BLOCK)).hex().upper()
    pin = oracle.pinblock_decode("01", clear, UNIT_ACCOUNT)
    bdk = kb_oracle.open_block(kb_oracle.K3, kb_oracle.BDK)[1]
    dukpt = oracle.dukpt_key(bdk, UNIT_KSN, "pin")
    expected = psec.des.encrypt_tdes_ecb(dukpt, bytes.fromhex(oracle.pinblock_encode("01", pin, UNIT_ACCOUNT))).hex().upper()
    assert expected == "741311DA9D5D6C32"
    tail = f"12{UNIT_BLOCK}0101{UNIT_ACCOUNT}%01"
    assert native(ca, host, f"{UNIT_TPK}{kb_oracle.BDK}A05{UNIT_KSN}{tail}".encode()) == b"0006741311DA9D5D6C3201"
    assert native(ca, host, f"{UNIT_TPK}{kb_oracle.ZPK_1}{tail}".encode()) == b"0006FC99D994F1D3D3B801"
    assert native(ca, host, f"{UNIT_TPK}{kb_oracle.BDK}A05{UNIT_KSN[:-1]}{tail}".encode()) == b"15"  # KSN short
    assert native(ca, host, f"{UNIT_TPK}{kb_oracle.BDK}{tail}".encode()) == b"15"  # no KSN
