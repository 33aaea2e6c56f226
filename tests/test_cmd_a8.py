"""A8 — Export a Key.

Vectors: ThalesSim's host-command tests (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb), keys under the public test LMK, each
re-derived independently below with tests/oracle.py (psec). Export/import round trips are in
tests/test_cmd_a6.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a8
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # clear 851A0D9D0B2A1602622AD0B0E9E6B070
TPK = "7BB126F2BE631486"  # key type 002 under LMK 14-15
TPK2 = "U8463435FC4B4DAA0C49025272C29B12C"  # key type 002, clear D3DCC7EA9BCB755D254620B376B3D007
SINGLE_ZMK = "4ED06495741C280C"  # clear E951A1D6EF08EA15

CASES = [
    (f"002{ZMK}{TPK}Z", b"0016224FDAA779AFB31FFD3C"),
    (f"002{ZMK}{TPK2}U", b"00U2C62A23D001B97412950CD8BE66C7639070753"),
    (f"002{ZMK}{TPK2}X", b"00XF7D53991678347EFB3026882F724E6EE070753"),  # X of the same key: FC/FE vectors
    (f"002{ZMK}{TPK}Z0%00", b"0016224FDAA779AFB31FFD3C"),  # Atalla variant 0, LMK 00
    (f"002{SINGLE_ZMK}0406FBB23A5214DFZ", b"0035ED0C0EA7F7D0FA0035BB"),  # single-length ZMK: A6/FE vectors
    (f"002{ZMK}{TPK}U", b"27"),  # a single-length key cannot be scheme U
    (f"002{ZMK}{TPK}Q", b"26"),  # no scheme Q
    (f"002{SINGLE_ZMK}{TPK2}U", b"26"),  # scheme U needs a double- or triple-length ZMK
    (f"0ZZ{ZMK}{TPK}Z", b"04"),  # no key type 0ZZ
    (f"001{ZMK}{TPK}Z", b"11"),  # the TPK read as a ZPK (LMK 06-07) fails parity
    (f"0020406FBB23A5214DF{TPK}Z", b"10"),  # a TPK given as ZMK: parity fails under 04-05
    (f"002{ZMK}{TPK}Z%01", b"13"),  # LMK 01 not loaded
    (f"002{ZMK}{TPK}Z7", b"15"),  # Atalla variant 7 not supported
    (f"002{ZMK}{TPK}", b"15"),  # key scheme ZMK missing
    (f"002{ZMK}{TPK[:-1]}Z", b"15"),  # key field short
    (f"002{ZMK}{TPK}ZZ", b"15"),  # trailing byte
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    # ZMK U-scheme under 04-05 (byte 8 ^A6 / ^5A); TPK under 14-15 plain; the TPK under the clear ZMK.
    zmk = oracle.from_lmk("000", ZMK)
    tpk = oracle.from_lmk("002", TPK)
    assert oracle.odd_parity(tpk)
    assert oracle.encrypt(zmk, "Z", tpk) == "16224FDAA779AFB3"
    assert oracle.kcv(tpk, 6) == "1FFD3C"
    # Double-length TPK to scheme U under the ZMK (byte 8 of the ZMK ^A6 / ^5A).
    tpk2 = oracle.from_lmk("002", TPK2)
    assert tpk2.hex().upper() == "D3DCC7EA9BCB755D254620B376B3D007"
    assert oracle.encrypt(zmk, "U", tpk2) == "U2C62A23D001B97412950CD8BE66C7639"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_a8_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(a8, host, request_.encode()) == answer


@pytest.mark.wasm
def test_a8_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "A8.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(a8, host, request_.encode()), request_


@pytest.mark.wasm
async def test_a8_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"A8002{ZMK}{TPK}Z".encode(), f"A8002{ZMK}{TPK}".encode()) == [
        b"A90016224FDAA779AFB31FFD3C",
        b"A915",
    ]
