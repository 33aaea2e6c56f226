"""The trust boundary: no clear key and no LMK material ever enters a plugin's memory.

Every key-management command runs inside its component with keys whose clear
values the test knows (published vectors under the public test LMK, plus every
key the host generates during the run); then every guest linear memory in the
process is read and searched for those clear keys and for every LMK pair, as
bytes and as hex text. The scanner is proven able to see guest memory by a
positive control (bytes a plugin did receive are found) and unable to see host
memory by a negative control (bytes only the host holds are not found).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, RequestScope, keys
from hsmd.runtime import GuestError, Runtime
from tests import guest_memory
from tests.conftest import copy_plugin

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
}
KNOWN_CLEAR_KEYS = [
    "851A0D9D0B2A1602622AD0B0E9E6B070",  # the ZMK
    "D3DCC7EA9BCB755D254620B376B3D007",  # the TPK
    "13F10E5D868A529E",  # ZPK under the ZMK
    "0B681FC20E62C734",  # TPK under 14-15
    "4358A82A0DCD23A86EC8FBD09D437592",  # GG/A4 ZMK
    "C7152C20BC2C830EA7EC9E8334ABE3FE",  # BU ZPK
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
        copy_plugin(built_plugins / f"{command}.wasm", tmp_path, f"{command}.wasm")
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
