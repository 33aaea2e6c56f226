"""BW — Translate keys from old LMK to new LMK.

No published vector carries both of its LMKs: ThalesSim's (HostCommandTests.vb,
`TranslateFromOldToNewStorage`) depend on the simulator's own old LMK file.
So the migration here is one whose every key a real unit would answer alike:
the public test LMK in key change storage (keys from ThalesSim's and jPOS's
published tests under it), replaced by a variant LMK of known pairs
(tests/migration.py); each expected answer is computed with tests/oracle.py
(psec and the variant-LMK rules of shared/reference/payshield.md), not with
hsmd's own key code. The request shapes are those of ThalesSim's test
(`021U…;002;0X0`) and of ut-codec-payshield's (`FF1U…;000;0U0`, `001U…;0U0`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hsmd.client import open_trio
from hsmd.host import Host
from hsmd.host.lmk import TEST_LMK_PAIRS
from logic import bw
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import make_runtime
from tests.migration import NEW_ORACLE_PAIRS, lmk_files, migrating_host, oracle_pairs
from tests.tcp import HEADER, config_for, serving_plugins

TPK = "0406FBB23A5214DF"  # under the test LMK's 14-15
TPK_CLEAR = bytes.fromhex("0B681FC20E62C734")
ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # under 04-05
ZMK_CLEAR = bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070")
TMK = "U8463435FC4B4DAA0C49025272C29B12C"  # under 14-15
TMK_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")
ZPK = "BAB32D775A38E4AB"  # under 06-07
ZPK_CLEAR = bytes.fromhex("13F10E5D868A529E")
TRIPLE_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity
CVK = oracle.to_lmk("402", "U", TMK_CLEAR)  # variant 4 of 14-15
ZEK = oracle.to_lmk("00A", "T", TRIPLE_CLEAR)  # 30-31
EVEN_TPK = oracle.to_lmk("002", "Z", bytes.fromhex("0B681FC20E62C735"))  # last byte even parity


BARE_ZMK = oracle.to_lmk("000", "X", ZMK_CLEAR)[1:]  # the legacy double-length form: X9.17, no letter


def answer(key_type: str, scheme: str, clear: bytes, *, letter: bool = True) -> bytes:
    """The key under the new LMK (without its scheme letter, for the bare form) and its 6 H check value."""
    under_new = oracle.to_lmk(key_type, scheme, clear, NEW_ORACLE_PAIRS)
    return f"00{under_new if letter else under_new[1:]}{oracle.kcv(clear, 6)}".encode()


CASES = [
    (f"020{TPK}", answer("002", "Z", TPK_CLEAR)),
    (f"001{ZMK}", answer("000", "U", ZMK_CLEAR)),  # keeps scheme U
    (f"001{ZMK};0X0", answer("000", "X", ZMK_CLEAR)),
    (f"FF1{ZMK};000;0U0", answer("000", "U", ZMK_CLEAR)),  # ut-codec-payshield's shape
    (f"021{TMK};002;0X0", answer("002", "X", TMK_CLEAR)),  # ThalesSim's shape
    (f"010{ZPK}%00", answer("001", "Z", ZPK_CLEAR)),
    (f"421{CVK}", answer("402", "U", TMK_CLEAR)),  # variant 4 of 14-15
    (f"0A2{ZEK}", answer("00A", "T", TRIPLE_CLEAR)),
    (f"0a3{ZEK};0Y0", answer("00A", "Y", TRIPLE_CLEAR)),  # the manual's triple-length flag 3
    (f"FF0{TPK};002", answer("002", "Z", TPK_CLEAR)),
    (f"001{BARE_ZMK}", answer("000", "X", ZMK_CLEAR, letter=False)),  # bare 32 H stays bare
    (f"001{BARE_ZMK};0U0", answer("000", "U", ZMK_CLEAR)),
    (f"0a1{ZEK[:33]};00a", b"15"),  # a triple-length key under the double-length flag
    (f"0A2{ZEK};00a;0t0", answer("00A", "T", TRIPLE_CLEAR)),  # lower case
    # Errors.
    (f"ZZ0{TPK}", b"04"),  # key type code not hex
    (f"ZZ7{TPK}", b"04"),  # the key type code is checked first
    (f"020{TPK};G02", b"04"),  # key type not hex
    (f"FF1{ZMK};0U0", b"15"),  # FF with a scheme block but no key type
    (f"001S{'0' * 31}", b"15"),  # a key block: no key-block LMK in key change storage
    (f"0F0{TPK}", b"04"),  # no key type 00F
    (f"FF0{TPK};0FF", b"04"),
    (f"027{TPK}", b"05"),  # no length flag 7
    (f"02F{TPK}", b"05"),
    (f"021{TPK}", b"15"),  # a single-length key under the double-length flag
    (f"022{TMK}", b"15"),
    (f"FF0{TPK}", b"15"),  # FF without the key type
    (f"020{TPK};003", b"44"),  # a TPK migrated to a TAK
    (f"020{TPK};1Z0", b"15"),  # reserved option not 0
    (f"020{TPK};0Z1", b"15"),
    (f"020{TPK};0Q0", b"26"),  # no scheme Q
    (f"020{TPK};0U0", b"27"),  # a single-length key cannot be scheme U
    (f"020{TPK};0Z", b"15"),  # block cut short
    (f"020{TPK}X", b"15"),  # trailing data
    (f"020{TPK}%01", b"13"),  # LMK 01 not loaded
    (f"020{EVEN_TPK}", b"10"),  # parity under the old LMK
    (f"010{TPK}", b"10"),  # a TPK is no ZPK: parity fails under 06-07
    ("02", b"15"),
]


def test_keys_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("002", TPK) == TPK_CLEAR
    assert oracle.from_lmk("000", ZMK) == ZMK_CLEAR
    assert oracle.from_lmk("002", TMK) == TMK_CLEAR
    assert oracle.from_lmk("001", ZPK) == ZPK_CLEAR
    assert oracle_pairs(TEST_LMK_PAIRS) == oracle.TEST_LMK_PAIRS  # the mapping the new LMK's pairs go through
    assert oracle.lmk("002", NEW_ORACLE_PAIRS) != oracle.lmk("002")  # the two LMKs differ


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_bw_known_answers_and_error_codes(request_: str, expected: bytes) -> None:
    assert native(bw, migrating_host(), request_.encode()) == expected


def test_without_an_old_lmk_in_key_change_storage_bw_answers_33(host: Host) -> None:
    assert native(bw, migrating_host(old=False), f"020{TPK}".encode()) == b"33"
    assert native(bw, host, f"020{TPK}".encode()) == b"33"  # the default unit has none


def test_a_migrated_key_is_the_same_key_under_the_new_lmk() -> None:
    hsm = migrating_host()
    migrated = native(bw, hsm, f"001{ZMK}".encode())[2:-6].decode()
    assert oracle.from_lmk("000", migrated, NEW_ORACLE_PAIRS) == ZMK_CLEAR
    assert native(bw, hsm, f"001{migrated}".encode()) == b"10"  # under the new LMK it is no key under the old


@pytest.mark.wasm
def test_bw_component_answers_exactly_as_the_logic_does(built_plugins: Path) -> None:
    hsm = migrating_host()
    with make_runtime(hsm) as runtime:
        plugin = runtime.load(built_plugins / "BW.wasm")
        for request_, _ in CASES:
            assert in_component(runtime, plugin, request_.encode()) == native(bw, hsm, request_.encode()), request_


@pytest.mark.wasm
@pytest.mark.parametrize("workers", [0, 1])
async def test_bw_over_tcp_reads_key_change_storage_from_the_configuration(built_plugins: Path, tmp_path: Path, workers: int) -> None:
    new, old = lmk_files(tmp_path)
    base = config_for(built_plugins)
    config = replace(base, server=replace(base.server, workers=workers), lmk=replace(base.lmk, files=(new,), key_change=(old,)))
    async with serving_plugins(built_plugins, config) as (host, port), await open_trio(host, port, header=HEADER) as client:
        answers = await client.pipeline([f"BW020{TPK}".encode(), f"BW020{EVEN_TPK}".encode()])
    assert [a.raw[len(HEADER) :] for a in answers] == [b"BX" + answer("002", "Z", TPK_CLEAR), b"BX10"]
