"""BG — Translate a PIN and PIN length from old LMK to new LMK.

A PIN under hsmd's LMK is hsmd's own encryption (a real unit's is not
public), so no published vector fits it; the migration is checked as BA's
answers are: a PIN put under the old LMK (the public test LMK, in key change
storage; tests/migration.py) comes out under the new LMK such that JG turns
it into ThalesSim's published PIN blocks (HostCommandTests.vb, PIN 1234,
account 550000025321), re-derived with psec in tests/oracle.py. In simulator
mode (ThalesSim's "0" + PIN, no encryption) the PIN field comes back as it
went in, as ThalesSim's NG vector field `01234` shows.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hsmd.client import open_trio
from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope
from hsmd.host.services import PinSettings
from logic import bg, jg
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE, make_runtime
from tests.migration import NEW_ORACLE_PAIRS, lmk_files, migrating_host
from tests.tcp import HEADER, config_for, serving_plugins

ACCOUNT = "550000025321"
ZPK_CLEAR = bytes.fromhex("13F10E5D868A529E")  # ThalesSim's JG ZPK
ZPK_NEW = oracle.to_lmk("001", "Z", ZPK_CLEAR, NEW_ORACLE_PAIRS)  # the same ZPK under the new LMK


def under_old_lmk(pin: str, account: str = ACCOUNT) -> str:
    """`pin` under the test LMK, as a unit with that LMK (the old one) stored it."""
    old = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    scope = RequestScope("old unit")
    return old.pin_to_lmk(scope, old.pin_from_clear(scope, pin), account, None)


def test_a_migrated_pin_leaves_through_jg_as_thalessims_blocks() -> None:
    hsm = migrating_host()
    answer = native(bg, hsm, f"{ACCOUNT}{under_old_lmk('1234')}".encode())
    assert answer[:2] == b"00"
    under_new = answer[2:].decode()
    assert len(under_new) == 5  # PIN length + 1, as before
    for fmt, block in (("01", "E98FFDA17099AF55"), ("03", "F7808F2CBEC63168")):
        assert oracle.pinlmk_encode_block(ZPK_CLEAR, fmt, "1234", ACCOUNT) == block
        assert native(jg, hsm, f"{ZPK_NEW}{fmt}{ACCOUNT}{under_new}".encode()) == b"00" + block.encode()


@pytest.mark.parametrize("pin", ["1234", "98765", "123456789012"])
def test_every_pin_length_migrates(pin: str) -> None:
    hsm = migrating_host()
    under_new = native(bg, hsm, f"{ACCOUNT}{under_old_lmk(pin)}{'%00'}".encode())[2:].decode()
    assert len(under_new) == len(pin) + 1
    assert (
        native(jg, hsm, f"{ZPK_NEW}01{ACCOUNT}{under_new}".encode())
        == b"00" + oracle.pinlmk_encode_block(ZPK_CLEAR, "01", pin, ACCOUNT).encode()
    )


def test_simulator_mode_gives_the_pin_field_back() -> None:
    # ThalesSim's NG vector (account 123456789012, PIN field 01234): "0" + PIN under any LMK.
    assert native(bg, migrating_host(pin_under_lmk="simulator"), b"12345678901201234") == b"0001234"


CASES = [
    (f"{ACCOUNT}{under_old_lmk('1234')}%01", b"13"),  # LMK 01 not loaded
    (f"{ACCOUNT}99999", b"14"),  # not a PIN under the old LMK
    (f"{ACCOUNT}{under_old_lmk('1234', '550000025322')}", b"14"),  # bound to another account
    (f"{ACCOUNT[:-1]}", b"15"),
    (f"{ACCOUNT}1234", b"15"),  # PIN field of 4 digits
    (f"{ACCOUNT}12345678901234", b"15"),  # 14 digits
    (f"{ACCOUNT}1234A", b"15"),
    ("", b"15"),
]


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_bg_error_codes(request_: str, expected: bytes) -> None:
    assert native(bg, migrating_host(), request_.encode()) == expected


def test_without_an_old_lmk_in_key_change_storage_bg_answers_33(host: Host) -> None:
    assert native(bg, migrating_host(old=False), f"{ACCOUNT}{under_old_lmk('1234')}".encode()) == b"33"
    assert native(bg, host, f"{ACCOUNT}{under_old_lmk('1234')}".encode()) == b"33"


@pytest.mark.wasm
def test_bg_component_answers_exactly_as_the_logic_does(built_plugins: Path) -> None:
    hsm = migrating_host()
    requests = [f"{ACCOUNT}{under_old_lmk('1234')}"] + [request_ for request_, _ in CASES]
    with make_runtime(hsm) as runtime:
        plugin = runtime.load(built_plugins / "BG.wasm")
        for request_ in requests:
            assert in_component(runtime, plugin, request_.encode()) == native(bg, hsm, request_.encode()), request_


@pytest.mark.wasm
async def test_bg_over_tcp_reads_key_change_storage_from_the_configuration(built_plugins: Path, tmp_path: Path) -> None:
    new, old = lmk_files(tmp_path)
    base = config_for(built_plugins)
    config = replace(base, lmk=replace(base.lmk, files=(new,), key_change=(old,)))
    requests = [f"BG{ACCOUNT}{under_old_lmk('1234')}".encode(), f"BG{ACCOUNT}99999".encode()]
    async with serving_plugins(built_plugins, config) as (host, port), await open_trio(host, port, header=HEADER) as client:
        answers = [a.raw[len(HEADER) :] for a in await client.pipeline(requests)]
    expected = native(bg, migrating_host(), requests[0][2:])
    assert answers == [b"BH" + expected, b"BH14"]
