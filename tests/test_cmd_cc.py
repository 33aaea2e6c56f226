"""CC — Translate a PIN from one ZPK to another.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslatePINFromOneZPKToAnother`),
keys under the public test LMK; extra 6-digit and error vectors computed for
hsmd under the same keys. Every vector is re-derived independently below with
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
from logic import cc
from tests import oracle
from tests.commands import in_component, native, pci_host
from tests.tcp import exchange

ZPK_Z = "BAB32D775A38E4AB"  # clear 13F10E5D868A529E
ZPK_U = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # clear C7152C20BC2C830EA7EC9E8334ABE3FE
ZPK_T = "TA5E7D4FE829B0D83C5E7352636C16C7827E197349E34A5CD"
TPK_Z = "0406FBB23A5214DF"  # a TPK (under 14-15)
TPK_U = "U8463435FC4B4DAA0C49025272C29B12C"
ACCOUNT = "550000025321"
ZPK = "001"
FORMATS = ("01", "02", "03", "04", "05", "34", "35", "47")
PAN = "4000001234567899"  # 16 digits: 01 binds 000123456789, 04 (PLUS) binds 400000123456
PLUS_FIELD = PAN.rjust(18, "F")
ISO0 = "91DDDA0A7C12CFAA"  # PIN 1234 in format 01 under ZPK_U (ThalesSim's CA answer)


def _under_zpk_u(clear: str) -> str:
    return oracle.pinblock_encrypt(ZPK, ZPK_U, clear)


CASES = [
    # ThalesSim TestTranslatePINFromOneZPKToAnother, PIN 1234.
    (f"{ZPK_Z}{ZPK_U}12F7808F2CBEC631680303{ACCOUNT}", b"000482206CCD872229C203"),
    (f"{ZPK_Z}{ZPK_U}12F7808F2CBEC631680301{ACCOUNT}", b"000491DDDA0A7C12CFAA01"),
    # hsmd's 6-digit vectors: PIN 123456, account 400000123456.
    (f"{ZPK_Z}{ZPK_U}1291FC6592AC1CE04E0101400000123456", b"00061A971BFEAEDD701701"),
    (f"{ZPK_Z}{ZPK_U}1291FC6592AC1CE04E0103400000123456", b"0006C4456B39C09FCFCE03"),
    # The same ZPK: only the format changes; the same format: only the key.
    (f"{ZPK_U}{ZPK_U}12{ISO0}0103{ACCOUNT}", b"000482206CCD872229C203"),
    (f"{ZPK_U}{ZPK_U}12{ISO0}0101{ACCOUNT}", b"000491DDDA0A7C12CFAA01"),
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0101{ACCOUNT}%00", b"0004E98FFDA17099AF5501"),
    # Errors.
    (f"{ZPK_U}{ZPK_Z}12{_under_zpk_u('03126AFFFFFDACDE')}0101{ACCOUNT}", b"24"),  # length nibble 3
    (f"{ZPK_U}{ZPK_Z}12{_under_zpk_u('0D1261567892411E')}0101{ACCOUNT}", b"24"),  # length nibble 13
    (f"{ZPK_U}{ZPK_Z}12{_under_zpk_u('041261FFFFFDACDF')}0101{ACCOUNT}", b"20"),  # last fill nibble not F
    (f"{ZPK_U}{ZPK_Z}12{_under_zpk_u('141261FFFFFDACDE')}0101{ACCOUNT}", b"20"),  # control nibble 1
    (f"{ZPK_U}{ZPK_Z}12{_under_zpk_u('241234FFFFFFFFFE')}3401{ACCOUNT}", b"20"),  # ISO 2 fill not F
    (f"{TPK_Z}{ZPK_U}12{ISO0}0101{ACCOUNT}", b"10"),  # a TPK as the source ZPK: parity fails under 06-07
    (f"{ZPK_U}{TPK_U}12{ISO0}0101{ACCOUNT}", b"11"),  # a TPK as the destination ZPK
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0101{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{ZPK_U}{ZPK_Z}12{ISO0}9901{ACCOUNT}", b"23"),  # source format 99
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0142{ACCOUNT}", b"23"),  # 42: Visa PIN change, KU only
    (f"{ZPK_U}{ZPK_Z}13{ISO0}0101{ACCOUNT}", b"15"),  # maximum PIN length not 12
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0101{ACCOUNT[:-1]}A", b"15"),  # account not numeric
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0101", b"15"),  # no account
    (f"{ZPK_U}{ZPK_Z}12{ISO0}0101{ACCOUNT}%0", b"13"),  # LMK identifier of one digit
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    cases = [
        # (source ZPK, destination ZPK, source block, source format, destination format, destination block, account, PIN)
        (ZPK_Z, ZPK_U, "F7808F2CBEC63168", "03", "03", "82206CCD872229C2", ACCOUNT, "1234"),
        (ZPK_Z, ZPK_U, "F7808F2CBEC63168", "03", "01", "91DDDA0A7C12CFAA", ACCOUNT, "1234"),
        (ZPK_Z, ZPK_U, "91FC6592AC1CE04E", "01", "01", "1A971BFEAEDD7017", "400000123456", "123456"),
        (ZPK_Z, ZPK_U, "91FC6592AC1CE04E", "01", "03", "C4456B39C09FCFCE", "400000123456", "123456"),
        (ZPK_U, ZPK_Z, ISO0, "01", "01", "E98FFDA17099AF55", ACCOUNT, "1234"),
    ]
    for source_key, destination_key, source, source_format, destination_format, destination, account, pin in cases:
        assert oracle.pinblock_decode(source_format, oracle.pinblock_decrypt(ZPK, source_key, source), account) == pin
        clear = oracle.pinblock_encode(destination_format, pin, account)
        assert oracle.pinblock_encrypt(ZPK, destination_key, clear) == destination
    assert oracle.pinblock_decrypt(ZPK, ZPK_U, "82206CCD872229C2") == "1234FFFFFFFFFFFF"
    assert not oracle.odd_parity(oracle.from_lmk(ZPK, TPK_Z))
    assert not oracle.odd_parity(oracle.from_lmk(ZPK, TPK_U))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_cc_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(cc, host, request_.encode()) == answer


def test_published_format_samples_translate(host: Host) -> None:
    # hsmd's deterministic samples under ZPK_Z: 34 = 241234FFFFFFFFFF, 35 = 241261FFFFFDACDE (account 550000025321).
    assert oracle.pinblock_decrypt(ZPK, ZPK_Z, "06479FC9A21D7BB5") == "241234FFFFFFFFFF"
    assert oracle.pinblock_decrypt(ZPK, ZPK_Z, "DBD787200CAD03B5") == "241261FFFFFDACDE"
    assert native(cc, host, f"{ZPK_Z}{ZPK_U}1206479FC9A21D7BB53401{ACCOUNT}".encode()) == b"000491DDDA0A7C12CFAA01"
    assert native(cc, host, f"{ZPK_Z}{ZPK_U}12DBD787200CAD03B53503{ACCOUNT}".encode()) == b"000482206CCD872229C203"
    assert native(cc, host, f"{ZPK_U}{ZPK_Z}12{ISO0}0134{ACCOUNT}".encode()) == b"000406479FC9A21D7BB534"
    assert native(cc, host, f"{ZPK_U}{ZPK_Z}12{ISO0}0135{ACCOUNT}".encode()) == b"0004DBD787200CAD03B535"


def _account_field(*formats: str) -> str:
    return PLUS_FIELD if "04" in formats else PAN[-13:-1]


def _bound(fmt: str) -> str:
    return PAN[:12] if fmt == "04" else PAN[-13:-1]


# PINs of 4, 6 and 12 digits in every format pair (a Docutel block cannot carry 12 digits in).
ROUND_TRIPS = [
    (source, destination, pin)
    for source, destination in itertools.product(FORMATS, FORMATS)
    for pin in ("8350", "619204", "280571946633")
    if not (source == "02" and len(pin) > 6)
]


@pytest.mark.parametrize(("source_format", "destination_format", "pin"), ROUND_TRIPS)
def test_every_format_translates_to_every_format(host: Host, source_format: str, destination_format: str, pin: str) -> None:
    clear = oracle.pinblock_encode(source_format, pin, _bound(source_format))
    source = oracle.pinblock_encrypt(ZPK, ZPK_T, clear)
    account = _account_field(source_format, destination_format)
    answer = native(cc, host, f"{ZPK_T}{ZPK_U}12{source}{source_format}{destination_format}{account}".encode()).decode()
    if destination_format == "02" and len(pin) > 6:
        assert answer == "24"  # a 12-digit PIN does not fit a Docutel block
        return
    assert answer[:4] == f"00{len(pin):02d}"
    assert answer[20:] == destination_format
    out = oracle.pinblock_decrypt(ZPK, ZPK_U, answer[4:20])
    assert oracle.pinblock_decode(destination_format, out, _bound(destination_format)) == pin


def test_in_pci_mode_a_pin_from_iso_0_or_3_leaves_only_in_iso_0_or_3() -> None:
    # krestfield/docs ezsign/payshield_error_codes.md, 23: a PCI HSM disallowed PIN block format.
    host = pci_host()
    iso3 = _under_zpk_u(oracle.pinblock_encode("47", "1234", ACCOUNT))
    assert native(cc, host, f"{ZPK_U}{ZPK_Z}12{ISO0}0101{ACCOUNT}".encode()) == b"0004E98FFDA17099AF5501"
    assert native(cc, host, f"{ZPK_U}{ZPK_Z}12{iso3}4701{ACCOUNT}".encode()) == b"0004E98FFDA17099AF5501"
    answer = native(cc, host, f"{ZPK_U}{ZPK_Z}12{ISO0}0147{ACCOUNT}".encode()).decode()
    assert oracle.pinblock_decode("47", oracle.pinblock_decrypt(ZPK, ZPK_Z, answer[4:20]), ACCOUNT) == "1234"
    for source, source_format in [(ISO0, "01"), (iso3, "47")]:
        for destination_format in ("02", "03", "05", "34", "35"):
            request_ = f"{ZPK_U}{ZPK_Z}12{source}{source_format}{destination_format}{ACCOUNT}"
            assert native(cc, host, request_.encode()) == b"23", request_
    # Diebold in may leave as ISO 0.
    assert native(cc, host, f"{ZPK_U}{ZPK_Z}1282206CCD872229C20301{ACCOUNT}".encode()) == b"0004E98FFDA17099AF5501"


@pytest.mark.wasm
def test_cc_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CC.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(cc, host, request_.encode()), request_


@pytest.mark.wasm
async def test_cc_over_tcp(built_plugins: Path) -> None:
    assert await exchange(
        built_plugins, f"CC{ZPK_Z}{ZPK_U}12F7808F2CBEC631680301{ACCOUNT}".encode(), f"CC{TPK_Z}{ZPK_U}12{ISO0}0101{ACCOUNT}".encode()
    ) == [b"CD000491DDDA0A7C12CFAA01", b"CD10"]
