"""The host's PIN core: PIN block formats, the PIN under the LMK, IBM 3624, Visa PVV, CVV, key usage.

Oracles: psec (ISO 9564 formats 0, 2, 3; IBM 3624; Visa PVV; CVV), never hsmd.
Format examples: payShield host command reference, PIN block formats (format 01:
PIN 92389, PAN 4000001234562 -> 0592789FFFEDCBA9; format 04 PLUS: PAN
2283400000123456 -> 05921A1CBFFFFFED); IBM's ISO format 3 example (PIN 123456,
PAN 111222333444555 -> 361216759CFA8889 before encryption, fill AFBECDDC).
"""

from __future__ import annotations

import psec
import pytest

from hsmd.host import TEST_LMK, Host, HostError, LmkSet, RequestScope, pins
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.services import PinSettings
from tests import oracle

PIN_PAIR = bytes.fromhex("20202020202020203131313131313131")  # test LMK pair 02-03
ACCOUNT = "550000025321"


def _code(exc: pytest.ExceptionInfo[HostError]) -> str:
    return exc.value.code


@pytest.mark.parametrize("pin", ["1234", "123456", "123456789012"])
def test_iso_formats_agree_with_psec(pin: str) -> None:
    pan = "4000001234562"  # account field: the 12 digits before the check digit
    account = pan[-13:-1]
    assert pins.encode("01", pin, account) == psec.pinblock.encode_pinblock_iso_0(pin, pan)
    assert pins.encode("34", pin, account) == psec.pinblock.encode_pinblock_iso_2(pin)
    iso3 = pins.encode("47", pin, account)
    assert psec.pinblock.decode_pinblock_iso_3(iso3, pan) == pin


def test_manual_examples() -> None:
    assert pins.encode("01", "92389", "400000123456").hex().upper() == "0592789FFFEDCBA9"
    assert pins.encode("04", "92389", "228340000012").hex().upper() == "05921A1CBFFFFFED"
    ibm_iso3 = int("36123456AFBECDDC", 16) ^ int("0000222333444555", 16)
    assert f"{ibm_iso3:016X}" == "361216759CFA8889"
    assert pins.decode("47", bytes.fromhex("361216759CFA8889"), "222333444555") == "123456"


@pytest.mark.parametrize("fmt", pins.FORMATS)
@pytest.mark.parametrize("pin", ["1234", "56789", "123456"])
def test_every_format_round_trips(fmt: str, pin: str) -> None:
    assert pins.decode(fmt, pins.encode(fmt, pin, ACCOUNT), ACCOUNT) == pin


@pytest.mark.parametrize(
    ("fmt", "clear", "code"),
    [
        ("01", "031234FFFFFFFFFF", "24"),  # length nibble 3
        ("01", "0D1234567890123F", "24"),  # length nibble 13
        ("01", "141234FFFFFFFFFF", "20"),  # control nibble 1 in an ISO 0 block
        ("01", "04123AFFFFFFFFFF", "20"),  # a PIN digit that is not decimal
        ("01", "041234FFFFFFFFFE", "20"),  # fill not F
        ("05", "2412345678901234", "20"),  # ISO 1 control nibble must be 1
        ("47", "3412341111111111", "20"),  # ISO 3 fill must be A-F
        ("03", "12F4FFFFFFFFFFFF", "20"),  # IBM 3624: digits after the fill
        ("03", "123FFFFFFFFFFFFF", "24"),  # three digits
        ("02", "7123456789012345", "24"),  # Docutel: 4 to 6 digits
    ],
)
def test_invalid_blocks_answer_20_or_24(fmt: str, clear: str, code: str) -> None:
    value = int(clear, 16)
    if fmt in ("01", "47"):
        value ^= int("0000" + ACCOUNT, 16)
    with pytest.raises(HostError) as exc:
        pins.decode(fmt, value.to_bytes(8, "big"), ACCOUNT)
    assert _code(exc) == code


@pytest.mark.parametrize("fmt", ["41", "42", "99", "00"])
def test_formats_outside_translation_answer_23(fmt: str) -> None:
    with pytest.raises(HostError) as exc:
        pins.encode(fmt, "1234", ACCOUNT)
    assert _code(exc) == "23"


@pytest.mark.parametrize("pin", ["1234", "0000", "99999", "123456789012"])
def test_pin_under_lmk_is_pin_length_plus_one_digits_and_round_trips(pin: str) -> None:
    encrypted = pins.to_lmk(PIN_PAIR, pin, ACCOUNT)
    assert len(encrypted) == len(pin) + 1 and encrypted.isdigit()
    assert pin not in encrypted[1:] or pin == "0000"  # not the clear PIN behind a prefix (0000 may recur by chance)
    assert pins.from_lmk(PIN_PAIR, encrypted, ACCOUNT) == pin


def test_pin_under_lmk_is_bound_to_the_account_and_the_lmk() -> None:
    encrypted = pins.to_lmk(PIN_PAIR, "1234", ACCOUNT)
    assert encrypted != pins.to_lmk(PIN_PAIR, "1234", "550000025322")
    assert encrypted != pins.to_lmk(bytes(16), "1234", ACCOUNT)
    assert encrypted == pins.to_lmk(PIN_PAIR, "1234", ACCOUNT)  # deterministic, as host databases compare them


def test_pin_under_lmk_decrypted_with_the_wrong_account_mostly_fails_its_check_digit() -> None:
    failures = 0
    for n in range(200):
        encrypted = pins.to_lmk(PIN_PAIR, f"{n:04d}", ACCOUNT)
        try:
            pins.from_lmk(PIN_PAIR, encrypted, "111111111111")
        except HostError as exc:
            assert exc.code == "14"
            failures += 1
    assert failures > 150  # one in ten passes the check digit by chance


@pytest.mark.parametrize("bad", ["1234", "12345678901234", "0123A"])
def test_malformed_pin_under_lmk_answers_14(bad: str) -> None:
    with pytest.raises(HostError) as exc:
        pins.from_lmk(PIN_PAIR, bad, ACCOUNT)
    assert _code(exc) == "14"


def test_simulator_convention_is_zero_and_the_clear_pin() -> None:
    """ThalesSim (nickntg/thalessimulatorlibrary, ThalesSim.Core/Cryptography/PIN) stores 1234 as 01234."""
    assert pins.to_lmk(PIN_PAIR, "1234", ACCOUNT, simulator=True) == "01234"
    assert pins.from_lmk(PIN_PAIR, "01234", ACCOUNT, simulator=True) == "1234"


def test_ibm_3624_agrees_with_psec() -> None:
    pvk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    table, data = "1234567890123456", "1122334455667788"
    natural = pins.natural_pin(pvk, data, table)
    assert natural[:4] == psec.pin.generate_ibm3624_pin(pvk, table, "0000", data, 0, 16, "F") == "4524"
    for pin in ("4524", "1234", "987654", "123456789012"):
        expected = psec.pin.generate_ibm3624_offset(pvk, table, pin, data, 0, 16, "F")
        assert pins.ibm_offset(natural, pin) == expected
        assert pins.ibm_pin(natural, expected) == pin


def test_visa_pvv_agrees_with_psec_and_thalessim() -> None:
    pvk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert pins.visa_pvv(pvk, "233445566778", 3, "4524") == psec.pin.generate_visa_pvv(pvk, "3", "4524", "1122334455667788") == "4021"
    # ThalesSim DG: PVK X3679...02B3 under the test LMK, PIN 1234, account 550000025321, PVKI 1 -> 4402.
    thalessim = oracle.from_lmk("002", "X367930344805B1FAD6146EF4ED7502B3")
    assert pins.visa_pvv(thalessim, ACCOUNT, 1, "1234") == "4402"


@pytest.mark.parametrize(
    ("table", "code"),
    [("012345678901234", "25"), ("0123456789A12345", "25"), ("0000111122223333", "25"), ("0123456700000000", "25")],
)
def test_bad_plain_decimalisation_tables_answer_25(table: str, code: str) -> None:
    with pytest.raises(HostError) as exc:
        pins.check_plain_table(table)
    assert _code(exc) == code


def _host(**settings: object) -> Host:
    mode = settings.pop("mode", "non-pci")
    return Host(LmkSet({0: TEST_LMK}), "0007-E000", KeyTypeTable(mode), PinSettings(**settings))  # type: ignore[arg-type]


def test_pin_functions_refuse_keys_of_other_types_with_29() -> None:
    host, scope = _host(), RequestScope("t")
    cvk = host.key_generate(scope, "402", "U")
    zpk = host.key_generate(scope, "001", "U")
    pin = host.pin_generate(scope, 4)
    with pytest.raises(HostError) as exc:
        host.pin_to_block(scope, cvk, pin, "01", ACCOUNT)  # a CVK cannot encrypt a PIN block
    assert _code(exc) == "29"
    with pytest.raises(HostError) as exc:
        host.pin_pvv(scope, zpk, pin, ACCOUNT, 1)  # a ZPK cannot make a PVV
    assert _code(exc) == "29"
    with pytest.raises(HostError) as exc:
        host.card_cvv(scope, zpk, "4000001234562", "2512", "101")  # nor a CVV
    assert _code(exc) == "29"
    tak = host.key_generate(scope, "003", "U")
    with pytest.raises(HostError) as exc:
        host.pin_from_block(scope, tak, "0123456789ABCDEF", "01", ACCOUNT)  # a TAK cannot decrypt one
    assert _code(exc) == "29"


def test_clear_pins_need_the_authorised_state() -> None:
    host, scope = _host(), RequestScope("t")
    with pytest.raises(HostError) as exc:
        host.pin_from_clear(scope, "1234")
    assert _code(exc) == "17"
    pin = host.pin_generate(scope, 4)
    with pytest.raises(HostError) as exc:
        host.pin_reveal(scope, pin)
    assert _code(exc) == "17"
    authorised = _host(authorised=True)
    assert authorised.pin_reveal(scope, authorised.pin_from_clear(scope, "1234")) == "1234"


def test_pci_mode_keeps_iso_0_and_3_pins_in_iso_0_or_3() -> None:
    host, scope = _host(mode="pci"), RequestScope("t")
    zpk = host.key_generate(scope, "001", "U")
    block = host.pin_to_block(scope, zpk, host.pin_generate(scope, 4), "01", ACCOUNT)
    pin = host.pin_from_block(scope, zpk, block, "01", ACCOUNT)
    assert len(host.pin_to_block(scope, zpk, pin, "47", ACCOUNT)) == 16
    with pytest.raises(HostError) as exc:
        host.pin_to_block(scope, zpk, pin, "03", ACCOUNT)
    assert _code(exc) == "23"
    assert len(_host().pin_to_block(scope, zpk, pin, "03", ACCOUNT)) == 16  # non-PCI: allowed


def test_encrypted_decimalisation_tables_decrypt_under_lmk_14_15() -> None:
    host, scope = _host(decimalisation_tables="encrypted"), RequestScope("t")
    table = host.encrypt_dectable("0123456789012345", None)
    pair = oracle.lmk("002")  # LMK 14-15, no variant
    assert psec.des.decrypt_tdes_ecb(pair, bytes.fromhex(table)).hex() == "0123456789012345"
    pvk = host.key_generate(scope, "002", "U")
    pin = host.pin_generate(scope, 4)
    data = "4458329372167593"
    offset = host.pin_ibm_offset(scope, pvk, pin, table, data, None)
    derived = host.pin_ibm_derive(scope, pvk, offset, table, data, None)
    assert host.pin_ibm_offset(scope, pvk, derived, table, data, None) == offset
    with pytest.raises(HostError) as exc:
        host.pin_ibm_offset(scope, pvk, pin, "0123456789012345", data, None)  # a clear table is garbage here
    assert _code(exc) == "25"


def test_cvv_agrees_with_psec() -> None:
    from hsmd.host import cards

    cvk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    cards_data = [("4999988887777000", "9105", "101"), ("4123456789012345", "8701", "000"), ("5999999999999999999", "2512", "999")]
    for pan, expiry, service in cards_data:
        assert cards.cvv(cvk, pan, expiry, service) == psec.cvv.generate_cvv(cvk, pan, expiry, service)
