"""The trust boundary: no clear key, clear PIN, clear PIN block or LMK material ever enters a plugin's memory.

Every key-management command runs inside its component with keys whose clear
values the test knows (published vectors under the public test LMK, plus every
key the host generates during the run); then every guest linear memory in the
process is read and searched for those clear keys and for every LMK pair, as
bytes and as hex text. The scanner is proven able to see guest memory by a
positive control (bytes a plugin did receive are found) and unable to see host
memory by a negative control (bytes only the host holds are not found).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psec
import pytest

from hsmd.host import TEST_LMK, Host, LmkSet, RequestScope, keys
from hsmd.host.services import PinSettings
from hsmd.runtime import GuestError, Runtime
from tests import guest_memory, oracle
from tests.conftest import link_plugin

pytestmark = pytest.mark.wasm

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"
TPK = "U8463435FC4B4DAA0C49025272C29B12C"
# One request per command of the key-management issue (vectors: research notes / ThalesSim tests).
REQUESTS = {
    "A0": ["0001U", f"1001U{ZMK}U", "0002T", "1000X" + ZMK + "X"],
    "A4": ["3002Z3B723AF4CF00A7A6954111D254A90D17EAAF49979FA95742"],
    "A6": [f"001{ZMK}2B930A07119F93A8Z"],
    "A8": [f"002{ZMK}{TPK}U"],
    "BU": ["0200406FBB23A5214DF", "011U1EF828AA8F6B80EB83E19FBC373F3A85"],
    "FA": [f"{ZMK}2B930A07119F93A8"],
    "GC": [f"{ZMK}BAB32D775A38E4AB"],
    "GG": ["A235EDF4C58A2CB0C84641D07319CF21FF43378ED5D85B1BC465BF000335FBF12EC8A0412B5D0E86E3C1E5ABFA19B3F5"],
    "HC": [f"{TPK};UU1"],
    "IA": [f"{ZMK};UU1"],
    "HA": [f"{TPK};UU0"],
    "FC": [f"{ZMK}XF7D53991678347EFB3026882F724E6EE;XU1"],
    "FE": [f"{ZMK}{TPK};XX1"],
    "N0": ["008"],
    "AE": [f"{TPK}U28DDAEC83617D2F6E2302928B28A54D0"],
    "AG": [f"{TPK}U19D25F349FD03CC3556BB05F65283CA1"],
    "FI": [f"0{ZMK};UU1", f"1{ZMK};XU0"],
    "FK": ["14ED06495741C280CXFF85E926874B18C660410136CE46BD48;ZU0"],  # under a single-length ZMK
    "FM": ["14ED06495741C280CUE84C6E8F364BB594D2F59F6E8A6BBBF5", f"1{ZMK}UE84C6E8F364BB594D2F59F6E8A6BBBF5"],
    "GY": ["3" + "2EC8A0412B5D0E86E3C1E5ABFA19B3F5FF43378ED5D85B1BC465BF000335FBF1A235EDF4C58A2CB0C84641D07319CF21"],
}
KNOWN_CLEAR_KEYS = [
    "851A0D9D0B2A1602622AD0B0E9E6B070",  # the ZMK
    "D3DCC7EA9BCB755D254620B376B3D007",  # the TPK
    "13F10E5D868A529E",  # ZPK under the ZMK
    "0B681FC20E62C734",  # TPK under 14-15
    "4358A82A0DCD23A86EC8FBD09D437592",  # GG/A4 ZMK
    "C7152C20BC2C830EA7EC9E8334ABE3FE",  # BU ZPK
    "DF58979E94580B7985AE4A5D8954BAD9",  # AE's stored key
    "7962D9ECE03D1ACD4C76089DCE131543",  # AG's TAK
    "C226AB6E8A4C941F91CEBCE96BF7C498",  # FM's ZAK
    "92382661F8DF9DA87A31EFC88A917545",  # FK's ZAK
]


def forms(name: str, secret: bytes) -> dict[str, bytes]:
    return {f"{name} (bytes)": secret, f"{name} (hex)": secret.hex().upper().encode(), f"{name} (hex lower)": secret.hex().encode()}


def test_scanner_sees_what_a_guest_received(runtime: Runtime, plugin_dir: Path) -> None:
    zf = runtime.load(plugin_dir / "ZF.wasm")
    sentinel = b"E" + secrets.token_hex(12).encode()
    runtime.execute(zf, sentinel, RequestScope("t"))
    assert guest_memory.find({"sentinel": sentinel[1:]}) == ["sentinel"]


def test_scanner_does_not_see_host_memory(runtime: Runtime, plugin_dir: Path) -> None:
    runtime.load(plugin_dir / "ZF.wasm")
    host_only = secrets.token_bytes(16)
    assert guest_memory.find(forms("host only", host_only)) == []


def test_no_clear_key_or_lmk_reaches_any_plugin(
    host: Host, runtime: Runtime, built_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated: list[bytes] = []
    real_generate = keys.generate

    def recording_generate(length: int) -> bytes:
        key = real_generate(length)
        generated.append(key)
        return key

    monkeypatch.setattr(keys, "generate", recording_generate)
    for command in REQUESTS:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    plugins, refused = runtime.load_dir(tmp_path)
    assert refused == []
    assert sorted(plugins) == sorted(REQUESTS)
    for command, requests in REQUESTS.items():
        for request in requests:
            try:
                answer = runtime.execute(plugins[command], request.encode(), RequestScope(command))
            except GuestError as exc:
                raise AssertionError(f"{command} {request}: error {exc.code} {exc.reason}") from None
            assert answer[:2] == b"00", (command, request, answer)

    needles: dict[str, bytes] = {}
    for i, pair in enumerate(TEST_LMK.pairs):
        needles |= forms(f"LMK pair {2 * i:02d}-{2 * i + 1:02d}", pair)
    for clear in KNOWN_CLEAR_KEYS:
        needles |= forms(f"known key {clear[:4]}…", bytes.fromhex(clear))
    for i, key in enumerate(generated):
        needles |= forms(f"generated key {i}", key)
    # Pairs 09 and 19 of the test LMK are all 0x01, and some keys repeat across vectors:
    # drop needles too short or too common to mean anything (8 equal bytes could be anything).
    needles = {name: n for name, n in needles.items() if len(set(n)) > 2}
    assert generated, "the run generated no keys: the test would prove nothing about them"
    assert guest_memory.find(needles) == []


def _pin_requests(host: Host) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """One or more requests for every command of the PIN issue but BA and NG (which carry clear
    PINs by definition), with fresh keys and 12-digit PINs the test knows; and the secrets to look for."""
    from hsmd.host import pins

    def key(length: int) -> bytes:
        return oracle.with_odd_parity(secrets.token_bytes(length))

    def pin12() -> str:
        return "".join(secrets.choice("123456789") for _ in range(12))

    tpk, zpk, zpk2, pvk, pvk_pair, cvk, mk_ac, mk_cvc3 = key(16), key(16), key(24), key(8), key(16), key(16), key(16), key(16)
    tpk_f, zpk_f, zpk2_f = oracle.to_lmk("002", "U", tpk), oracle.to_lmk("001", "U", zpk), oracle.to_lmk("001", "T", zpk2)
    pvk_f, pair_f, cvk_f = oracle.to_lmk("002", "Z", pvk), oracle.to_lmk("002", "U", pvk_pair), oracle.to_lmk("402", "U", cvk)
    mk_ac_f, mk_cvc3_f = oracle.to_lmk("109", "U", mk_ac), oracle.to_lmk("709", "U", mk_cvc3)
    account, table, vd_field = "400000123456", "0123456789012345", "4000001234N2"
    vd = oracle.ibm_validation_data(vd_field, account)
    pin = pin12()
    clear_block = pins.encode("01", pin, account)
    under_tpk = psec.des.encrypt_tdes_ecb(tpk, clear_block).hex().upper()
    under_zpk = psec.des.encrypt_tdes_ecb(zpk, clear_block).hex().upper()
    scope = RequestScope("boundary")
    under_lmk = host.pin_to_lmk(scope, _issue_pin(scope, pin), account, None)
    offset = oracle.ibm_offset(pvk, table, pin, vd).ljust(12, "F")
    pvv = oracle.visa_pvv(pvk_pair, account, 1, pin)
    requests = {
        "JA": [f"{account}12"],
        "JC": [f"{tpk_f}{under_tpk}01{account}"],
        "JE": [f"{zpk_f}{under_zpk}01{account}"],
        "JG": [f"{zpk2_f}01{account}{under_lmk}", f"{zpk2_f}47{account}{under_lmk}"],
        "CA": [f"{tpk_f}{zpk_f}12{under_tpk}0103{account}", f"{tpk_f}{zpk2_f}12{under_tpk}0105{account}"],
        "CC": [f"{zpk_f}{zpk2_f}12{under_zpk}0147{account}"],
        "BC": [f"{tpk_f}{under_tpk}01{account}{under_lmk}"],
        "BE": [f"{zpk_f}{under_zpk}01{account}{under_lmk}"],
        "DA": [f"{tpk_f}{pvk_f}12{under_tpk}0104{account}{table}{vd_field}{offset}"],
        "EA": [f"{zpk_f}{pvk_f}12{under_zpk}0104{account}{table}{vd_field}{offset}"],
        "DE": [f"{pvk_f}{under_lmk}04{account}{table}{vd_field}"],
        "EE": [f"{pvk_f}{offset}04{account}{table}{vd_field}"],
        "BK": [f"001{zpk_f}{pvk_f}{under_zpk}0104{account}{table}{vd_field}"],
        "DC": [f"{tpk_f}{pair_f}{under_tpk}01{account}1{pvv}"],
        "EC": [f"{zpk_f}{pair_f}{under_zpk}01{account}1{pvv}"],
        "DG": [f"{pair_f}{under_lmk}{account}1"],
        "FW": [f"002{tpk_f}{pair_f}{under_tpk}01{account}1"],
        "CU": [f"001{zpk_f}{pair_f}{under_zpk}01{account}1{pvv}{under_zpk}"],
        "DU": [f"002{tpk_f}{pvk_f}{under_tpk}0104{account}{table}{vd_field}{offset}{under_tpk}"],
        "CW": [f"{cvk_f}4000001234562;2512101"],
        "CY": [f"{cvk_f}0004000001234562;2512101"],  # a wrong CVV (01) most of the time: the host computes it all the same
        "PM": [
            f"00{mk_ac_f}A4000001234562;2512101000123456",
            f"10{mk_cvc3_f}A4000001234562;00019{'4000001234562D2512101000000000000F'.ljust(38, 'F')}0000000100001XX123",
        ],
    }
    secrets_ = {"PIN": pin.encode(), "PIN block": clear_block, "TPK": tpk, "ZPK": zpk, "ZPK 2": zpk2, "PVK": pvk}
    secrets_ |= {"PVK pair": pvk_pair, "CVK": cvk, "MK-AC": mk_ac, "MK-CVC3": mk_cvc3}
    return requests, secrets_


def _issue_pin(scope: RequestScope, pin: str) -> int:
    from hsmd.host.services import HeldPin

    return scope.issue(HeldPin(pin))


def test_no_clear_pin_pin_block_or_key_reaches_any_plugin(
    host: Host, runtime: Runtime, built_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hsmd.host import cards, pins

    seen: dict[str, bytes] = {}

    def recording(name: str, fn: Callable[..., Any], pick: Callable[[Any, tuple[Any, ...]], bytes]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            result = fn(*args)
            seen[f"{name} {len(seen)}"] = pick(result, args)
            return result

        return wrapper

    # Every clear PIN, PIN block and derived key the host makes while the commands run.
    monkeypatch.setattr(pins, "random_pin", recording("random PIN", pins.random_pin, lambda r, a: r.encode()))
    monkeypatch.setattr(pins, "encode", recording("encoded block", pins.encode, lambda r, a: r))
    monkeypatch.setattr(pins, "decode", recording("decoded block", pins.decode, lambda r, a: a[1]))
    monkeypatch.setattr(pins, "ibm_pin", recording("derived PIN", pins.ibm_pin, lambda r, a: r.encode()))
    monkeypatch.setattr(cards, "derive_icc_key", recording("card key", cards.derive_icc_key, lambda r, a: r))
    requests, known = _pin_requests(host)
    for command in requests:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    plugins, refused = runtime.load_dir(tmp_path)
    assert refused == [] and sorted(plugins) == sorted(requests)
    for command, command_requests in requests.items():
        for request in command_requests:
            try:
                answer = runtime.execute(plugins[command], request.encode(), RequestScope(command))
            except GuestError as exc:
                raise AssertionError(f"{command} {request}: error {exc.code} {exc.reason}") from None
            assert answer[:2] in (b"00", b"01", b"02"), (command, request, answer)

    by_value: dict[bytes, str] = {}  # blocks repeat (the same PIN encoded again): look for each once
    for name, value in (known | seen).items():
        for form_name, form in (forms(name, value) if not value.isdigit() else {name: value}).items():
            by_value.setdefault(form, form_name)
    needles = {name: n for n, name in by_value.items() if len(set(n)) > 2 and len(n) >= 8}
    assert any(name.startswith("random PIN") for name in seen) and any(name.startswith("derived PIN") for name in seen)
    assert guest_memory.find(needles) == []


# The MAC, data, EMV and DUKPT commands: every known-answer request of each, in its component.
CRYPTO_COMMANDS = ("MA", "MC", "ME", "MS", "M6", "M8", "MY", "M0", "M2", "M4", "KQ", "KW", "CI", "G0", "GO", "GQ", "GW", "PM")


def test_no_clear_key_derived_key_or_pin_block_reaches_the_mac_data_emv_and_dukpt_plugins(
    host: Host, runtime: Runtime, built_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from hsmd.host import cards, dukpt, emv, pins

    seen: dict[str, bytes] = {}

    def recording(name: str, fn: Callable[..., Any], pick: Callable[[Any, tuple[Any, ...]], bytes]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            seen[f"{name} {len(seen)}"] = pick(result, args)
            return result

        return wrapper

    # Every clear key the host takes from under the LMK or a KEK, every key it derives, every clear PIN block.
    monkeypatch.setattr(keys, "decrypt", recording("clear key", keys.decrypt, lambda r, a: r))
    monkeypatch.setattr(cards, "derive_icc_key", recording("card key", cards.derive_icc_key, lambda r, a: r))
    monkeypatch.setattr(emv, "session_key", recording("session key", emv.session_key, lambda r, a: r))
    monkeypatch.setattr(dukpt, "tdes_key", recording("DUKPT key", dukpt.tdes_key, lambda r, a: r))
    monkeypatch.setattr(dukpt, "des_pin_key", recording("DUKPT DES key", dukpt.des_pin_key, lambda r, a: r))
    monkeypatch.setattr(pins, "decode", recording("clear PIN block", pins.decode, lambda r, a: a[1]))
    monkeypatch.setattr(pins, "encode", recording("clear PIN block", pins.encode, lambda r, a: r))
    for command in CRYPTO_COMMANDS:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    plugins, refused = runtime.load_dir(tmp_path)
    assert refused == []
    # What the guests hold before any request: their code and data (CPython's MD5 and SHA-1 initial
    # values are the bytes of the classic test key 0123456789ABCDEFFEDCBA9876543210; its hex digits
    # are everywhere). A secret is a finding only where the run put it. Instances are made on first
    # use: make them now, so their starting memory is in the picture.
    for plugin in plugins.values():
        plugin.instance()
    before = list(guest_memory.snapshots())
    answered = 0
    for command in CRYPTO_COMMANDS:
        cases = importlib.import_module(f"tests.test_cmd_{command.lower()}").CASES
        for request, _ in cases:
            data = request if isinstance(request, bytes) else request.encode()
            # An error answer counts too: the keys it decrypted before refusing are looked for all the same.
            with contextlib.suppress(GuestError):
                answered += runtime.execute(plugins[command], data, RequestScope(command))[:2] == b"00"

    by_value: dict[bytes, str] = {}
    for name, value in seen.items():
        for form_name, form in forms(name, value).items():
            by_value.setdefault(form, form_name)
    needles = {name: n for n, name in by_value.items() if len(set(n)) > 2 and not any(n in memory for memory in before)}
    assert answered > 100 and len(needles) > 100, (answered, len(needles))
    assert guest_memory.find(needles) == []


# The RSA and ECC commands: EI makes a key pair in the guest's sight, EW signs with it, GK exports a
# known ZPK under an outside party's public key, GI imports one back, FY makes an ECC pair.
ASYMMETRIC_COMMANDS = ("EI", "EW", "GK", "GI", "FY")


def test_no_private_key_or_transported_key_reaches_the_rsa_and_ecc_plugins(
    host: Host, runtime: Runtime, built_plugins: Path, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa

    from hsmd.host import rsa
    from tests import test_cmd_ei, test_cmd_gi, test_cmd_gk

    for command in ASYMMETRIC_COMMANDS:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    plugins, refused = runtime.load_dir(tmp_path)
    assert refused == []
    for plugin in plugins.values():
        plugin.instance()
    before = list(guest_memory.snapshots())

    def run(command: str, request: bytes) -> bytes:
        answer = runtime.execute(plugins[command], request, RequestScope(command))
        assert answer[:2] == b"00", (command, answer[:2])
        return answer

    public_key, private_key = test_cmd_ei.split_ej(run("EI", b"2102402"))  # both uses, 1024 bits, strict DER
    run("EW", b"06" + b"0101" + b"0011" + b"hello world" + b";99" + f"{len(private_key):04d}".encode() + private_key)
    clear_zpk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    zpk = test_cmd_gk.zpk("U", clear_zpk)
    outside = crypto_rsa.generate_private_key(65537, 1024)
    outside_der = outside.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    mac = bytes.fromhex(oracle.public_key_mac(outside_der, b""))
    run("GK", test_cmd_gk.request(b"0101", "0600", "1", zpk, oracle.kcv(clear_zpk), mac=mac, public_key=outside_der, auth_data=b""))
    imported = oracle.with_odd_parity(bytes.fromhex("F1F2F3F4F5F6F7F8E9EAEBECEDEEEFE0"))
    encrypted = serialization.load_der_public_key(public_key).encrypt(imported, padding.PKCS1v15())  # type: ignore[union-attr]
    run("GI", test_cmd_gi.request(b"0101", "0600", encrypted, private_key))
    fz = run("FY", b"01" + b"00" + b"03")

    numbers = rsa.open_rsa(TEST_LMK, private_key).key.private_numbers()
    needles: dict[str, bytes] = {}
    for i, pair in enumerate(TEST_LMK.pairs):
        needles |= forms(f"LMK pair {2 * i:02d}-{2 * i + 1:02d}", pair)
    for name, value in (("p", numbers.p), ("q", numbers.q), ("d", numbers.d), ("dP", numbers.dmp1), ("dQ", numbers.dmq1)):
        needles |= forms(f"RSA {name}", value.to_bytes((value.bit_length() + 7) // 8, "big"))
    length = int(fz[2:6])
    ecc_private = fz[6 + length + 4 :]
    scalar = rsa.open_ecc(TEST_LMK, ecc_private).private_numbers().private_value
    needles |= forms("ECC scalar", scalar.to_bytes(32, "big"))
    needles |= forms("exported ZPK", clear_zpk[:8]) | forms("exported ZPK right", clear_zpk[8:])
    needles |= forms("imported key", imported)
    # Only what this run put there counts: a needle already in a guest's starting memory is no finding.
    needles = {name: n for name, n in needles.items() if len(set(n)) > 2 and not any(n in memory for memory in before)}
    assert len(needles) > 40, len(needles)
    assert guest_memory.find(needles) == []


# AES keys at work under a key-block LMK: CMAC and CBC-MAC (M6), AES data keys and AES DUKPT (M0, GW),
# format 48 PIN blocks (CA, G0, JC), key-block components (A4), and a key block exported under a public key block (GK).
AES_COMMANDS = ("M6", "M0", "CA", "G0", "GW", "A4", "JC", "GK")


def test_no_clear_aes_key_derived_key_or_pin_reaches_the_plugins(
    built_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hsmd.host import dukpt, keyblock
    from tests import kb_oracle, test_cmd_gk, test_cmd_jc
    from tests.commands import key_block
    from tests.conftest import make_runtime
    from tests.test_cmd_eo import eo_block
    from tests.test_cmd_m6 import aes_cases, aes_mac_key

    seen: list[bytes] = []

    def recording(fn: Callable[..., Any], pick: Callable[[Any], bytes]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            seen.append(pick(result))
            return result

        return wrapper

    # Every key the host opens from a block or wraps into one, and every AES DUKPT key it derives.
    monkeypatch.setattr(keyblock, "unwrap", recording(keyblock.unwrap, lambda r: r[1]))
    monkeypatch.setattr(dukpt, "aes_key", recording(dukpt.aes_key, lambda r: r))
    host = kb_oracle.make_host()

    def generated(header: str) -> tuple[str, bytes]:
        return key_block(host, "02", header)

    zek, _ = generated("D0A1B00N00")
    bdk, bdk_clear = generated("B0A1X00N00")
    zpk, _ = generated("P0A2B00N00")
    tpk, tpk_clear = generated("P0A1B00N00")
    parts = [generated(f"P0A2Bc{n}N00")[0] for n in (1, 2)]
    exported, exported_clear = generated("P0T2B00S00")  # a TDES ZPK GK may export
    ksn, pan, pin = "123456789012345600000005", "4111111111111111", "246813"
    source = oracle.iso4_encrypt(oracle.aes_dukpt_key(bdk_clear, ksn, "pin"), pin, pan)
    data = bytes(range(48))
    requests = {
        "M6": [request for request, _ in aes_cases(*aes_mac_key(host))],
        "M0": [f"0111FFF{zek}{'00' * 16}0060{data.hex().upper()}%02".encode(), f"0011FFF{bdk}A05{ksn}0040{data[:32].hex()}%02".encode()],
        "CA": [f"{tpk}{zpk}12{oracle.iso4_encrypt(tpk_clear, pin, pan)}4848{pan};%02".encode()],
        "G0": [f"{bdk}{zpk}A05{ksn}{source}4848{pan};%02".encode()],
        "GW": [f"45{bdk}A05{ksn}0024".encode() + b"4321ABCD" * 3 + b"%02"],
        "A4": [f"2FFFS{parts[0]}{parts[1]}%02".encode()],
        "JC": [test_cmd_jc.aes_cases(host)[0][0].encode()],
        "GK": [test_cmd_gk.kb_request(b"0101", exported, oracle.kcv(exported_clear), eo_block(2, "E00N00", test_cmd_gk.OUTSIDE_KEY), 2)],
    }
    for command in AES_COMMANDS:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    with make_runtime(host) as runtime:
        plugins, refused = runtime.load_dir(tmp_path)
        assert refused == []
        for plugin in plugins.values():
            plugin.instance()
        before = list(guest_memory.snapshots())
        seen.clear()  # the keys generated above were opened by the test, not by a plugin's request
        answered = 0
        for command, bodies in requests.items():
            for body in bodies:
                with contextlib.suppress(GuestError):
                    answered += runtime.execute(plugins[command], body, RequestScope(command))[:2] == b"00"
        needles: dict[bytes, str] = {}
        for i, secret in enumerate(seen):
            for name, form in forms(f"AES key {i}", secret).items():
                if not any(form in memory for memory in before):
                    needles[form] = name
        assert answered >= 10 and len(seen) >= 10, (answered, len(seen))
        assert guest_memory.find({name: form for form, name in needles.items()}) == []


def test_no_clear_key_pin_or_lmk_of_a_migration_reaches_the_bw_and_bg_plugins(built_plugins: Path, tmp_path: Path) -> None:
    # BW and BG read under the old LMK in key change storage and write under the new one: neither LMK,
    # nor a migrated key, nor the PIN crosses into the plugin.
    from tests.conftest import make_runtime
    from tests.migration import NEW_LMK, migrating_host

    hsm = migrating_host(authorised=True)
    scope = RequestScope("setup")
    tpk = oracle.with_odd_parity(secrets.token_bytes(16))
    pin = "739158264713"
    old_host = Host(LmkSet({0: TEST_LMK}), "0007-E000", pin_settings=PinSettings(authorised=True))
    pin_old = old_host.pin_to_lmk(scope, old_host.pin_from_clear(scope, pin), "400000123456", None)
    requests = {"BW": [f"021{oracle.to_lmk('002', 'U', tpk)}", f"001{ZMK};0X0"], "BG": [f"400000123456{pin_old}"]}
    for command in requests:
        link_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
    with make_runtime(hsm) as runtime:
        plugins, refused = runtime.load_dir(tmp_path)
        assert refused == []
        for command, command_requests in requests.items():
            for request in command_requests:
                assert runtime.execute(plugins[command], request.encode(), RequestScope(command))[:2] == b"00", (command, request)
        needles: dict[str, bytes] = {"PIN": pin.encode()}
        for name, lmk in (("old", TEST_LMK), ("new", NEW_LMK)):
            for i, pair in enumerate(lmk.pairs):
                needles |= forms(f"{name} LMK pair {2 * i:02d}-{2 * i + 1:02d}", pair)
        needles |= forms("TPK", tpk) | forms("ZMK", bytes.fromhex("851A0D9D0B2A1602622AD0B0E9E6B070"))
        needles = {name: n for name, n in needles.items() if len(set(n)) > 2}
        assert guest_memory.find(needles) == []
