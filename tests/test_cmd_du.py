"""DU — Verify a PIN by its IBM offset and generate the offset of a new PIN.

REAL: a payShield 10K under its LMK 01 (the public 3DES key-block test LMK), with its encrypted
decimalisation table 709F26B22464E96A, answered offset 309783FFFFFF
(softwaregroup-bg/ut-codec-payshield docs/examples.js, verifyPinGenerateOffset); re-derived here by
the key-block oracle and psec. The variant-LMK cases use ThalesSim's TPK (BK's vectors,
nickntg/thalessimulatorlibrary ThalesCore.Tests/HostCommandTests.vb) and PVKs made under the
public test LMK; offsets from psec's IBM 3624 (tests/oracle.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import du
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"  # clear 0B681FC20E62C734
PVK = "UA8B1520E201412938388191885FFA50A"  # double length: the 02 warning
PVK1 = "FCBA7CF5972CF0DD"  # single length
ACCOUNT, TABLE, VD = "832937216759", "0123456789123456", "4458329372N3"
TAIL = f"{ACCOUNT}{TABLE}{VD}"
VALIDATION = oracle.ibm_validation_data(VD, ACCOUNT)


def block(pin: str) -> str:
    return oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode("01", pin, ACCOUNT))


def offset(pvk: str, pin: str) -> str:
    return oracle.ibm_offset(oracle.from_lmk("002", pvk), TABLE, pin, VALIDATION).ljust(12, "F")


CASES = [
    (f"002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')}", f"00{offset(PVK1, '123456')}".encode()),
    (f"002{TPK}{PVK}{block('4584')}0104{TAIL}{offset(PVK, '4584')}{block('123456')}", f"02{offset(PVK, '123456')}".encode()),
    (f"002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('4584')}%00", f"00{offset(PVK1, '4584')}".encode()),
    # The current PIN does not verify: 01, and no offset.
    (f"002{TPK}{PVK1}{block('4585')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')}", b"01"),
    # Errors.
    (f"002{TPK}{PVK1}{block('4584')}0105{TAIL}{offset(PVK1, '4584')}{block('123456')}", b"15"),  # offset under the check length
    (f"002{TPK}{PVK1}{block('45845')}0105{TAIL}{offset(PVK1, '45845')}{block('1234')}", b"24"),  # new PIN under it
    (f"003{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')}", b"04"),
    (f"002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')}%01", b"13"),
    (f"002{TPK}{PVK1}{block('4584')}0704{TAIL}{offset(PVK1, '4584')}{block('123456')}", b"23"),
    (f"002{TPK}{PVK1}{block('4584')}0104{ACCOUNT}9999888877776666{VD}{offset(PVK1, '4584')}{block('123456')}", b"25"),
    (f"002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')[:-1]}", b"15"),  # new block short
    (f"002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}", b"15"),  # no new block
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_du_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(du, host, request_.encode()) == answer


def test_du_gives_a_real_units_offset_with_its_encrypted_table() -> None:
    unit_pvk = "S00072V1TN00E00010AE0AD2B1990AB407FAD15059E287760A05DF4DA2391EAB138877E22"
    account, data, pin_block = "850103093936", "50103093936N", "967CDB6E3D492E28"
    pvk = kb_oracle.open_block(kb_oracle.K3, unit_pvk)[1]
    pin = oracle.pinblock_decode("01", psec.des.decrypt_tdes_ecb(kb_oracle.ZPK_1_CLEAR, bytes.fromhex(pin_block)).hex().upper(), account)
    assert oracle.ibm_offset(pvk, "0123456789012345", pin, oracle.ibm_validation_data(data, account)) == "309783"
    host = kb_oracle.make_host()
    host.pin_settings = replace(host.pin_settings, decimalisation_tables="encrypted")
    request = f"FFF{kb_oracle.ZPK_1}{unit_pvk}{pin_block}0106{account}709F26B22464E96A{data}309783FFFFFF{pin_block}%01"
    assert native(du, host, request.encode()) == b"02309783FFFFFF"  # a double-length PVK: the 02 warning


@pytest.mark.wasm
def test_du_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "DU.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(du, host, request_.encode()), request_


@pytest.mark.wasm
async def test_du_over_tcp(built_plugins: Path) -> None:
    request = f"DU002{TPK}{PVK1}{block('4584')}0104{TAIL}{offset(PVK1, '4584')}{block('123456')}"
    assert await exchange(built_plugins, request.encode(), b"DU003") == [f"DV00{offset(PVK1, '123456')}".encode(), b"DV15"]
