"""What a command may ask of the HSM host. Host refusals raise `HsmError` with the host's code.

Keys never cross into a plugin: the host hands out a `KeyHandle`, valid for
the current request only, and does every operation on the key itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, NewType, Protocol, TypeVar

LogLevel = Literal["debug", "info", "warning", "error"]
KeyHandle = NewType("KeyHandle", int)
PinHandle = NewType("PinHandle", int)


@dataclass(frozen=True)
class KeyInfo:
    key_type: str  # e.g. "001"
    length: int  # 8, 16 or 24
    odd_parity: bool  # False: the key arrived without odd parity (held parity-adjusted)


@dataclass(frozen=True)
class UnitStatus:
    serial_number: str  # 12 characters
    started: str  # local time, YYYYMMDDhhmmss
    now: str
    max_connections: int
    pci_mode: bool
    authorised: bool
    pin_verifies_minute: int  # PIN verification commands answered in the last minute
    pin_verifies_hour: int


@dataclass(frozen=True)
class CommandCount:
    command: str
    count: int


@dataclass(frozen=True)
class LoadBand:
    low: int  # percent, inclusive
    high: int  # percent, exclusive
    seconds: int  # seconds since start whose load fell in the band


@dataclass(frozen=True)
class LmkStatus:
    id: int
    scheme: str  # V variant, K key block
    algorithm: str  # 0 3DES double length, 1 3DES triple, 2 AES-256
    live: bool
    check_value: str


@dataclass(frozen=True)
class HostConnection:
    protocol: str  # tcp, tls or udp
    local_port: int
    remote_address: str
    remote_port: int
    seconds: int  # open for


@dataclass(frozen=True)
class PortTraffic:
    bytes_sent: int
    bytes_received: int
    frames_received: int
    frames_sent: int
    errors: int


@dataclass(frozen=True)
class RsaKeyPair:
    public_key: str  # DER, hex
    private_key: str  # sealed under the LMK, hex


@dataclass(frozen=True)
class EccKeyPair:
    public_key: str  # SubjectPublicKeyInfo DER, hex
    public_point: str  # X9.62 uncompressed point, hex
    private_key: str  # sealed under the LMK, hex


@dataclass(frozen=True)
class ImportedPublicKey:
    mac: str  # 8 H
    public_key: str  # DER, hex


T = TypeVar("T")


def converted(kind: type[T], value: object) -> T:
    """`value` (the host's or the WIT binding's record) as the SDK's dataclass `kind`, field by field."""
    return kind(**{f.name: getattr(value, f.name) for f in fields(kind)})  # type: ignore[arg-type]


class Hsm(Protocol):
    def log(self, level: LogLevel, event: str, **fields: str) -> None:
        """A structured log line carrying the request id (values are redacted by the host)."""

    def random_hex(self, n: int) -> str:
        """`n` random bytes from the host's CSPRNG, as upper-case hex."""

    def lmk_check_value(self, lmk_id: int | None = None) -> str:
        """16 hex characters: the check value of the selected LMK (None: the default)."""

    def firmware_number(self) -> str:
        """The 9-character firmware number this unit reports."""

    def key_from_lmk(self, key_type: str, key: str, lmk_id: int | None = None) -> KeyHandle:
        """A key field encrypted under the LMK as `key_type` (10 if its parity is even)."""

    def key_to_lmk(self, key: KeyHandle, scheme: str, lmk_id: int | None = None) -> str:
        """The key field under the LMK in `scheme` (Z, U, T, X, Y)."""

    def key_from_kek(self, kek: KeyHandle, key_type: str, key: str) -> KeyHandle:
        """A key field encrypted under a ZMK or TMK (29 if `kek` may not carry `key_type`)."""

    def key_to_kek(self, kek: KeyHandle, key: KeyHandle, scheme: str) -> str:
        """The key field under a ZMK or TMK in `scheme`."""

    def key_generate(self, key_type: str, scheme: str) -> KeyHandle:
        """A new random key as long as `scheme` says."""

    def key_combine(self, key_type: str, parts: list[KeyHandle]) -> KeyHandle:
        """The XOR of key components, parity-adjusted."""

    def key_check_value(self, key: KeyHandle) -> str:
        """16 hex; commands show the first 6 or all 16."""

    def key_info(self, key: KeyHandle) -> KeyInfo:
        """Type, length and parity as received; never the key."""

    def key_type_code(self, role: str) -> str:
        """The key type code of a role ("TMK", "TPK", "PVK", ...) in the unit's key type table."""

    def pin_from_block(self, key: KeyHandle, block: str, pin_format: str, account: str) -> PinHandle:
        """A PIN block (16 H) under a TPK or ZPK, decoded in `pin_format` (20 invalid, 23 format, 24 length; 29 if `key` is no PIN key)."""

    def pin_to_block(self, key: KeyHandle, pin: PinHandle, pin_format: str, account: str) -> str:
        """The PIN as a 16 H block in `pin_format` under a TPK or ZPK."""

    def pin_from_lmk(self, pin: str, account: str, lmk_id: int | None = None) -> PinHandle:
        """A PIN encrypted under LMK pair 02-03 (14 if it is not one)."""

    def pin_to_lmk(self, pin: PinHandle, account: str, lmk_id: int | None = None) -> str:
        """The PIN encrypted under LMK pair 02-03: PIN length + 1 digits."""

    def pin_generate(self, length: int) -> PinHandle:
        """A random PIN of `length` digits (24 outside 4-12)."""

    def pin_from_clear(self, pin: str) -> PinHandle:
        """A clear PIN from the request; 17 unless the unit is authorised."""

    def pin_reveal(self, pin: PinHandle) -> str:
        """The clear PIN for the response; 17 unless the unit is authorised."""

    def pin_length(self, pin: PinHandle) -> int:
        """How many digits the PIN has."""

    def pin_compare(self, a: PinHandle, b: PinHandle) -> bool:
        """Whether two PINs are equal."""

    def pin_ibm_offset(self, pvk: KeyHandle, pin: PinHandle, table: str, validation_data: str, lmk_id: int | None = None) -> str:
        """IBM 3624 offset of the PIN (as many digits as the PIN); `validation_data` is 16 H."""

    def pin_ibm_derive(self, pvk: KeyHandle, offset: str, table: str, validation_data: str, lmk_id: int | None = None) -> PinHandle:
        """IBM 3624: natural PIN plus `offset` (decimal digits)."""

    def pin_pvv(self, pvk: KeyHandle, pin: PinHandle, account: str, pvki: int) -> str:
        """Visa PVV (4 digits) under a PVK pair (27 if single length)."""

    def card_dcvv(self, mk: KeyHandle, derivation: str, pan: str, expiry: str, service_code: str, atc: str) -> str:
        """Visa dCVV (3 digits) from an MK-AC, EMV key derivation Option `derivation` (A or B)."""

    def card_cvc3(self, mk: KeyHandle, derivation: str, pan: str, psn: str, track: str, un: str, atc: int) -> str:
        """Mastercard CVC3 (5 digits) from an MK-CVC3; `track` is the track data template as hex, `un` 8 H."""

    def authorised(self) -> bool:
        """Whether the unit is in the authorised state."""

    def card_cvv(self, cvk: KeyHandle, pan: str, expiry: str, service_code: str) -> str:
        """Visa CVV / Mastercard CVC (3 digits) under a CVK pair (27 if not double length)."""

    def mac_compute(self, key: KeyHandle, algorithm: int, padding: int, iv: str, data: bytes, final: bool) -> str:
        """ISO 9797-1 MAC algorithm 1 or 3 under a TAK/ZAK after `iv` (16 H): the MAC block if `final`, else the chaining value (16 H)."""

    def data_crypt(self, key: KeyHandle, encrypt: bool, mode: str, iv: str, data: bytes) -> str:
        """`data` encrypted or decrypted under a ZEK/DEK in ECB, CBC, CFB8 or CFB64, as hex (80: not whole blocks)."""

    def hash(self, algorithm: str, data: bytes) -> str:
        """The digest by payShield hash identifier (01 SHA-1 ... 08 SHA-512), as hex (05: unknown identifier)."""

    def emv_card_key(self, mk: KeyHandle, derivation: str, pan: str, psn: str) -> KeyHandle:
        """The card's key from an issuer MK-AC, EMV Option A or B; it never leaves the host."""

    def emv_session_key(self, card_key: KeyHandle, method: str, atc: str, un: str, iv: str) -> KeyHandle:
        """An AC session key: none, mchip, common, tree-2-16 or tree-4-8 (ATC, UN and IV as hex)."""

    def emv_ac(self, key: KeyHandle, data: bytes, padding: int) -> str:
        """The application cryptogram (16 H) over the transaction data, padding method 1 or 2."""

    def emv_arpc(self, key: KeyHandle, arqc: str, method: int, response: str, proprietary: str) -> str:
        """The ARPC: method 1 over the ARC (16 H), method 2 over the CSU and proprietary data (8 H)."""

    def dukpt_key(self, bdk: KeyHandle, ksn: str, usage: str) -> KeyHandle:
        """A DUKPT working key (pin, pin-des, mac-request, mac-response, data-request, data-response)."""

    def unit_status(self) -> UnitStatus:
        """The unit's state for the status commands."""

    def command_counts(self) -> list[CommandCount]:
        """Requests answered per command code since start."""

    def unit_loading(self) -> list[LoadBand]:
        """Seconds since start by load band (ten bands of 10 %)."""

    def lmk_table(self) -> list[LmkStatus]:
        """The loaded LMKs in identifier order."""

    def host_connections(self) -> list[HostConnection]:
        """The open connections of every host port (NI)."""

    def host_traffic(self) -> PortTraffic:
        """Host port traffic since start (NI)."""

    def key_generate_block(self, header: str, lmk_id: int | None) -> KeyHandle:
        """A new key as A0's "#" fields describe it (usage, algorithm, mode, version, exportability, blocks)."""

    def rsa_generate(self, bits: int, key_type: str, encoding: str, exponent: str, lmk_id: int | None) -> RsaKeyPair:
        """EI: a new RSA key pair (exponent as hex, "" = 65537)."""

    def public_key_import(self, encoding: str, key_and_auth: str, lmk_id: int | None) -> ImportedPublicKey:
        """EO: the DER public key at the start of `key_and_auth` (hex) with its MAC under the LMK."""

    def public_key_from_mac(self, mac: str, key_and_auth: str, lmk_id: int | None) -> KeyHandle:
        """A public key whose MAC checks (01 otherwise)."""

    def private_key_from_lmk(self, private_key: str, lmk_id: int | None) -> KeyHandle:
        """A private key sealed under the LMK (hex), opened in the host."""

    def rsa_sign(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, data: str) -> str:
        """EW: the signature (hex) over `data` (hex)."""

    def rsa_verify(self, key: KeyHandle, hash_id: str, signature_id: str, pad_mode: str, signature: str, data: str) -> bool:
        """EY: whether `signature` (hex) is the public key's over `data` (hex)."""

    def key_to_public_key(self, public_key: KeyHandle, key: KeyHandle, transport: str, oaep_parameters: str) -> str:
        """GK: `key` encrypted under the public key (hex)."""

    def key_from_public_key(self, private_key: KeyHandle, key_type: str, encrypted: str, transport: str, oaep_parameters: str) -> KeyHandle:
        """GI: a key of `key_type` decrypted with the private key."""

    def ecc_generate(self, curve: str, lmk_id: int | None) -> EccKeyPair:
        """FY: a new ECC key pair (curve 00 P-256, 01 P-384, 02 P-521)."""
