"""A4 — Form a key from encrypted components.

Vectors, all under the public test LMK and re-derived independently below with tests/oracle.py (psec):
- ThalesSim's host-command tests (nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb):
  `3002Z…` -> `00FE018240022A76DCA192FE` and `3000XX…` -> `00XC0BC1DFFC449A402DAB71250CA5869CC8CE396`.
- The Thales Simulator Library forum post https://thales46.rssing.com/chan-7465905/article256.html: three
  ZMK components encrypted at the console (EC, key type 000, scheme 0) and combined with FK give the ZMK
  2B77B300B25494A2, check value 0EB795 — the same operation as A4 with key type 000.
- ThalesSim's GY test (same source): the ZMK of the `3000XX…` vector under scheme U is
  U369835189A058604EB7F84EAE10C7D04, check value 8CE396.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import a4
from tests import oracle
from tests.commands import in_component, native
from tests.tcp import exchange

TPK_COMPONENTS = "3B723AF4CF00A7A6954111D254A90D17EAAF49979FA95742"  # three 16 H, key type 002
ZMK_COMPONENTS = "X2EC8A0412B5D0E86E3C1E5ABFA19B3F5XFF43378ED5D85B1BC465BF000335FBF1XA235EDF4C58A2CB0C84641D07319CF21"
FORUM_COMPONENTS = "42D51505B7CFC4619FB1185F9741502A619E36FE513CEA21"  # clear 43455E25297CD946, 834CDF1052761FBA, 5DD51A9BE957F71A
ZMK_SINGLE = "ACE9B8A0BE50C09B"  # key type 000, clear 0B38AE52E32FEA1F
TPK_SINGLE = "0406FBB23A5214DF"  # key type 002, clear 0B681FC20E62C734


def clear_components(key_type: str, components: str) -> list[bytes]:
    """The clear values of three components under the LMK pair of `key_type`."""
    *fields, rest = oracle.split_keys(components, 3)
    assert rest == ""
    return [oracle.from_lmk(key_type, field) for field in fields]


# Two components: the XOR of two odd-parity bytes has even parity, so A4 must force parity.
TWO_CLEAR = ["0123456789ABCDEF", "FEDCBA9876543210"]
TWO_UNDER_LMK = "".join(oracle.to_lmk("002", "Z", bytes.fromhex(c)) for c in TWO_CLEAR)
TWO_KEY = oracle.with_odd_parity(oracle.xor([bytes.fromhex(c) for c in TWO_CLEAR]))
TWO_ANSWER = f"00{oracle.to_lmk('002', 'Z', TWO_KEY)}{oracle.kcv(TWO_KEY, 6)}".encode()

CASES = [
    (f"3002Z{TPK_COMPONENTS}", b"00FE018240022A76DCA192FE"),
    (f"3000X{ZMK_COMPONENTS}", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE396"),
    (f"3000U{ZMK_COMPONENTS}", b"00U369835189A058604EB7F84EAE10C7D048CE396"),
    (f"3000x{ZMK_COMPONENTS.lower()}%00", b"00XC0BC1DFFC449A402DAB71250CA5869CC8CE396"),
    (f"3000Z{FORUM_COMPONENTS}", b"002B77B300B25494A20EB795"),
    (f"2002Z{TWO_UNDER_LMK}", TWO_ANSWER),
    (f"9002Z{TPK_COMPONENTS}{TPK_COMPONENTS}{TPK_COMPONENTS}", b"00FE018240022A76DCA192FE"),  # 3 × the same XOR
    (f"1002Z{TPK_SINGLE}", b"03"),
    (f"0002Z{TPK_SINGLE}", b"03"),
    (f"A002Z{TPK_SINGLE}{TPK_SINGLE}", b"15"),  # count not a digit
    (f"3FFFZ{TPK_COMPONENTS}", b"04"),
    (f"3002Q{TPK_COMPONENTS}", b"26"),
    (f"3002U{TPK_COMPONENTS}", b"27"),  # single-length key, double-length scheme
    (f"3000T{ZMK_COMPONENTS}", b"27"),
    (f"2000X{ZMK_COMPONENTS[:33]}{ZMK_SINGLE}", b"27"),  # components of different lengths
    (f"2002Z{TPK_SINGLE}{TPK_SINGLE}", b"11"),  # equal components XOR to zero
    (f"2002Z{ZMK_SINGLE}{TPK_SINGLE}", b"10"),  # a ZMK component fails the parity check under 14-15
    (f"2002Z{TPK_SINGLE}{ZMK_SINGLE}", b"10"),
    (f"3002Z{TPK_COMPONENTS[:-16]}", b"15"),  # one component short
    (f"3002Z{TPK_COMPONENTS[:-1]}", b"15"),  # last component truncated
    (f"2002Z{TPK_COMPONENTS[:-1]}G", b"15"),  # not hex
    (f"2002Z{TPK_COMPONENTS}", b"15"),  # more components than declared
    ("3002", b"15"),  # no key scheme
    ("30", b"15"),
    ("", b"15"),
    (f"3002Z{TPK_COMPONENTS}%01", b"13"),  # LMK 01 not loaded
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    # 3002Z: plain 14-15, XOR of three, already odd parity.
    key = oracle.xor(clear_components("002", TPK_COMPONENTS))
    assert key.hex().upper() == "89155768A7CB9B37"
    assert oracle.to_lmk("002", "Z", key) == "FE018240022A76DC"
    assert oracle.kcv(key, 6) == "A192FE"
    # 3000X: each X component is two ECB blocks under plain 04-05.
    zmk = oracle.xor(clear_components("000", ZMK_COMPONENTS))
    assert zmk.hex().upper() == "4358A82A0DCD23A86EC8FBD09D437592"
    assert oracle.to_lmk("000", "X", zmk) == "XC0BC1DFFC449A402DAB71250CA5869CC"
    assert oracle.kcv(zmk, 6) == "8CE396"
    # Scheme U: left half under 04-05 with byte 8 ^ A6, right half with ^ 5A.
    assert oracle.to_lmk("000", "U", zmk) == "U369835189A058604EB7F84EAE10C7D04"
    # The forum's console components.
    parts = clear_components("000", FORUM_COMPONENTS)
    assert [p.hex().upper() for p in parts] == ["43455E25297CD946", "834CDF1052761FBA", "5DD51A9BE957F71A"]
    forum = oracle.xor(parts)
    assert forum.hex().upper() == "9DDC9BAE925D31E6"
    assert oracle.to_lmk("000", "Z", forum) == "2B77B300B25494A2"
    assert oracle.kcv(forum, 6) == "0EB795"
    # Two components: parity really had to be forced.
    assert oracle.xor([bytes.fromhex(c) for c in TWO_CLEAR]) != TWO_KEY


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_a4_known_answers_and_error_codes(host: Host, request_: str, answer: bytes) -> None:
    assert native(a4, host, request_.encode()) == answer


@pytest.mark.wasm
def test_a4_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "A4.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_.encode()) == native(a4, host, request_.encode()), request_


@pytest.mark.wasm
async def test_a4_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, f"A43002Z{TPK_COMPONENTS}".encode(), f"A41002Z{TPK_SINGLE}".encode()) == [
        b"A500FE018240022A76DCA192FE",
        b"A503",
    ]


# --------------------------------------------------------------------------- key blocks (key-block LMKs)
# Components generated by A0 in key blocks (key versions c1, c2) under the 3DES and AES key-block test
# LMKs, opened by the independent key-block oracle (tests/kb_oracle.py): the key is their XOR.


@pytest.mark.parametrize(("lmk", "algorithm", "kbpk"), [("01", "T2", "K3"), ("02", "A2", "KA")])
def test_a4_forms_a_key_block_from_key_block_components(lmk: str, algorithm: str, kbpk: str) -> None:
    from logic import a0
    from tests import kb_oracle

    host = kb_oracle.make_host()
    key = getattr(kb_oracle, kbpk)
    parts = [native(a0, host, f"0FFFS%{lmk}#P0{algorithm}Bc{n}N00".encode())[2:-6].decode() for n in (1, 2)]
    answer = native(a4, host, f"2FFFS{parts[0]}{parts[1]}%{lmk}".encode())
    assert answer[:2] == b"00"
    header, clear = kb_oracle.open_block(key, answer[2:-6].decode())
    clears = [kb_oracle.open_block(key, part)[1] for part in parts]
    combined = bytes(a ^ b for a, b in zip(*clears, strict=True))
    assert clear == (combined if algorithm[0] == "A" else oracle.with_odd_parity(combined))
    assert header[5:9] == f"P0{algorithm[0]}B" and header[9:11] == "00"  # the components' header, key version 00
    check = kb_oracle.aes_kcv(clear) if algorithm[0] == "A" else oracle.kcv(clear, 6)
    assert answer[-6:].decode() == check


def test_a4_refuses_key_block_components_that_disagree() -> None:
    from logic import a0
    from tests import kb_oracle

    host = kb_oracle.make_host()
    pin_key = native(a0, host, b"0FFFS%01#P0T2Bc1N00")[2:-6].decode()
    mac_key = native(a0, host, b"0FFFS%01#M1T2Cc2N00")[2:-6].decode()
    encrypt_only = native(a0, host, b"0FFFS%01#P0T2Ec2N00")[2:-6].decode()
    assert native(a4, host, f"2FFFS{pin_key}{mac_key}%01".encode()) == b"A6"  # usage
    assert native(a4, host, f"2FFFS{pin_key}{encrypt_only}%01".encode()) == b"A8"  # mode of use
    assert native(a4, host, f"2FFFS{pin_key}{pin_key}%01".encode()) == b"11"  # the same component twice: zeros


# REAL (softwaregroup-bg/ut-codec-payshield test/config/test.js, formKeyFromComponents encode 2 and
# decode 3): two BDK components a payShield 10K made under its LMK 01 (the 3DES key-block test LMK),
# sent with `#0000`, and the unit's answer.
UNIT_COMPONENTS = (
    "S0007252TBc1E0001C9ED3207A1A79BCA1CAB8C05FEC9429E2232067D1F9E908F15E9DCA7",
    "S0007252TBc2E000125276E9C8BC0FA0F70109274FAB9647EF89A189C019465182A345009",
)
UNIT_KEY = "S0007252TB00E0001D4B4A265C5273F353729F153FC1C2ADA23DF2D94C76A5EF30466CBAB"


def test_a4_answers_a_real_units_key_block_form_as_the_unit() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host(default=1)
    request = f"2FFFS{UNIT_COMPONENTS[0]}{UNIT_COMPONENTS[1]}".encode()
    _header, clear = kb_oracle.open_block(kb_oracle.K3, UNIT_KEY)
    parts = [kb_oracle.open_block(kb_oracle.K3, part)[1] for part in UNIT_COMPONENTS]
    assert clear == oracle.with_odd_parity(bytes(a ^ b for a, b in zip(*parts, strict=True)))
    assert oracle.kcv(clear, 6) == "2AE082"
    formed = native(a4, host, request + b"#0000")
    assert formed[:2] == b"00" and formed[-6:] == b"2AE082"
    assert kb_oracle.open_block(kb_oracle.K3, formed[2:-6].decode()) == kb_oracle.open_block(kb_oracle.K3, UNIT_KEY)
    plain = native(a4, host, request)  # `#` and its fields are optional (the block's random padding differs)
    assert kb_oracle.open_block(kb_oracle.K3, plain[2:-6].decode()) == kb_oracle.open_block(kb_oracle.K3, UNIT_KEY)
    assert native(a4, host, request + b"#0100") == b"15"  # another key version: not formed by hsmd
    assert native(a4, host, request + b"#00") == b"15"
