"""The host's key core: schemes, variants, parity, key types, handles, enforced usage.

Vectors: keys under the public test LMK published in ThalesSim's host-command tests
(nickntg/thalessimulatorlibrary, ThalesCore.Tests/HostCommandTests.vb), each checked
here against psec (an independent DES implementation) as well as against hsmd.
"""

from __future__ import annotations

import psec
import pytest

from hsmd.host import TEST_LMK, Host, HostError, LmkSet, RequestScope, keys
from hsmd.host.key_types import KeyTypeTable

# (key type, key under the test LMK, clear key, check value)
VECTORS = [
    ("002", "0406FBB23A5214DF", "0B681FC20E62C734", "0035BBE340A4B763"),
    ("000", "ACE9B8A0BE50C09B", "0B38AE52E32FEA1F", "4BD5E2482582C2C4"),
    ("000", "U93CB819F8FEE4F78BF9C4CDD84750DB1", "BA134F1680987CA7AB4A2A01B3E3F1BF", "B70AD25C94548822"),
    ("001", "U1EF828AA8F6B80EB83E19FBC373F3A85", "C7152C20BC2C830EA7EC9E8334ABE3FE", "6F1E3F74F826B7EB"),
    ("000", "XC0BC1DFFC449A402DAB71250CA5869CC", "4358A82A0DCD23A86EC8FBD09D437592", "8CE39643DA9A9B99"),
    ("402", "U9B4934384B19946B040CD702B4D58145", "0123456789ABCDEFFEDCBA9876543210", "08D7B4FB629D0885"),
    ("009", "U8E3D3E2FD5919657F05A1AA90D32A014", "0123456789ABCDEFFEDCBA9876543210", "08D7B4FB629D0885"),
    ("00A", "U913248D2781448EB99849CFFE39768AD", "C226AB6E8A4C941F91CEBCE96BF7C498", None),
    ("008", "U9564EC9D49DE4E59BE82FE34B5CB1786", "92382661F8DF9DA87A31EFC88A917545", None),
]


@pytest.fixture
def scope() -> RequestScope:
    return RequestScope("t")


def held_clear(scope: RequestScope, handle: int) -> bytes:
    return scope.key(handle).clear


@pytest.mark.parametrize(("key_type", "encrypted", "clear", "kcv"), VECTORS)
def test_published_keys_decrypt_under_the_test_lmk(
    host: Host, scope: RequestScope, key_type: str, encrypted: str, clear: str, kcv: str | None
) -> None:
    handle = host.key_from_lmk(scope, key_type, encrypted, None)
    assert held_clear(scope, handle).hex().upper() == clear
    assert host.key_check_value(scope, handle) == psec.des.generate_kcv(bytes.fromhex(clear), 8).hex().upper()
    if kcv is not None:
        assert host.key_check_value(scope, handle) == kcv


@pytest.mark.parametrize(("key_type", "encrypted", "clear", "kcv"), VECTORS)
def test_encrypting_the_clear_key_gives_the_published_form_back(
    host: Host, scope: RequestScope, key_type: str, encrypted: str, clear: str, kcv: str | None
) -> None:
    handle = host.key_from_lmk(scope, key_type, encrypted, None)
    assert host.key_to_lmk(scope, handle, keys.EncodedKey.parse(encrypted).scheme, None) == encrypted


@pytest.mark.parametrize("scheme", ["Z", "U", "T", "X", "Y"])
def test_generate_export_import_round_trip_for_every_scheme(host: Host, scope: RequestScope, scheme: str) -> None:
    zmk = host.key_generate(scope, "000", "U")
    key = host.key_generate(scope, "001", scheme)
    under_lmk = host.key_to_lmk(scope, key, scheme, None)
    under_zmk = host.key_to_kek(scope, zmk, key, scheme)
    assert held_clear(scope, host.key_from_lmk(scope, "001", under_lmk, None)) == held_clear(scope, key)
    assert held_clear(scope, host.key_from_kek(scope, zmk, "001", under_zmk)) == held_clear(scope, key)


def test_generated_keys_have_odd_parity_and_distinct_halves() -> None:
    for length in (8, 16, 24):
        key = keys.generate(length)
        assert keys.odd_parity(key)
        assert len({key[i : i + 8] for i in range(0, length, 8)}) == length // 8


def test_u_scheme_matches_psec_with_the_documented_variants(host: Host, scope: RequestScope) -> None:
    clear = bytes.fromhex("C7152C20BC2C830EA7EC9E8334ABE3FE")
    pair = bytes.fromhex("61616161616161617070707070707070")  # 06-07, ZPK
    left = psec.des.encrypt_tdes_ecb(pair[:8] + bytes([pair[8] ^ 0xA6]) + pair[9:], clear[:8])
    right = psec.des.encrypt_tdes_ecb(pair[:8] + bytes([pair[8] ^ 0x5A]) + pair[9:], clear[8:])
    handle = host.key_from_lmk(scope, "001", "U" + (left + right).hex().upper(), None)
    assert held_clear(scope, handle) == clear


def test_type_variant_goes_into_byte_0_of_the_pair() -> None:
    pair = bytes(range(16))
    assert keys.type_variant(pair, 4) == bytes([0 ^ 0xDE]) + pair[1:]
    assert keys.type_variant(pair, 0) == pair


# --- errors ---


@pytest.mark.parametrize(
    ("key_type", "encrypted", "code"),
    [
        ("001", "0406FBB23A5214DF", "10"),  # a TPK read as a ZPK: wrong pair, parity fails
        ("0ZZ", "0406FBB23A5214DF", "04"),  # no such key type
        ("001", "U1EF828AA8F6B80EB83E19FBC373F3A8", "15"),  # one hex digit short
        ("001", "Q1EF828AA8F6B80EB83E19FBC373F3A85", "15"),  # no scheme Q
        ("001", "0406FBB23A5214DG", "15"),  # not hex
    ],
)
def test_key_from_lmk_refusals(host: Host, scope: RequestScope, key_type: str, encrypted: str, code: str) -> None:
    with pytest.raises(HostError) as info:
        host.key_from_lmk(scope, key_type, encrypted, None)
    assert info.value.code == code


def test_unknown_lmk_identifier_is_13(host: Host, scope: RequestScope) -> None:
    with pytest.raises(HostError) as info:
        host.key_from_lmk(scope, "002", "0406FBB23A5214DF", 5)
    assert info.value.code == "13"


def test_scheme_that_does_not_fit_the_key_length_is_27(host: Host, scope: RequestScope) -> None:
    key = host.key_generate(scope, "001", "Z")
    with pytest.raises(HostError) as info:
        host.key_to_lmk(scope, key, "U", None)
    assert info.value.code == "27"


def test_unknown_scheme_is_26(host: Host, scope: RequestScope) -> None:
    with pytest.raises(HostError) as info:
        host.key_generate(scope, "001", "Q")
    assert info.value.code == "26"


# --- the host enforces key usage ---


def test_a_zpk_may_not_wrap_keys(host: Host, scope: RequestScope) -> None:
    zpk = host.key_generate(scope, "001", "U")
    key = host.key_generate(scope, "001", "U")
    with pytest.raises(HostError) as info:
        host.key_to_kek(scope, zpk, key, "U")
    assert (info.value.code, info.value.reason) == ("29", "a ZPK (001) may not encrypt or decrypt keys")


def test_a_tmk_may_not_carry_a_zpk(host: Host, scope: RequestScope) -> None:
    tmk = host.key_generate(scope, "002", "U")
    zpk = host.key_generate(scope, "001", "U")
    with pytest.raises(HostError) as info:
        host.key_to_kek(scope, tmk, zpk, "U")
    assert (info.value.code, info.value.reason) == ("29", "a TMK/TPK/PVK (002) may not carry a ZPK (001)")


def test_pci_mode_moves_tmk_off_002() -> None:
    host = Host(LmkSet({0: TEST_LMK}), "0007-E000", KeyTypeTable("pci"))
    scope = RequestScope("t")
    pvk = host.key_generate(scope, "002", "U")
    tmk = host.key_generate(scope, "80D", "U")
    tpk = host.key_generate(scope, "70D", "U")
    host.key_to_kek(scope, tmk, tpk, "U")
    with pytest.raises(HostError) as info:
        host.key_to_kek(scope, pvk, tpk, "U")
    assert info.value.code == "29"


def test_handles_die_with_the_request(host: Host) -> None:
    scope = RequestScope("t")
    handle = host.key_generate(scope, "001", "U")
    scope.close()
    with pytest.raises(HostError) as info:
        host.key_check_value(scope, handle)
    assert info.value.code == "41"


def test_a_handle_from_another_request_is_refused(host: Host) -> None:
    first, second = RequestScope("a"), RequestScope("b")
    handle = host.key_generate(first, "001", "U")
    host.key_generate(second, "001", "U")
    for other in (second, RequestScope("c")):
        with pytest.raises(HostError) as info:
            host.key_check_value(other, handle)
        assert info.value.code == "41"


def test_handles_are_unguessable_not_counters(host: Host) -> None:
    scope = RequestScope("t")
    handles = [host.key_generate(scope, "001", "U") for _ in range(64)]
    assert len(set(handles)) == 64
    assert sorted(handles) != list(range(1, 65))
    assert all(0 < handle < 2**32 for handle in handles)  # a WIT u32
    # Another request's first handle names nothing in this one.
    other = RequestScope("u")
    with pytest.raises(HostError) as info:
        host.key_check_value(other, handles[0])
    assert info.value.code == "41"


_ZMK_COMPONENTS = ("2EC8A0412B5D0E86E3C1E5ABFA19B3F5", "FF43378ED5D85B1BC465BF000335FBF1")


def test_forming_a_key_needs_two_distinct_components(host: Host, scope: RequestScope) -> None:
    first, second = (host.key_from_lmk(scope, "000", k, None) for k in _ZMK_COMPONENTS)
    for parts in ([first], [first, first], [], [first, second, second]):
        with pytest.raises(HostError) as info:
            host.key_combine(scope, "000", parts)
        assert info.value.code == "03", parts


def test_combining_cannot_retype_a_zpk_as_a_zmk(host: Host, scope: RequestScope) -> None:
    zpks = [host.key_generate(scope, "001", "U") for _ in range(2)]
    zmk = host.key_from_lmk(scope, "000", _ZMK_COMPONENTS[0], None)
    for parts in (zpks, [zmk, zpks[0]]):
        with pytest.raises(HostError) as info:
            host.key_combine(scope, "000", parts)
        assert info.value.code == "29"


def test_components_xor_into_a_parity_adjusted_key(host: Host, scope: RequestScope) -> None:
    parts = [
        host.key_from_lmk(scope, "000", k, None)
        for k in ("2EC8A0412B5D0E86E3C1E5ABFA19B3F5", "FF43378ED5D85B1BC465BF000335FBF1", "A235EDF4C58A2CB0C84641D07319CF21")
    ]
    combined = host.key_combine(scope, "000", parts)
    assert host.key_check_value(scope, combined) == "8CE39643DA9A9B99"  # GG vector, ThalesSim


@pytest.mark.parametrize(
    ("mode", "role", "code"), [("non-pci", "TMK", "002"), ("pci", "TMK", "80D"), ("pci", "tpk", "70D"), ("pci", "PVK", "002")]
)
def test_roles_map_to_the_key_types_of_the_active_table(mode: str, role: str, code: str) -> None:
    assert KeyTypeTable(mode).code_for(role) == code  # type: ignore[arg-type]


def test_unknown_role_is_04() -> None:
    with pytest.raises(HostError) as info:
        KeyTypeTable().code_for("XYZ")
    assert info.value.code == "04"
