"""`hsmd_sdk.Hsm` straight onto the host, no wasm in between.

Logic modules run on this under pytest (fast, exact unit tests against the
real host), in the parity tests (same bytes as through the component) and in
the benchmark's native baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hsmd_sdk import HsmError, KeyHandle, KeyInfo, PinHandle
from hsmd_sdk.hsm import (
    CommandCount,
    EccKeyPair,
    HostConnection,
    ImportedPublicKey,
    LmkStatus,
    LoadBand,
    LogLevel,
    PortTraffic,
    RsaKeyPair,
    UnitStatus,
    converted,
)

from hsmd.host.errors import HostError
from hsmd.host.services import Host, RequestScope

T = TypeVar("T")


def _call(fn: Callable[..., T], *args: Any) -> T:
    """A host method whose refusal becomes the SDK's HsmError, as across the WIT boundary."""
    try:
        return fn(*args)
    except HostError as exc:
        raise HsmError(exc.code, exc.reason) from None


class NativeHsm:
    def __init__(self, host: Host, scope: RequestScope) -> None:
        self._host = host
        self._scope = scope

    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        self._host.log(self._scope, level, event, [(k, str(v)) for k, v in fields.items()])

    def random_hex(self, n: int) -> str:
        return _call(self._host.random_hex, self._scope, n)

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        return _call(self._host.lmk_check_value, self._scope, lmk_id)

    def firmware_number(self) -> str:
        return self._host.firmware_number(self._scope)

    def key_from_lmk(self, key_type: str, key: str, lmk_id: int | None = None) -> KeyHandle:
        return KeyHandle(_call(self._host.key_from_lmk, self._scope, key_type, key, lmk_id))

    def key_to_lmk(self, key: KeyHandle, scheme: str, lmk_id: int | None = None) -> str:
        return _call(self._host.key_to_lmk, self._scope, key, scheme, lmk_id)

    def key_from_kek(self, kek: KeyHandle, key_type: str, key: str) -> KeyHandle:
        return KeyHandle(_call(self._host.key_from_kek, self._scope, kek, key_type, key))

    def key_to_kek(self, kek: KeyHandle, key: KeyHandle, scheme: str) -> str:
        return _call(self._host.key_to_kek, self._scope, kek, key, scheme)

    def key_generate(self, key_type: str, scheme: str) -> KeyHandle:
        return KeyHandle(_call(self._host.key_generate, self._scope, key_type, scheme))

    def key_combine(self, key_type: str, parts: list[KeyHandle]) -> KeyHandle:
        return KeyHandle(_call(self._host.key_combine, self._scope, key_type, list(parts)))

    def key_check_value(self, key: KeyHandle) -> str:
        return _call(self._host.key_check_value, self._scope, key)

    def key_info(self, key: KeyHandle) -> KeyInfo:
        info = _call(self._host.key_describe, self._scope, key)
        return KeyInfo(key_type=info.key_type, length=info.length, odd_parity=info.odd_parity)

    def key_type_code(self, role: str) -> str:
        return _call(self._host.key_type_code, self._scope, role)

    def pin_from_block(self, key: KeyHandle, block: str, pin_format: str, account: str) -> PinHandle:
        return PinHandle(_call(self._host.pin_from_block, self._scope, key, block, pin_format, account))

    def pin_to_block(self, key: KeyHandle, pin: PinHandle, pin_format: str, account: str) -> str:
        return _call(self._host.pin_to_block, self._scope, key, pin, pin_format, account)

    def pin_from_lmk(self, pin: str, account: str, lmk_id: int | None = None) -> PinHandle:
        return PinHandle(_call(self._host.pin_from_lmk, self._scope, pin, account, lmk_id))

    def pin_to_lmk(self, pin: PinHandle, account: str, lmk_id: int | None = None) -> str:
        return _call(self._host.pin_to_lmk, self._scope, pin, account, lmk_id)

    def pin_generate(self, length: int) -> PinHandle:
        return PinHandle(_call(self._host.pin_generate, self._scope, length))

    def pin_from_clear(self, pin: str) -> PinHandle:
        return PinHandle(_call(self._host.pin_from_clear, self._scope, pin))

    def pin_reveal(self, pin: PinHandle) -> str:
        return _call(self._host.pin_reveal, self._scope, pin)

    def pin_length(self, pin: PinHandle) -> int:
        return _call(self._host.pin_length, self._scope, pin)

    def pin_compare(self, a: PinHandle, b: PinHandle) -> bool:
        return _call(self._host.pin_compare, self._scope, a, b)

    def pin_ibm_offset(self, pvk: KeyHandle, pin: PinHandle, table: str, validation_data: str, lmk_id: int | None = None) -> str:
        return _call(self._host.pin_ibm_offset, self._scope, pvk, pin, table, validation_data, lmk_id)

    def pin_ibm_derive(self, pvk: KeyHandle, offset: str, table: str, validation_data: str, lmk_id: int | None = None) -> PinHandle:
        return PinHandle(_call(self._host.pin_ibm_derive, self._scope, pvk, offset, table, validation_data, lmk_id))

    def pin_pvv(self, pvk: KeyHandle, pin: PinHandle, account: str, pvki: int) -> str:
        return _call(self._host.pin_pvv, self._scope, pvk, pin, account, pvki)

    def card_dcvv(self, mk: KeyHandle, derivation: str, pan: str, expiry: str, service_code: str, atc: str) -> str:
        return _call(self._host.card_dcvv, self._scope, mk, derivation, pan, expiry, service_code, atc)

    def card_cvc3(self, mk: KeyHandle, derivation: str, pan: str, psn: str, track: str, un: str, atc: int) -> str:
        return _call(self._host.card_cvc3, self._scope, mk, derivation, pan, psn, track, un, atc)

    def authorised(self) -> bool:
        return self._host.authorised(self._scope)

    def card_cvv(self, cvk: KeyHandle, pan: str, expiry: str, service_code: str) -> str:
        return _call(self._host.card_cvv, self._scope, cvk, pan, expiry, service_code)

    def mac_compute(self, key: KeyHandle, algorithm: int, padding: int, iv: str, data: bytes, final: bool) -> str:
        return _call(self._host.mac_compute, self._scope, key, algorithm, padding, iv, data.hex(), final)

    def data_crypt(self, key: KeyHandle, encrypt: bool, mode: str, iv: str, data: bytes) -> str:
        return _call(self._host.data_crypt, self._scope, key, encrypt, mode, iv, data.hex())

    def hash(self, algorithm: str, data: bytes) -> str:
        return _call(self._host.hash, self._scope, algorithm, data.hex())

    def emv_card_key(self, mk: KeyHandle, derivation: str, pan: str, psn: str) -> KeyHandle:
        return KeyHandle(_call(self._host.emv_card_key, self._scope, mk, derivation, pan, psn))

    def emv_session_key(self, card_key: KeyHandle, method: str, atc: str, un: str, iv: str) -> KeyHandle:
        return KeyHandle(_call(self._host.emv_session_key, self._scope, card_key, method, atc, un, iv))

    def emv_ac(self, key: KeyHandle, data: bytes, padding: int) -> str:
        return _call(self._host.emv_ac, self._scope, key, data.hex(), padding)

    def emv_arpc(self, key: KeyHandle, arqc: str, method: int, response: str, proprietary: str) -> str:
        return _call(self._host.emv_arpc, self._scope, key, arqc, method, response, proprietary)

    def dukpt_key(self, bdk: KeyHandle, ksn: str, usage: str) -> KeyHandle:
        return KeyHandle(_call(self._host.dukpt_key, self._scope, bdk, ksn, usage))

    def unit_status(self) -> UnitStatus:
        return converted(UnitStatus, self._host.unit_status(self._scope))

    def command_counts(self) -> list[CommandCount]:
        return [converted(CommandCount, item) for item in self._host.command_counts(self._scope)]

    def unit_loading(self) -> list[LoadBand]:
        return [converted(LoadBand, item) for item in self._host.unit_loading(self._scope)]

    def lmk_table(self) -> list[LmkStatus]:
        return [converted(LmkStatus, item) for item in self._host.lmk_table(self._scope)]

    def host_connections(self) -> list[HostConnection]:
        return [converted(HostConnection, item) for item in self._host.host_connections(self._scope)]

    def host_traffic(self) -> PortTraffic:
        return converted(PortTraffic, self._host.host_traffic(self._scope))

    def key_generate_block(self, header: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(self._host.key_generate_block, self._scope, header, lmk_id))

    def rsa_generate(self, bits: int, key_type: str, encoding: str, exponent: str, lmk_id: int | None) -> RsaKeyPair:
        return converted(RsaKeyPair, _call(self._host.rsa_generate, self._scope, bits, key_type, encoding, exponent, lmk_id))

    def public_key_import(self, encoding: str, key_and_auth: str, lmk_id: int | None) -> ImportedPublicKey:
        return converted(ImportedPublicKey, _call(self._host.public_key_import, self._scope, encoding, key_and_auth, lmk_id))

    def public_key_from_mac(self, mac: str, key_and_auth: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(self._host.public_key_from_mac, self._scope, mac, key_and_auth, lmk_id))

    def private_key_from_lmk(self, private_key: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(self._host.private_key_from_lmk, self._scope, private_key, lmk_id))

    def rsa_sign(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, data: str) -> str:
        return _call(self._host.rsa_sign, self._scope, key, hash_id, signature_id, pad_mode, data)

    def rsa_verify(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, signature: str, data: str) -> bool:
        return _call(self._host.rsa_verify, self._scope, key, hash_id, signature_id, pad_mode, signature, data)

    def key_to_public_key(self, public_key: KeyHandle, key: KeyHandle, transport: str, oaep_parameters: str) -> str:
        return _call(self._host.key_to_public_key, self._scope, public_key, key, transport, oaep_parameters)

    def key_from_public_key(self, private_key: KeyHandle, key_type: str, encrypted: str, transport: str, oaep_parameters: str) -> KeyHandle:
        return KeyHandle(_call(self._host.key_from_public_key, self._scope, private_key, key_type, encrypted, transport, oaep_parameters))

    def ecc_generate(self, curve: str, lmk_id: int | None) -> EccKeyPair:
        return converted(EccKeyPair, _call(self._host.ecc_generate, self._scope, curve, lmk_id))
