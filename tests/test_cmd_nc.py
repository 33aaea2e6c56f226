"""NC — Perform diagnostics: known answers, error paths, parity with the component."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, Lmk, LmkSet
from hsmd.runtime import Runtime
from logic import nc
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.conftest import FIRMWARE, make_runtime


def test_check_value_is_pair_00_01_kcv_in_the_real_units_format() -> None:
    # Oracle: the key check value (tests/oracle.py, psec) of the test LMK's pair 00-01 (public test LMK,
    # shared/reference/payshield.md); six hex digits, zero-padded to 16 as real units print.
    kcv = oracle.kcv(TEST_LMK.pairs[0], 6)
    assert kcv == "7D2227"
    assert TEST_LMK.check_value == kcv + "0000000000"


def test_nc_answers_check_value_and_firmware_number(host: Host) -> None:
    # Layout from a payShield 10K capture: HEADNC -> HEADND00 + 16 H check value + 9 A firmware.
    assert native(nc, host, b"") == b"00" + b"7D22270000000000" + FIRMWARE.encode()


def test_nc_selects_the_lmk_named_by_the_identifier() -> None:
    other = Lmk.from_hex(["0123456789ABCDEFFEDCBA9876543210"] * 20)
    host = Host(LmkSet({0: TEST_LMK, 1: other}), FIRMWARE)
    expected = oracle.kcv(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), 6)
    assert native(nc, host, b"%01") == b"00" + expected.encode() + b"0000000000" + FIRMWARE.encode()


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (b"%02", b"13"),  # no LMK 02 loaded
        (b"%0A", b"13"),  # identifier not numeric
        (b"%1", b"13"),  # identifier too short
        (b"X", b"15"),  # NC has no fields
    ],
)
def test_nc_error_codes(host: Host, request_: bytes, code: bytes) -> None:
    assert native(nc, host, request_) == code


@pytest.mark.wasm
@pytest.mark.parametrize("request_", [b"", b"%00", b"%02", b"%0A", b"X"])
def test_nc_component_answers_exactly_as_the_logic_does(runtime: Runtime, plugin_dir: Path, host: Host, request_: bytes) -> None:
    plugin = runtime.load(plugin_dir / "NC.wasm")
    assert in_component(runtime, plugin, request_) == native(nc, host, request_)


# --------------------------------------------------------------------------- key-block LMKs (issue 8)
# LMK 01: the public 3DES key-block test LMK, 02 the AES one (tests/kb_oracle.py).

KEY_BLOCK_CASES = [
    # libiso (rkbalgi/libiso test_key_block_lmk.go): the AES key-block test LMK's check value is 9D04A0,
    # which is AES-CMAC of an empty message under the LMK.
    (b"%02", b"00" + b"9D04A00000000000" + FIRMWARE.encode()),
    # No public source shows a 3DES key-block LMK's NC answer (libiso's 165126 reproduces from nothing
    # tried): hsmd answers the LMK's TDES check value, padded like a variant LMK's (psec computes it here).
    (b"%01", b"00" + oracle.kcv(kb_oracle.K3, 6).encode() + b"0000000000" + FIRMWARE.encode()),
    (b"", b"00" + b"7D22270000000000" + FIRMWARE.encode()),
    (b"%03", b"13"),
]


@pytest.mark.parametrize(("request_", "answer"), KEY_BLOCK_CASES)
def test_nc_answers_each_lmks_check_value_for_its_kind(request_: bytes, answer: bytes) -> None:
    assert native(nc, kb_oracle.make_host(), request_) == answer


def test_nc_without_identifier_answers_a_default_key_block_lmk() -> None:
    assert native(nc, kb_oracle.make_host(default=2), b"")[2:18] == b"9D04A00000000000"


@pytest.mark.wasm
def test_nc_component_answers_key_block_lmks(plugin_dir: Path) -> None:
    with make_runtime(kb_oracle.make_host()) as runtime:
        plugin = runtime.load(plugin_dir / "NC.wasm")
        for request_, answer in KEY_BLOCK_CASES:
            assert in_component(runtime, plugin, request_) == answer
