"""JG — Translate a PIN from LMK to ZPK encryption.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb and ThalesSim.Tests.Unit/Commands/HostCommandTests.cs:
JG with ZPK BAB32D775A38E4AB and with the T-scheme ZPK TA5E…A5CD, PIN "01234"),
under its "0" + PIN convention, replayed with the simulator-mode host. Every
output block is re-derived with the independent psec oracle (tests/oracle.py).
On the default host (hsmd's own encryption of the PIN under the LMK) the PIN
under the LMK comes from JE, BA or JA, and the output blocks are the same
published blocks, or are decoded with the oracle.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import ba, ja, jg
from tests import kb_oracle, oracle
from tests.commands import in_component, key_block, native
from tests.conftest import FIRMWARE, make_runtime
from tests.tcp import exchange

ACCOUNT = "550000025321"
ZPK = "U1EF828AA8F6B80EB83E19FBC373F3A85"  # under LMK 06-07, clear C7152C20BC2C830EA7EC9E8334ABE3FE
ZPK1 = "BAB32D775A38E4AB"  # single length, clear 13F10E5D868A529E
ZPK3 = "TA5E7D4FE829B0D83C5E7352636C16C7827E197349E34A5CD"  # clear 0DF8F7E6D373863729E6451FA8D0981FCE79EA200829E09B
TPK = "U8463435FC4B4DAA0C49025272C29B12C"  # a TPK (LMK 14-15)
UNDER_LMK = "41055"  # PIN 1234 for ACCOUNT in hsmd's own encryption (= JE of ThalesSim's blocks; tests/test_cmd_je.py)
UNDER_LMK_3 = "61940"  # PIN 1234 for 123456789012 in hsmd's own encryption

CASES = [
    (f"{ZPK1}01{ACCOUNT}{UNDER_LMK}", b"00E98FFDA17099AF55"),
    (f"{ZPK1}03{ACCOUNT}{UNDER_LMK}", b"00F7808F2CBEC63168"),
    (f"{ZPK3}01123456789012{UNDER_LMK_3}", b"0098A841D13467F185"),
    (f"{ZPK}01{ACCOUNT}{UNDER_LMK}", b"0091DDDA0A7C12CFAA"),
    (f"{ZPK}03{ACCOUNT}{UNDER_LMK}%00", b"0082206CCD872229C2"),
    (f"{TPK}01{ACCOUNT}{UNDER_LMK}", b"11"),  # a TPK is no ZPK: parity fails under 06-07 (ThalesSim says 10)
    (f"{ZPK}04{ACCOUNT}{UNDER_LMK}", b"23"),  # PLUS is not a JG format
    (f"{ZPK}34{ACCOUNT}{UNDER_LMK}", b"23"),  # EMV PIN change formats: KU only
    (f"{ZPK}35{ACCOUNT}{UNDER_LMK}", b"23"),
    (f"{ZPK}99{ACCOUNT}{UNDER_LMK}", b"23"),
    (f"{ZPK}01{ACCOUNT}01234", b"14"),  # ThalesSim's "0" + PIN is no PIN under hsmd's LMK encryption
    (f"{ZPK}01400000123456{UNDER_LMK}", b"14"),  # bound to ACCOUNT: fails for another account
    (f"{ZPK}01{ACCOUNT}{UNDER_LMK}%01", b"13"),  # LMK 01 not loaded
    (f"{ZPK}01{ACCOUNT}4105", b"15"),  # PIN under LMK of 4 digits
    (f"{ZPK}01{ACCOUNT}41055123456789", b"15"),  # 14 digits
    (f"{ZPK}01{ACCOUNT}4105A", b"15"),  # not decimal
    (f"{ZPK}0A{ACCOUNT}{UNDER_LMK}", b"15"),  # format not numeric
    (f"{ZPK}01{ACCOUNT}", b"15"),  # no PIN
]

SIM_CASES = [
    (f"{ZPK1}01{ACCOUNT}01234", b"00E98FFDA17099AF55"),  # ThalesSim HostCommandTests.vb / .cs
    (f"{ZPK1}03{ACCOUNT}01234", b"00F7808F2CBEC63168"),
    (f"{ZPK3}0112345678901201234", b"0098A841D13467F185"),
    (f"{TPK}01{ACCOUNT}01234", b"11"),
    (f"{ZPK1}01{ACCOUNT}11234", b"14"),  # "0" + PIN: a leading 1 is no PIN under the LMK
]


def simulator_host() -> Host:
    """ThalesSim's PIN under the LMK ("0" + PIN), to replay its published vectors."""
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator"))


def test_vectors_agree_with_an_independent_implementation() -> None:
    zpk1 = oracle.from_lmk("001", ZPK1)
    assert zpk1.hex().upper() == "13F10E5D868A529E"
    assert oracle.pinlmk_encode_block(zpk1, "01", "1234", ACCOUNT) == "E98FFDA17099AF55"
    assert oracle.pinlmk_encode_block(zpk1, "03", "1234", ACCOUNT) == "F7808F2CBEC63168"
    zpk3 = oracle.from_lmk("001", ZPK3)
    assert zpk3.hex().upper() == "0DF8F7E6D373863729E6451FA8D0981FCE79EA200829E09B"
    assert oracle.pinlmk_encode_block(zpk3, "01", "1234", "123456789012") == "98A841D13467F185"
    zpk = oracle.from_lmk("001", ZPK)
    assert oracle.pinlmk_encode_block(zpk, "01", "1234", ACCOUNT) == "91DDDA0A7C12CFAA"
    assert oracle.pinlmk_encode_block(zpk, "03", "1234", ACCOUNT) == "82206CCD872229C2"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_jg_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(jg, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "answer"), SIM_CASES)
def test_jg_thalessim_vectors_in_simulator_mode(request_: str, answer: bytes) -> None:
    assert native(jg, simulator_host(), request_.encode()) == answer


@pytest.mark.parametrize("length", [4, 5, 8, 12])
def test_ja_then_jg_decodes_with_the_oracle(host: Host, length: int) -> None:
    zpk = oracle.from_lmk("001", ZPK)
    under_lmk = native(ja, host, f"{ACCOUNT}{length:02d}".encode())[2:].decode()
    pins = set()
    for fmt in ("01", "03", "47"):
        answer = native(jg, host, f"{ZPK}{fmt}{ACCOUNT}{under_lmk}".encode())
        assert answer[:2] == b"00", fmt
        pins.add(oracle.pinlmk_decode_block(zpk, fmt, answer[2:].decode(), ACCOUNT))
    assert len(pins) == 1 and len(pin := pins.pop()) == length and pin.isdigit()


def test_random_fill_formats_decode_to_the_pin(host: Host) -> None:
    zpk = oracle.from_lmk("001", ZPK)
    blocks = {native(jg, host, f"{ZPK}47{ACCOUNT}{UNDER_LMK}".encode()) for _ in range(4)}
    assert len(blocks) > 1  # random fill
    for answer in blocks:
        assert oracle.pinlmk_decode_block(zpk, "47", answer[2:].decode(), ACCOUNT) == "1234"
    # Format 05 (ISO 1): 1 · length · PIN · random fill, not bound to the account.
    clear = psec.des.decrypt_tdes_ecb(zpk, bytes.fromhex(native(jg, host, f"{ZPK}05{ACCOUNT}{UNDER_LMK}".encode())[2:].decode()))
    assert clear.hex().upper()[:6] == "141234"


def test_docutel_holds_at_most_six_digits() -> None:
    authorised = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    zpk = oracle.from_lmk("001", ZPK)
    six = native(ba, authorised, f"123456F{ACCOUNT}".encode())[2:].decode()
    answer = native(jg, authorised, f"{ZPK}02{ACCOUNT}{six}".encode())
    assert answer[:2] == b"00"
    assert psec.des.decrypt_tdes_ecb(zpk, bytes.fromhex(answer[2:].decode())).hex()[:7] == "6123456"
    seven = native(ba, authorised, f"1234567F{ACCOUNT}".encode())[2:].decode()
    assert native(jg, authorised, f"{ZPK}02{ACCOUNT}{seven}".encode()) == b"24"


@pytest.mark.wasm
def test_jg_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "JG.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(jg, host, request_.encode()), request_


@pytest.mark.wasm
async def test_jg_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"JG{ZPK1}01{ACCOUNT}{UNDER_LMK}".encode(), f"JG{TPK}01{ACCOUNT}{UNDER_LMK}".encode()) == [
        b"JH00E98FFDA17099AF55",
        b"JH11",
    ]


# --------------------------------------------------------------------------- key-block LMKs
# Under a key-block LMK the PIN under the LMK is encrypted under a key derived from that LMK (hsmd's
# own format, as it is under variant LMKs: see hsmd.host.keyblock.KeyBlockLmk.derived_pair). A PIN
# JA generates under the 3DES and the AES key-block test LMKs comes out of JG under a key-block ZPK
# as a block the independent oracles read: its length is JA's.


@pytest.mark.parametrize("lmk", ["01", "02"])
def test_ja_then_jg_under_a_key_block_lmk(lmk: str) -> None:
    from logic import a0

    host = kb_oracle.make_host()
    kbpk = kb_oracle.K3 if lmk == "01" else kb_oracle.KA
    zpk = native(a0, host, f"0FFFS%{lmk}#P0T2B00N00".encode())[2:-6].decode()
    under_lmk = native(ja, host, f"{ACCOUNT}06%{lmk}".encode())
    assert under_lmk[:2] == b"00" and len(under_lmk) == 2 + 7
    answer = native(jg, host, f"{zpk}01{ACCOUNT}{under_lmk[2:].decode()}%{lmk}".encode())
    clear_block = psec.des.decrypt_tdes_ecb(kb_oracle.open_block(kbpk, zpk)[1], bytes.fromhex(answer[2:].decode()))
    assert len(oracle.pinblock_decode("01", clear_block.hex().upper(), ACCOUNT)) == 6
    # Each LMK derives its own key, and labels keep purposes apart.
    from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES

    derived = {lmk.derived_pair(label) for lmk in (TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES) for label in ("PIN under LMK", "x")}
    assert len(derived) == 4


# --------------------------------------------------------------------------- format 48 (ISO 9564-1 format 4) under AES keys
# As CA's (tests/test_cmd_ca.py): ZPKs generated by A0 under the AES key-block test LMK (%02) and opened by the
# independent key-block oracle; JG's blocks decoded by psec's format 4 with the PAN (tests/oracle.py). The PIN under
# the LMK is the host's encryption for the PAN's 12 digits before its check digit (tests/test_cmd_jc.py, `lmk_pin`).

ISO4_PAN = "4321987654321098765"


def aes_setup(host: Host) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """An AES ZPK, its clear value, and JG requests whose answers are fixed (the error codes)."""
    from tests.test_cmd_jc import lmk_pin

    zpk, clear = key_block(host, "02", "P0A2B00N00")
    tdes_zpk, _ = key_block(host, "02", "P0T2B00N00")
    under_lmk = lmk_pin(host, "98765", ISO4_PAN[-13:-1], 2)
    first_12 = lmk_pin(host, "98765", ISO4_PAN[:12], 2)
    return (
        zpk,
        clear,
        [
            (f"{tdes_zpk}48{ISO4_PAN};{under_lmk}%02", b"23"),  # 48 needs an AES key
            (f"{zpk}01{ISO4_PAN[-13:-1]}{under_lmk}%02", b"23"),  # an AES key gives 48 only
            (f"{zpk}48{ISO4_PAN};{first_12}%02", b"14"),  # stored for the PAN's first 12 digits: not this account's
            (f"{zpk}48{ISO4_PAN}{under_lmk}%02", b"15"),  # the PAN without its delimiter
            (f"{zpk}481234567890;{under_lmk}%02", b"15"),  # a PAN under 12 digits
        ],
    )


def test_jg_gives_format_48_under_an_aes_zpk() -> None:
    from tests.test_cmd_jc import lmk_pin

    host = kb_oracle.make_host()
    zpk, clear, cases = aes_setup(host)
    for pan, pin in ((ISO4_PAN, "98765"), (ISO4_PAN[:12], "4729"), ("4111111111111111", "123456789012")):
        under_lmk = lmk_pin(host, pin, pan.rjust(13, "0")[-13:-1], 2)
        answers = {native(jg, host, f"{zpk}48{pan};{under_lmk}%02".encode()) for _ in range(3)}
        assert len(answers) == 3  # random fill
        for answer in answers:
            assert answer[:2] == b"00" and len(answer) == 2 + 32
            assert oracle.iso4_decrypt(clear, answer[2:].decode(), pan) == pin
    for request_, answer in cases:
        assert native(jg, host, request_.encode()) == answer, request_


@pytest.mark.wasm
def test_jg_component_gives_format_48_as_the_logic_does(built_plugins: Path) -> None:
    from tests.test_cmd_jc import lmk_pin

    host = kb_oracle.make_host()
    zpk, clear, cases = aes_setup(host)
    with make_runtime(host) as runtime:
        plugin = runtime.load(built_plugins / "JG.wasm")
        answer = in_component(runtime, plugin, f"{zpk}48{ISO4_PAN};{lmk_pin(host, '98765', ISO4_PAN[-13:-1], 2)}%02".encode())
        assert answer[:2] == b"00" and oracle.iso4_decrypt(clear, answer[2:].decode(), ISO4_PAN) == "98765"
        for request_, code in cases:
            assert in_component(runtime, plugin, request_.encode()) == native(jg, host, request_.encode()) == code, request_
