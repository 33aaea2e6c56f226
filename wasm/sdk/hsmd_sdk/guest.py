"""The component side of the contract: used only inside a WebAssembly plugin.

`world()` turns a logic module's `execute` into the class componentize-py
expects; the generated adapter in commands/<CMD>/app.py is one call to it.
`wit_world` exists only in the component build (componentize-py generates it
from wasm/wit), which is why nothing else imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host, types  # type: ignore[import-not-found]

from hsmd_sdk.errors import HsmError
from hsmd_sdk.hsm import (
    CommandCount,
    EccKeyPair,
    HostConnection,
    ImportedPublicKey,
    KeyHandle,
    KeyInfo,
    LmkStatus,
    LoadBand,
    LogLevel,
    PinHandle,
    PortTraffic,
    RsaKeyPair,
    UnitStatus,
    converted,
)
from hsmd_sdk.response import Execute, respond

T = TypeVar("T")

_LEVELS = {
    "debug": types.LogLevel.DEBUG,
    "info": types.LogLevel.INFO,
    "warning": types.LogLevel.WARNING,
    "error": types.LogLevel.ERROR,
}


def _call(fn: Callable[..., T], *args: Any) -> T:
    """A host import whose err case becomes the SDK's HsmError."""
    try:
        return fn(*args)
    except Err as err:
        raise HsmError(err.value.code, err.value.reason) from None


class GuestHsm:
    """`hsmd_sdk.Hsm` over the WIT host imports."""

    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        host.log(_LEVELS[level], event, [(k, str(v)) for k, v in fields.items()])

    def random_hex(self, n: int) -> str:
        return str(_call(host.random_hex, n))

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        return str(_call(host.lmk_check_value, lmk_id))

    def firmware_number(self) -> str:
        return str(host.firmware_number())

    def key_from_lmk(self, key_type: str, key: str, lmk_id: int | None = None) -> KeyHandle:
        return KeyHandle(_call(host.key_from_lmk, key_type, key, lmk_id))

    def key_to_lmk(self, key: KeyHandle, scheme: str, lmk_id: int | None = None) -> str:
        return str(_call(host.key_to_lmk, key, scheme, lmk_id))

    def key_from_kek(self, kek: KeyHandle, key_type: str, key: str) -> KeyHandle:
        return KeyHandle(_call(host.key_from_kek, kek, key_type, key))

    def key_to_kek(self, kek: KeyHandle, key: KeyHandle, scheme: str) -> str:
        return str(_call(host.key_to_kek, kek, key, scheme))

    def key_generate(self, key_type: str, scheme: str) -> KeyHandle:
        return KeyHandle(_call(host.key_generate, key_type, scheme))

    def key_combine(self, key_type: str, parts: list[KeyHandle]) -> KeyHandle:
        return KeyHandle(_call(host.key_combine, key_type, list(parts)))

    def key_check_value(self, key: KeyHandle) -> str:
        return str(_call(host.key_check_value, key))

    def key_info(self, key: KeyHandle) -> KeyInfo:
        info = _call(host.key_describe, key)
        return KeyInfo(key_type=info.key_type, length=info.length, odd_parity=info.odd_parity)

    def key_type_code(self, role: str) -> str:
        return str(_call(host.key_type_code, role))

    def pin_from_block(self, key: KeyHandle, block: str, pin_format: str, account: str) -> PinHandle:
        return PinHandle(_call(host.pin_from_block, key, block, pin_format, account))

    def pin_to_block(self, key: KeyHandle, pin: PinHandle, pin_format: str, account: str) -> str:
        return str(_call(host.pin_to_block, key, pin, pin_format, account))

    def pin_from_lmk(self, pin: str, account: str, lmk_id: int | None = None) -> PinHandle:
        return PinHandle(_call(host.pin_from_lmk, pin, account, lmk_id))

    def pin_to_lmk(self, pin: PinHandle, account: str, lmk_id: int | None = None) -> str:
        return str(_call(host.pin_to_lmk, pin, account, lmk_id))

    def pin_generate(self, length: int) -> PinHandle:
        return PinHandle(_call(host.pin_generate, length))

    def pin_from_clear(self, pin: str) -> PinHandle:
        return PinHandle(_call(host.pin_from_clear, pin))

    def pin_reveal(self, pin: PinHandle) -> str:
        return str(_call(host.pin_reveal, pin))

    def pin_length(self, pin: PinHandle) -> int:
        return int(_call(host.pin_length, pin))

    def pin_compare(self, a: PinHandle, b: PinHandle) -> bool:
        return bool(_call(host.pin_compare, a, b))

    def pin_ibm_offset(self, pvk: KeyHandle, pin: PinHandle, table: str, validation_data: str, lmk_id: int | None = None) -> str:
        return str(_call(host.pin_ibm_offset, pvk, pin, table, validation_data, lmk_id))

    def pin_ibm_derive(self, pvk: KeyHandle, offset: str, table: str, validation_data: str, lmk_id: int | None = None) -> PinHandle:
        return PinHandle(_call(host.pin_ibm_derive, pvk, offset, table, validation_data, lmk_id))

    def pin_pvv(self, pvk: KeyHandle, pin: PinHandle, account: str, pvki: int) -> str:
        return str(_call(host.pin_pvv, pvk, pin, account, pvki))

    def card_dcvv(self, mk: KeyHandle, derivation: str, pan: str, expiry: str, service_code: str, atc: str) -> str:
        return str(_call(host.card_dcvv, mk, derivation, pan, expiry, service_code, atc))

    def card_cvc3(self, mk: KeyHandle, derivation: str, pan: str, psn: str, track: str, un: str, atc: int) -> str:
        return str(_call(host.card_cvc3, mk, derivation, pan, psn, track, un, atc))

    def authorised(self) -> bool:
        return bool(host.authorised())

    def card_cvv(self, cvk: KeyHandle, pan: str, expiry: str, service_code: str) -> str:
        return str(_call(host.card_cvv, cvk, pan, expiry, service_code))

    def mac_compute(self, key: KeyHandle, algorithm: int, padding: int, iv: str, data: bytes, final: bool) -> str:
        return str(_call(host.mac_compute, key, algorithm, padding, iv, data.hex(), final))

    def data_crypt(self, key: KeyHandle, encrypt: bool, mode: str, iv: str, data: bytes) -> str:
        return str(_call(host.data_crypt, key, encrypt, mode, iv, data.hex()))

    def hash(self, algorithm: str, data: bytes) -> str:
        return str(_call(host.hash, algorithm, data.hex()))

    def emv_card_key(self, mk: KeyHandle, derivation: str, pan: str, psn: str) -> KeyHandle:
        return KeyHandle(_call(host.emv_card_key, mk, derivation, pan, psn))

    def emv_session_key(self, card_key: KeyHandle, method: str, atc: str, un: str, iv: str) -> KeyHandle:
        return KeyHandle(_call(host.emv_session_key, card_key, method, atc, un, iv))

    def emv_ac(self, key: KeyHandle, data: bytes, padding: int) -> str:
        return str(_call(host.emv_ac, key, data.hex(), padding))

    def emv_arpc(self, key: KeyHandle, arqc: str, method: int, response: str, proprietary: str) -> str:
        return str(_call(host.emv_arpc, key, arqc, method, response, proprietary))

    def dukpt_key(self, bdk: KeyHandle, ksn: str, usage: str) -> KeyHandle:
        return KeyHandle(_call(host.dukpt_key, bdk, ksn, usage))

    def unit_status(self) -> UnitStatus:
        return converted(UnitStatus, host.unit_status())

    def command_counts(self) -> list[CommandCount]:
        return [converted(CommandCount, item) for item in host.command_counts()]

    def unit_loading(self) -> list[LoadBand]:
        return [converted(LoadBand, item) for item in host.unit_loading()]

    def lmk_table(self) -> list[LmkStatus]:
        return [converted(LmkStatus, item) for item in host.lmk_table()]

    def host_connections(self) -> list[HostConnection]:
        return [converted(HostConnection, item) for item in host.host_connections()]

    def host_traffic(self) -> PortTraffic:
        return converted(PortTraffic, host.host_traffic())

    def key_generate_block(self, header: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(host.key_generate_block, header, lmk_id))

    def rsa_generate(self, bits: int, key_type: str, encoding: str, exponent: str, lmk_id: int | None) -> RsaKeyPair:
        return converted(RsaKeyPair, _call(host.rsa_generate, bits, key_type, encoding, exponent, lmk_id))

    def public_key_import(self, encoding: str, key_and_auth: str, lmk_id: int | None) -> ImportedPublicKey:
        return converted(ImportedPublicKey, _call(host.public_key_import, encoding, key_and_auth, lmk_id))

    def public_key_from_mac(self, mac: str, key_and_auth: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(host.public_key_from_mac, mac, key_and_auth, lmk_id))

    def private_key_from_lmk(self, private_key: str, lmk_id: int | None) -> KeyHandle:
        return KeyHandle(_call(host.private_key_from_lmk, private_key, lmk_id))

    def rsa_sign(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, data: str) -> str:
        return str(_call(host.rsa_sign, key, hash_id, signature_id, pad_mode, data))

    def rsa_verify(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, signature: str, data: str) -> bool:
        return bool(_call(host.rsa_verify, key, hash_id, signature_id, pad_mode, signature, data))

    def key_to_public_key(self, public_key: KeyHandle, key: KeyHandle, transport: str, oaep_parameters: str) -> str:
        return str(_call(host.key_to_public_key, public_key, key, transport, oaep_parameters))

    def key_from_public_key(self, private_key: KeyHandle, key_type: str, encrypted: str, transport: str, oaep_parameters: str) -> KeyHandle:
        return KeyHandle(_call(host.key_from_public_key, private_key, key_type, encrypted, transport, oaep_parameters))

    def ecc_generate(self, curve: str, lmk_id: int | None) -> EccKeyPair:
        return converted(EccKeyPair, _call(host.ecc_generate, curve, lmk_id))


def world(*, command: str, version: str, description: str, execute: Execute) -> type:
    """The `WitWorld` class for one command."""
    hsm = GuestHsm()
    meta = types.Metadata(command=command, version=version, description=description)

    class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
        def metadata(self) -> Any:
            return meta

        def init(self) -> None:
            return None

        def execute(self, request: bytes) -> bytes:
            try:
                return respond(execute, request, hsm)
            except HsmError as exc:
                raise Err(types.HsmError(code=exc.code, reason=exc.reason)) from None

        def cleanup(self) -> None:
            return None

    return WitWorld
