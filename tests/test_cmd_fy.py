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
from tests.commands import in_component, native
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
    (b"010003#S00S00", b"15"),  # key-block fields: variant LMKs only
    (b"010003%00#S00S00", b"15"),
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
