"""FW — Generate a Visa PVV for a customer-selected PIN.

REAL: a payShield 10K under its LMK 01 (the public 3DES key-block test LMK) answered FX00 7548 and
FX00 7547 to two requests (softwaregroup-bg/ut-codec-payshield docs/examples.js, generatePvv); both
are replayed and re-derived: the key-block oracle opens the blocks, psec decodes the PIN blocks and
computes the PVVs. The variant-LMK cases use ThalesSim's TPK and PVK pair (the DC vectors of
nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb: PIN 1234, PVKI 1, PVV 4402),
re-derived with tests/oracle.py.
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import fw
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # single length, under LMK 14-15
PVK = "X367930344805B1FAD6146EF4ED7502B3"  # PVK A · PVK B
ACCOUNT = "550000025321"
TPK_CLEAR, PVK_CLEAR = oracle.from_lmk("002", TPK), oracle.from_lmk("002", PVK)
THALESSIM_BLOCK = "AE7A708F877571A9"  # PIN 1234, format 01
OTHER = "123456789012"  # another account


def block(pin: str, account: str = ACCOUNT) -> str:
    return oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("01", pin, account))


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


CASES = [
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1", b"004402"),
    (f"002{TPK}{PVK[1:]}{THALESSIM_BLOCK}01{ACCOUNT}1%00", b"004402"),
    (f"002{TPK}{PVK}{block('9876', OTHER)}01{OTHER}7", b"00" + oracle.visa_pvv(PVK_CLEAR, OTHER, 7, "9876").encode()),
    (f"002{TPK}{PVK}{block('123456')}01{ACCOUNT}0", b"00" + oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 0, "123456").encode()),
    # Errors.
    (f"003{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1", b"04"),  # key type: 001, 002 or FFF
    (f"FFF{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1", b"04"),  # FFF needs a key block
    (f"002{oracle.to_lmk('002', 'Z', flip(TPK_CLEAR))}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1", b"10"),
    (f"002{TPK}{oracle.to_lmk('002', 'X', flip(PVK_CLEAR))}{THALESSIM_BLOCK}01{ACCOUNT}1", b"11"),
    (f"002{TPK}{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}{THALESSIM_BLOCK}01{ACCOUNT}1", b"27"),  # single-length PVK
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1%01", b"13"),  # LMK 01 not loaded
    (f"002{TPK}{PVK}{oracle.pinblock_encrypt('002', TPK, '12F4FFFFFFFFFFFF')}03{ACCOUNT}1", b"20"),
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}99{ACCOUNT}1", b"23"),
    (f"002{TPK}{PVK}{oracle.pinblock_encrypt('002', TPK, '123FFFFFFFFFFFFF')}03{ACCOUNT}1", b"24"),  # 3-digit PIN
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}A", b"15"),  # PVKI not numeric
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}10", b"15"),  # a byte too many
    (f"002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}", b"15"),  # no PVKI
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("002", TPK, THALESSIM_BLOCK), ACCOUNT) == "1234"
    assert oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "1234") == "4402"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fw_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(fw, host, request_.encode()) == answer


# REAL (softwaregroup-bg/ut-codec-payshield docs/examples.js, generatePvv): the unit's keys under its LMK 01.
UNIT_PVK = "S00072V2TN00E0001E80A2926443C3AF11BF0317C669FA0EA0E100ABDF92BF7A3AF232D4C"
UNIT_TPK = "S0007272TN00E0001DE16F028F38CC385436D8E5B3DD4341F3E55379FBCB39710FE2BB6B4"


def test_fw_gives_a_real_units_pvvs() -> None:
    host = kb_oracle.make_host()
    pvk = kb_oracle.open_block(kb_oracle.K3, UNIT_PVK)[1]
    for key, clear_key, pin_block, account, pvv in [
        (kb_oracle.ZPK_1, kb_oracle.ZPK_1_CLEAR, "AD72F973446E84E7", "850103093936", "7548"),
        (UNIT_TPK, kb_oracle.open_block(kb_oracle.K3, UNIT_TPK)[1], "766532A20A0A264B", "600000000000", "7547"),
    ]:
        pin = oracle.pinblock_decode("01", psec.des.decrypt_tdes_ecb(clear_key, bytes.fromhex(pin_block)).hex().upper(), account)
        assert oracle.visa_pvv(pvk, account, 1, pin) == pvv
        assert native(fw, host, f"FFF{key}{UNIT_PVK}{pin_block}01{account}1%01".encode()) == f"00{pvv}".encode()
    # The PVK block as the PIN key: not a PIN key (A6, as the host answers a block of another usage).
    assert native(fw, host, f"FFF{UNIT_PVK}{UNIT_PVK}AD72F973446E84E7018501030939361%01".encode()) == b"A6"


@pytest.mark.wasm
def test_fw_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FW.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(fw, host, request_.encode()), request_


@pytest.mark.wasm
async def test_fw_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"FW002{TPK}{PVK}{THALESSIM_BLOCK}01{ACCOUNT}1".encode(), f"FW003{TPK}".encode()) == [
        b"FX004402",
        b"FX15",
    ]
