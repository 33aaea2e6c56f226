"""FY — Generate an ECC key pair.

The request is the frame mszeu/PayShieldPressureTest (pressureTest.py) sends
a 10K, `FY` `01` `0<curve>` `03`, without its key-block fields; curves 0
P-256, 1 P-384, 2 P-521 and errors D2/D3 as its README and error table (from
"payShield 10K Core Host Commands", PUGD0537-004) give them. The keys are
random: each public key is read back with OpenSSL (`cryptography`) as a
SubjectPublicKeyInfo on the requested curve. hsmd's private key under the
LMK is its own format; EW refuses it as an RSA key (49).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import ew, fy
from tests import kb_oracle
from tests.commands import component_matches_logic, in_component, native
from tests.tcp import exchange

CURVES = {"00": ("secp256r1", 91), "01": ("secp384r1", 120), "02": ("secp521r1", 158)}  # name, SPKI DER length

CASES: list[tuple[bytes, bytes]] = [
    (b"010303", b"D2"),  # curve reference 03
    (b"01XX03", b"D2"),
    (b"010001", b"D3"),  # public key encoding 01
    (b"0100", b"D3"),
    (b"020003", b"15"),  # algorithm 02
    (b"", b"15"),
    (b"010003%01", b"13"),  # LMK 01 not loaded
    (b"010003#S00S00", b"A1"),  # key-block fields with a variant LMK
    (b"010003%00#S00S00", b"A1"),
    (b"010003X", b"15"),
]
GENERATED = [b"010003", b"010103", b"010203%00"]


def split_fz(answer: bytes) -> tuple[bytes, bytes]:
    """FZ's public key and private key, each after its 4 N length, from an answer `00…`."""
    assert answer[:2] == b"00", answer[:2]
    length = int(answer[2:6])
    public_key, rest = answer[6 : 6 + length], answer[6 + length :]
    assert int(rest[:4]) == len(rest) - 4
    return public_key, rest[4:]


def shape(answer: bytes) -> tuple[bytes, str, int]:
    """What two answers to the same FY request share: the code, the curve, the private key's length."""
    if answer[:2] != b"00":
        return answer, "", 0
    public_key, private_key = split_fz(answer)
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    return answer[:2], loaded.curve.name, len(private_key)


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_fy_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(fy, host, request_) == answer


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_fy_public_keys_are_on_the_requested_curve(host: Host, curve: str) -> None:
    name, der_length = CURVES[curve]
    public_key, private_key = split_fz(native(fy, host, f"01{curve}03".encode()))
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    assert (loaded.curve.name, len(public_key)) == (name, der_length)
    assert public_key == loaded.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert private_key and private_key != public_key


def test_every_key_pair_is_new(host: Host) -> None:
    assert native(fy, host, b"010003") != native(fy, host, b"010003")


def test_an_ecc_private_key_is_no_rsa_signing_key(host: Host) -> None:
    _, private_key = split_fz(native(fy, host, b"010003"))
    assert native(ew, host, f"0601010003ABC;99{len(private_key):04d}".encode() + private_key) == b"49"


@pytest.mark.wasm
def test_fy_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "FY.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(fy, host, request_), request_
    for request_ in GENERATED:
        assert shape(in_component(runtime, plugin, request_)) == shape(native(fy, host, request_)), request_


@pytest.mark.wasm
async def test_fy_over_tcp(built_plugins: Path) -> None:
    generated, refused = await exchange(built_plugins, b"FY010103", b"FY010303")
    assert generated[:2] == b"FZ"
    assert shape(generated[2:])[:2] == (b"00", "secp384r1")
    assert refused == b"FZD2"


# --- key-block LMKs: `FY01<curve>03[%nn]#` mode of use (1) · key version (2) · exportability (1) · optional
# blocks (2), the frame mszeu/PayShieldPressureTest sends a 10K (`#S00S00`); aws-samples' payshield/commands.py
# sends mode S (signature) or X (key agreement). FZ 00 · public key length · public key · "S" + the private
# key block (no length; PressureTest's decode_ecc and aws-samples' _decode_fy take the rest as the key). The
# block (usage 03, algorithm E, PKCS#8 key data: hsmd's contents) is opened with tests/kb_oracle.py.

KB_HOST = kb_oracle.make_host()
LMK_KEYS = {1: kb_oracle.K3, 2: kb_oracle.KA}


def split_fz_block(answer: bytes) -> tuple[bytes, str]:
    """FZ's public key and "S" + private key block under a key-block LMK."""
    assert answer[:2] == b"00", answer[:2]
    length = int(answer[2:6])
    return answer[6 : 6 + length], answer[6 + length :].decode("ascii")


KB_CASES: list[tuple[bytes, bytes]] = [
    (b"010003%01", b"A1"),  # a key-block LMK needs the key-block fields
    (b"010003%01#D00S00", b"A8"),  # mode of use D: not one the usage table gives an ECC private key
    (b"010003%01#S!!S00", b"A9"),
    (b"010003%01#S00Q00", b"AA"),
    (b"010003%01#S00SX0", b"AB"),
    (b"010003%01#S00S01DA02", b"AC"),
    (b"010003%01#S00S", b"15"),
    (b"010003%01#S00S00X", b"15"),
    (b"010303%01#S00S00", b"D2"),
    (b"010001%02#S00S00", b"D3"),
]


@pytest.mark.parametrize(("request_", "answer"), KB_CASES)
def test_fy_key_block_error_codes(request_: bytes, answer: bytes) -> None:
    assert native(fy, KB_HOST, request_) == answer


@pytest.mark.parametrize("lmk_id", [1, 2])
@pytest.mark.parametrize("curve", sorted(CURVES))
def test_fy_under_a_key_block_lmk_answers_the_private_key_as_a_block_the_oracle_opens(lmk_id: int, curve: str) -> None:
    name, der_length = CURVES[curve]
    public_key, block = split_fz_block(native(fy, KB_HOST, f"01{curve}03%{lmk_id:02d}#S00S00".encode()))
    loaded = serialization.load_der_public_key(public_key)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    assert (loaded.curve.name, len(public_key)) == (name, der_length)
    header, der = kb_oracle.open_block(LMK_KEYS[lmk_id], block)
    version = "0" if lmk_id == 1 else "1"
    assert header == f"{version}{len(block) - 1:04d}03ES00S00{lmk_id:02d}"
    private = serialization.load_der_private_key(der, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert private.public_key().public_numbers() == loaded.public_numbers()


@pytest.mark.parametrize("mode", ["S", "X", "N"])
def test_the_mode_of_use_goes_into_the_header(mode: str) -> None:
    _, block = split_fz_block(native(fy, kb_oracle.make_host(default=2), f"010003#{mode}01E00".encode()))
    header, _ = kb_oracle.open_block(kb_oracle.KA, block)
    assert header[5:16] == f"03E{mode}01E0002"


def test_an_ecc_key_block_is_no_rsa_signing_key() -> None:
    _, block = split_fz_block(native(fy, KB_HOST, b"010003%01#S00S00"))
    assert native(ew, KB_HOST, b"0601010003ABC;99FFFF" + block.encode() + b"%01") == b"A7"


@pytest.mark.wasm
def test_fy_component_takes_the_key_block_forms_as_the_logic_does(built_plugins: Path) -> None:
    component_matches_logic(built_plugins / "FY.wasm", fy, KB_HOST, KB_CASES)
