"""JA — Generate a random PIN.

Sources: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb: JA with no PIN length answers "0" + 4
random digits under its "0" + PIN convention), replayed with the simulator-mode
host; the layout and codes of the payShield host command reference ("Generate a
Random PIN": optional PIN length 04-12, 4 when absent). The random PIN is read
back through JG and decoded with the independent psec oracle (tests/oracle.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import ja, jg, ng
from tests import oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE
from tests.tcp import exchange

ACCOUNT = "407000025321"
ZPK = "BAB32D775A38E4AB"  # ZPK under LMK 06-07, clear 13F10E5D868A529E (ThalesSim's JG tests)

# Error cases: exact answers on the default host (random PINs are checked by shape below).
CASES = [
    (f"{ACCOUNT}03", b"15"),  # PIN length below 04
    (f"{ACCOUNT}13", b"15"),  # PIN length above 12
    (f"{ACCOUNT}15", b"15"),  # ThalesSim's rejected length
    (f"{ACCOUNT}0A", b"15"),  # PIN length not numeric
    (f"{ACCOUNT}4", b"15"),  # PIN length one digit
    (f"{ACCOUNT}041", b"15"),  # trailing data
    (ACCOUNT[:-1], b"15"),  # account short
    (f"{ACCOUNT[:-1]}X", b"15"),  # account not numeric
    (f"{ACCOUNT}%01", b"13"),  # LMK 01 not loaded
    (f"{ACCOUNT}04%1", b"13"),  # malformed LMK identifier
]
SHAPES = [(ACCOUNT, 5), (f"{ACCOUNT}04", 5), (f"{ACCOUNT}06", 7), (f"{ACCOUNT}12", 13), (f"{ACCOUNT}06%00", 7)]


def simulator_host(*, authorised: bool = False) -> Host:
    """ThalesSim's PIN under the LMK ("0" + PIN), to replay its published vectors."""
    return Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(pin_under_lmk="simulator", authorised=authorised))


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_ja_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(ja, host, request_.encode()) == answer


@pytest.mark.parametrize(("request_", "width"), SHAPES)
def test_ja_answers_pin_length_plus_one_digits(host: Host, request_: str, width: int) -> None:
    answer = native(ja, host, request_.encode())
    assert answer[:2] == b"00" and len(answer) == 2 + width and answer[2:].isdigit()


def test_thalessim_vector_no_length_gives_zero_and_four_digits() -> None:
    # ThalesCore.Tests/HostCommandTests.vb: JA407000025321 -> JB00 + "0" + 4 digits (simulator mode).
    for _ in range(20):
        answer = native(ja, simulator_host(), ACCOUNT.encode())
        assert answer[:3] == b"000" and len(answer) == 7 and answer[2:].isdigit()


@pytest.mark.parametrize("length", [4, 6, 12])
def test_generated_pin_leaves_through_jg_and_decodes_with_the_oracle(host: Host, length: int) -> None:
    zpk = oracle.from_lmk("001", ZPK)
    under_lmk = native(ja, host, f"{ACCOUNT}{length:02d}".encode())[2:].decode()
    for fmt in ("01", "03"):
        answer = native(jg, host, f"{ZPK}{fmt}{ACCOUNT}{under_lmk}".encode())
        assert answer[:2] == b"00"
        pin = oracle.pinlmk_decode_block(zpk, fmt, answer[2:].decode(), ACCOUNT)
        assert len(pin) == length and pin.isdigit()


def test_generated_pin_in_simulator_mode_is_zero_and_the_pin_jg_sends() -> None:
    sim = simulator_host()
    under_lmk = native(ja, sim, f"{ACCOUNT}06".encode())[2:].decode()
    block = native(jg, sim, f"{ZPK}01{ACCOUNT}{under_lmk}".encode())[2:].decode()
    assert "0" + oracle.pinlmk_decode_block(oracle.from_lmk("001", ZPK), "01", block, ACCOUNT) == under_lmk


def test_generated_pin_reads_back_through_ng_when_authorised() -> None:
    authorised = Host(LmkSet({0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    under_lmk = native(ja, authorised, f"{ACCOUNT}05".encode())[2:].decode()
    answer = native(ng, authorised, f"{ACCOUNT}{under_lmk}".encode())
    assert answer[:2] == b"00" and answer[7:8] == b"F" and answer[2:7].isdigit() and len(answer) == 2 + 6 + 12


def test_generated_pins_differ(host: Host) -> None:
    assert len({native(ja, host, f"{ACCOUNT}12".encode()) for _ in range(5)}) == 5


@pytest.mark.wasm
def test_ja_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "JA.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ja, host, request_.encode()), request_
    for request_, width in SHAPES:  # random PINs: same shape both ways
        answer = in_component(runtime, plugin, request_.encode())
        assert answer[:2] == b"00" and len(answer) == 2 + width and answer[2:].isdigit(), request_


@pytest.mark.wasm
async def test_ja_over_tcp(built_plugins: Path) -> None:
    good, bad = await exchange(built_plugins, f"JA{ACCOUNT}06".encode(), f"JA{ACCOUNT}13".encode())
    assert good[:4] == b"JB00" and len(good) == 4 + 7 and good[4:].isdigit()
    assert bad == b"JB15"
