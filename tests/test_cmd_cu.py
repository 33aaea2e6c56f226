"""CU — Verify a PIN by its Visa PVV and generate the PVV of a new PIN.

REAL: a payShield 10K under its LMK 01 (the public 3DES key-block test LMK) answered CV00 6010
(softwaregroup-bg/ut-codec-payshield docs/examples.js, verifyPinGeneratePvv): PIN block
AD72F973446E84E7 with PVV 7548, new PIN block 967CDB6E3D492E28, under its ZPK 1 and V2 PVK block;
re-derived here by the key-block oracle and psec. The variant-LMK cases use ThalesSim's TPK and PVK
pair (the DC vectors: PIN 1234, PVKI 1, PVV 4402), new PVVs from psec (tests/oracle.py).
"""

from __future__ import annotations

from pathlib import Path

import psec
import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import cu
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK = "0406FBB23A5214DF"
PVK = "X367930344805B1FAD6146EF4ED7502B3"
ACCOUNT = "550000025321"
TPK_CLEAR, PVK_CLEAR = oracle.from_lmk("002", TPK), oracle.from_lmk("002", PVK)
CURRENT = "AE7A708F877571A9"  # ThalesSim: PIN 1234, format 01, PVV 4402 with PVKI 1


def block(pin: str, fmt: str = "01") -> str:
    return oracle.pinblock_encrypt("002", TPK, oracle.pinblock_encode(fmt, pin, ACCOUNT))


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


NEW_PVV = oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "9876").encode()
CASES = [
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}", b"00" + NEW_PVV),
    (f"002{TPK}{PVK[1:]}{CURRENT}01{ACCOUNT}14402{block('9876')}%00", b"00" + NEW_PVV),
    (f"002{TPK}{PVK}{block('1234', '03')}03{ACCOUNT}14402{block('9876', '03')}", b"00" + NEW_PVV),  # both blocks in the format given
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{CURRENT}", b"004402"),  # the same PIN again
    # The current PIN does not verify: 01, and no PVV.
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14401{block('9876')}", b"01"),
    (f"002{TPK}{PVK}{block('4321')}01{ACCOUNT}14402{block('9876')}", b"01"),
    # Errors.
    (f"003{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}", b"04"),
    (f"002{oracle.to_lmk('002', 'Z', flip(TPK_CLEAR))}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}", b"10"),
    (f"002{TPK}{oracle.to_lmk('002', 'X', flip(PVK_CLEAR))}{CURRENT}01{ACCOUNT}14402{block('9876')}", b"11"),
    (f"002{TPK}{oracle.to_lmk('002', 'Z', PVK_CLEAR[:8])}{CURRENT}01{ACCOUNT}14402{block('9876')}", b"27"),
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}%01", b"13"),
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{oracle.pinblock_encrypt('002', TPK, '12F4FFFFFFFFFFFF')}", b"20"),  # new block
    (f"002{TPK}{PVK}{CURRENT}99{ACCOUNT}14402{block('9876')}", b"23"),
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}144A2{block('9876')}", b"15"),  # PVV not numeric
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')[:-1]}", b"15"),  # new PIN block short
    (f"002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}0", b"15"),
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.pinblock_decode("01", oracle.pinblock_decrypt("002", TPK, CURRENT), ACCOUNT) == "1234"
    assert oracle.visa_pvv(PVK_CLEAR, ACCOUNT, 1, "1234") == "4402"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_cu_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(cu, host, request_.encode()) == answer


def test_cu_gives_a_real_units_new_pvv() -> None:
    unit_pvk = "S00072V2TN00E0001E80A2926443C3AF11BF0317C669FA0EA0E100ABDF92BF7A3AF232D4C"
    account = "850103093936"
    pvk = kb_oracle.open_block(kb_oracle.K3, unit_pvk)[1]
    current, new = (
        oracle.pinblock_decode("01", psec.des.decrypt_tdes_ecb(kb_oracle.ZPK_1_CLEAR, bytes.fromhex(b)).hex().upper(), account)
        for b in ("AD72F973446E84E7", "967CDB6E3D492E28")
    )
    assert (oracle.visa_pvv(pvk, account, 1, current), oracle.visa_pvv(pvk, account, 1, new)) == ("7548", "6010")
    request = f"FFF{kb_oracle.ZPK_1}{unit_pvk}AD72F973446E84E701{account}17548967CDB6E3D492E28%01"
    assert native(cu, kb_oracle.make_host(), request.encode()) == b"006010"


@pytest.mark.wasm
def test_cu_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "CU.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(cu, host, request_.encode()), request_


@pytest.mark.wasm
async def test_cu_over_tcp(built_plugins: Path) -> None:
    requests = [f"CU002{TPK}{PVK}{CURRENT}01{ACCOUNT}14402{block('9876')}", f"CU002{TPK}{PVK}{CURRENT}01{ACCOUNT}14401{block('9876')}"]
    assert await exchange(built_plugins, *(r.encode() for r in requests)) == [b"CV00" + NEW_PVV, b"CV01"]
