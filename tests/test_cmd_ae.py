"""AE — Translate a TMK, TPK or PVK from LMK to another TMK, TPK or PVK.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, `TestTranslateTMKFromLMKToTMK`): three
key pairs under the public test LMK's pair 14-15; for the scheme-U pair the
earlier version of the test expects scheme X and the later one scheme U, and
both answers are checked here (X when asked for with the `;` block). Every
other expected answer is computed with tests/oracle.py (psec and the
variant-LMK rules of shared/reference/payshield.md), not with hsmd's own key
code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ae
from tests import oracle
from tests.commands import in_component, native, pci_host
from tests.tcp import exchange

TMK = "7BB126F2BE631486"
TMK_CLEAR = bytes.fromhex("581F3D4FEF0D3816")
KEY = "0406FBB23A5214DF"
KEY_CLEAR = bytes.fromhex("0B681FC20E62C734")
DOUBLE_TMK = "U8463435FC4B4DAA0C49025272C29B12C"
DOUBLE_TMK_CLEAR = bytes.fromhex("D3DCC7EA9BCB755D254620B376B3D007")
DOUBLE_KEY = "U28DDAEC83617D2F6E2302928B28A54D0"
DOUBLE_KEY_CLEAR = bytes.fromhex("DF58979E94580B7985AE4A5D8954BAD9")
TRIPLE_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")  # odd parity
TRIPLE_KEY = oracle.to_lmk("002", "T", TRIPLE_CLEAR)
X_KEY = oracle.to_lmk("002", "X", DOUBLE_KEY_CLEAR)
EVEN_KEY = oracle.to_lmk("002", "Z", bytes.fromhex("0B681FC20E62C735"))  # last byte even parity
ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # a ZMK under 04-05: not a key of type 002


def answer(kek: bytes, scheme: str, clear: bytes) -> bytes:
    return f"00{oracle.encrypt(kek, scheme, clear)}".encode()


CASES = [
    # Published (ThalesSim).
    (f"{TMK}{KEY}", b"00A341A0CC5F71B229"),
    (f"{DOUBLE_TMK}{DOUBLE_KEY}", b"00UB44202060B6C5C0B2F372149A68FA0B5"),  # later version: keeps U
    (f"{DOUBLE_TMK}{DOUBLE_KEY};X00", b"00XE098159ADAD90802CF32ED579CE48557"),  # earlier version's X
    (f"{DOUBLE_TMK}{KEY}", b"00508949F68B4060A4"),
    # Same keys, other option spellings.
    (f"{TMK}{KEY};Z00", b"00A341A0CC5F71B229"),
    (f"{TMK}{KEY};z00%00", b"00A341A0CC5F71B229"),
    (f"{DOUBLE_TMK}{DOUBLE_KEY};U00", b"00UB44202060B6C5C0B2F372149A68FA0B5"),
    # Computed with the oracle.
    (f"{DOUBLE_TMK}{X_KEY}", answer(DOUBLE_TMK_CLEAR, "X", DOUBLE_KEY_CLEAR)),  # keeps scheme X
    (f"{DOUBLE_TMK}{TRIPLE_KEY}", answer(DOUBLE_TMK_CLEAR, "T", TRIPLE_CLEAR)),
    (f"{DOUBLE_TMK}{TRIPLE_KEY};Y00", answer(DOUBLE_TMK_CLEAR, "Y", TRIPLE_CLEAR)),
    (f"{TRIPLE_KEY}{DOUBLE_KEY}", answer(TRIPLE_CLEAR, "U", DOUBLE_KEY_CLEAR)),
    (f"{TMK}{DOUBLE_KEY};X00", answer(TMK_CLEAR, "X", DOUBLE_KEY_CLEAR)),
    (f"{KEY}{TMK}", answer(KEY_CLEAR, "Z", TMK_CLEAR)),  # either key may be the current one
    # Errors.
    (f"{TMK}{KEY};U00", b"27"),  # a single-length key cannot be scheme U
    (f"{DOUBLE_TMK}{DOUBLE_KEY};Z00", b"27"),
    (f"{DOUBLE_TMK}{TRIPLE_KEY};X00", b"27"),
    (f"{TMK}{DOUBLE_KEY}", b"26"),  # scheme U (kept) needs a double-length current key
    (f"{TMK}{KEY};Q00", b"26"),  # no scheme Q
    (f"{TMK}{KEY};Z10", b"15"),  # first reserved option not 0
    (f"{TMK}{KEY};Z0Z", b"15"),  # second reserved option not 0
    (f"{TMK}{KEY};Z0", b"15"),  # block cut short
    (f"{TMK}{KEY}%01", b"13"),  # LMK 01 not loaded
    (f"{TMK}{KEY[:-1]}", b"15"),  # stored key short
    (f"{TMK}{KEY[:-1]}G", b"15"),  # stored key not hex
    (f"{TMK}{KEY}0", b"15"),  # trailing data (no Atalla variant in AE)
    (f"{TMK}", b"15"),  # no stored key
    (f"{ZMK}{KEY}", b"10"),  # a ZMK given as the current key: parity fails under 14-15
    (f"{TMK}{EVEN_KEY}", b"11"),  # stored key parity
    (f"{ZMK}{EVEN_KEY}", b"10"),  # the current key is checked first
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("002", TMK) == TMK_CLEAR
    assert oracle.from_lmk("002", KEY) == KEY_CLEAR
    assert oracle.from_lmk("002", DOUBLE_TMK) == DOUBLE_TMK_CLEAR
    assert oracle.from_lmk("002", DOUBLE_KEY) == DOUBLE_KEY_CLEAR
    assert oracle.encrypt(TMK_CLEAR, "Z", KEY_CLEAR) == "A341A0CC5F71B229"
    assert oracle.encrypt(DOUBLE_TMK_CLEAR, "U", DOUBLE_KEY_CLEAR) == "UB44202060B6C5C0B2F372149A68FA0B5"
    assert oracle.encrypt(DOUBLE_TMK_CLEAR, "X", DOUBLE_KEY_CLEAR) == "XE098159ADAD90802CF32ED579CE48557"
    assert oracle.encrypt(DOUBLE_TMK_CLEAR, "Z", KEY_CLEAR) == "508949F68B4060A4"


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_ae_known_answers_and_error_codes(host: Host, request_: str, expected: bytes) -> None:
    assert native(ae, host, request_.encode()) == expected


def test_the_answer_carries_no_check_value(host: Host) -> None:
    # The manual's AF response ends with the key: a terminal loads it as is.
    reply = native(ae, host, f"{DOUBLE_TMK}{TRIPLE_KEY}".encode())
    assert len(reply) == 2 + 1 + 48


@pytest.mark.wasm
def test_ae_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "AE.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(ae, host, request_.encode()), request_


@pytest.mark.wasm
async def test_ae_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"AE{TMK}{KEY}".encode(), f"AE{TMK}{EVEN_KEY}".encode()) == [
        b"AF00A341A0CC5F71B229",
        b"AF11",
    ]


def test_in_pci_mode_ae_answers_29_as_002_is_a_pvk() -> None:
    # PCI HSM compliance mode: 002 is a PVK only, and a PVK carries no keys.
    assert native(ae, pci_host(), f"{TMK}{KEY}".encode()) == b"29"
