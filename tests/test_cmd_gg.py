"""GG — Form a ZMK from three ZMK components.

Vectors, all under the public test LMK and re-derived independently below with tests/oracle.py (psec):
- ThalesSim's host-command tests (nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb):
  three bare 32 H components -> `00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99` (components under
  plain LMK 04-05; no `;` block: scheme X, 16 H check value).
- ThalesSim's GY test (same source): that ZMK under scheme U is U369835189A058604EB7F84EAE10C7D04, check
  value 8CE396 — the answer to the same components with `;0U1`.
- The Thales Simulator Library forum post https://thales46.rssing.com/chan-7465905/article256.html: three
  single-length ZMK components encrypted at the console (key type 000, scheme 0) combine to the ZMK
  2B77B300B25494A2, check value 0EB795 (the 16 H check value below is the oracle's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import gg
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

C1, C2, C3 = "A235EDF4C58A2CB0C84641D07319CF21", "FF43378ED5D85B1BC465BF000335FBF1", "2EC8A0412B5D0E86E3C1E5ABFA19B3F5"
DOUBLE = C1 + C2 + C3
SINGLE = "42D51505B7CFC4619FB1185F9741502A619E36FE513CEA21"  # the forum's components
BAD = "0406FBB23A5214DF"  # a TPK (key type 002): fails the parity check under 04-05
S1, S2, S3 = SINGLE[:16], SINGLE[16:32], SINGLE[32:]

CASES = [
    (DOUBLE, b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    (f"{DOUBLE};0U1", b"00U369835189A058604EB7F84EAE10C7D048CE396"),
    (f"{DOUBLE};0X0", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    (f"{DOUBLE};0X1%00", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE396"),
    (DOUBLE.lower(), b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),
    (f"X{C1}X{C2}X{C3}", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99"),  # scheme-tagged components
    (SINGLE, b"002B77B300B25494A20EB7955DAF86A382"),
    (f"{SINGLE};0Z1", b"002B77B300B25494A20EB795"),
    (f"{BAD}{S2}{S3}", b"10"),  # parity: first component
    (f"{S1}{BAD}{S3}", b"11"),  # second
    (f"{S1}{S2}{BAD}", b"11"),  # third
    (f"{DOUBLE};ZU1", b"26"),  # key scheme ZMK must be 0
    (f"{DOUBLE};0Q1", b"26"),
    (f"{DOUBLE};0T0", b"27"),  # a double-length ZMK cannot be scheme T
    (f"{SINGLE};0U0", b"27"),
    (f"X{C1}{S1}{S2}", b"27"),  # components of different lengths
    (f"{DOUBLE};0U2", b"15"),  # check value type 2
    (f"{DOUBLE};0U", b"15"),  # block truncated
    (DOUBLE[:-1], b"15"),  # 95 hex digits
    (SINGLE + S1, b"15"),  # 64 hex digits: neither three 16 H nor three 32 H
    (C1 + C2, b"15"),  # two components
    (f"{DOUBLE}X", b"15"),  # anything after the fields
    (f"X{C1}X{C2}", b"15"),
    ("", b"15"),
    (f"{DOUBLE}%01", b"13"),  # LMK 01 not loaded
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    def combined(*components: str) -> bytes:
        return oracle.xor([oracle.from_lmk("000", c) for c in components])  # plain 04-05; bare 32 H is ECB, as X

    zmk = combined(C1, C2, C3)
    assert zmk.hex().upper() == "4358A82A0DCD23A86EC8FBD09D437592"  # odd parity as combined
    assert oracle.to_lmk("000", "X", zmk) == "XC0BC1DFFC449A402DAB71250CA5869CC"
    assert oracle.kcv(zmk) == "8CE39643DA9A9B99"
    assert oracle.to_lmk("000", "U", zmk) == "U369835189A058604EB7F84EAE10C7D04"
    forum = combined(S1, S2, S3)
    assert forum.hex().upper() == "9DDC9BAE925D31E6"
    assert oracle.to_lmk("000", "Z", forum) == "2B77B300B25494A2"
    assert oracle.kcv(forum) == "0EB7955DAF86A382"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_gg_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(gg, host, request_.encode()) == answer


@pytest.mark.wasm
def test_gg_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GG.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(gg, host, request_.encode()), request_


@pytest.mark.wasm
async def test_gg_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"GG{DOUBLE}".encode(), f"GG{S1}{BAD}{S3}".encode()) == [
        b"GH00XC0BC1DFFC449A402DAB71250CA5869CC8CE39643DA9A9B99",
        b"GH11",
    ]
