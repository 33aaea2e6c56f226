"""What the host does for a plugin, one method per host import of the WIT contract.

Every method takes the `RequestScope` of the request being executed: it is
where per-request state (the request id, and from the key-management issue on
the key handles) lives, and it is closed when the request ends, so nothing a
plugin was given outlives its request.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from typing import NoReturn

import structlog
from cryptography.hazmat.primitives.asymmetric import padding
from hsmd_sdk.hsm import CommandCount, EccKeyPair, HostConnection, ImportedPublicKey, LmkStatus, LoadBand, PortTraffic, RsaKeyPair, UnitInfo

from hsmd.host import aes, cards, des, dukpt, emv, hashes, key_blocks, keyblock, keys, macs, pins, rsa
from hsmd.host.errors import GuestFailure, HostError
from hsmd.host.key_types import DUKPT_DATA, DUKPT_DES_PIN, DUKPT_MAC, DUKPT_PIN, ICC_MK_AC, SK_AC, KeyType, KeyTypeTable, Use
from hsmd.host.keyblock import Header, KeyBlockLmk
from hsmd.host.lmk import Lmk, LmkSet
from hsmd.host.status import UnitStatus, stamp

PIN_LMK_PAIR = 1  # LMK pair 02-03 protects PINs
DECTABLE_LMK_PAIR = 7  # LMK pair 14-15 protects encrypted decimalisation tables (hsmd's choice: no public source names one)

MAX_RANDOM_BYTES = 4096
DES_DATA_MODES = frozenset({"ECB", "CBC", "CFB8", "CFB64", "OFB"})
AES_DATA_MODES = frozenset({"ECB", "CBC", "CFB8", "CFB128", "OFB"})
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})


class HeldKey:
    """A clear key the host holds for one request; plugins see only its handle.

    A plain slotted class: one is made per key operation, on the hot path, and
    its repr must never show the key. `header`: the key block header the key
    came with (or was generated for); it decides what the key may do
    (hsmd.host.key_blocks) and is written again when the key is wrapped.
    """

    __slots__ = ("aes", "clear", "header", "key_type", "odd_parity")

    def __init__(self, clear: bytes, key_type: KeyType, odd_parity: bool, header: Header | None = None, *, aes: bool = False) -> None:
        self.clear = clear
        self.key_type = key_type
        self.odd_parity = odd_parity  # as received: keys are held parity-adjusted; this says whether they needed it
        self.header = header
        # An AES key: from a block whose header says so, or derived from an AES key (AES DUKPT).
        self.aes = aes or (header is not None and header.algorithm == keyblock.AES_ALGORITHM)

    def __repr__(self) -> str:
        block = f", key block {self.header.key_usage}{self.header.algorithm}{self.header.mode_of_use}" if self.header else ""
        return f"HeldKey(<{len(self.clear)} bytes>, {self.key_type.code}, odd_parity={self.odd_parity}{block})"


class HeldPin:
    """A clear PIN the host holds for one request; plugins see only its handle.

    `source` is the PIN block format it arrived in (None: from the LMK, generated
    or derived), for the PCI HSM rule on which formats it may leave in.
    """

    __slots__ = ("digits", "source")

    def __init__(self, digits: str, source: str | None = None) -> None:
        self.digits = digits
        self.source = source

    def __repr__(self) -> str:
        return f"HeldPin(<{len(self.digits)} digits>)"


class HeldAsymmetric:
    """An RSA key the host holds for one request: a private key opened from under the LMK
    (the blob is decrypted once, when the handle is issued), or a public key whose MAC
    under the LMK checked."""

    __slots__ = ("key",)

    def __init__(self, key: rsa.RsaPrivate | rsa.PublicKey) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"HeldAsymmetric({'private' if isinstance(self.key, rsa.RsaPrivate) else 'public'})"


@dataclass(frozen=True)
class PinSettings:
    """The unit's PIN security settings (hsm.toml [hsm])."""

    authorised: bool = False  # may commands carry clear PINs (BA, NG)?
    pin_under_lmk: str = "encrypted"  # or "simulator": ThalesSim's "0" + PIN, for replaying its vectors
    decimalisation_tables: str = "plaintext"  # or "encrypted": 16 H under the LMK (Host._dectable_key)


@dataclass(frozen=True)
class KeyInfo:
    key_type: str
    length: int
    odd_parity: bool


@dataclass
class RequestScope:
    """Per-request host state; `close()` invalidates everything issued in it."""

    request_id: str
    handles: dict[int, HeldKey | HeldPin | HeldAsymmetric] = field(default_factory=dict)
    closed: bool = False

    def close(self) -> None:
        self.handles.clear()
        self.closed = True

    def issue(self, held: HeldKey | HeldPin | HeldAsymmetric) -> int:
        # Random, not 1, 2, 3...: a handle kept from an earlier request (or guessed) is
        # refused instead of naming whatever this request issued under the same number.
        handle = secrets.randbits(32)
        while handle == 0 or handle in self.handles:
            handle = secrets.randbits(32)
        self.handles[handle] = held
        return handle

    def key(self, handle: int, use: Use | None = None, direction: key_blocks.Direction | None = None) -> HeldKey:
        """The key behind `handle`; with `use`, error 29 unless its type allows that use.

        A key with a key block header is judged by its header instead (A6 usage, A8 mode of
        use for `direction` or the use, A7 algorithm: hsmd.host.key_blocks).
        """
        held = self.handles.get(handle)
        if not isinstance(held, HeldKey):
            raise HostError("41", f"key handle {handle} was not issued in this request")
        if use is not None:
            if held.header is not None:
                key_blocks.check_use(held.header, use, direction)
            else:
                KeyTypeTable.check_use(held.key_type, use)
        return held

    def private_key(self, handle: int) -> rsa.RsaPrivate:
        held = self.handles.get(handle)
        if not isinstance(held, HeldAsymmetric) or not isinstance(held.key, rsa.RsaPrivate):
            raise HostError("41", f"private key handle {handle} was not issued in this request")
        return held.key

    def public_key(self, handle: int) -> rsa.PublicKey:
        held = self.handles.get(handle)
        if not isinstance(held, HeldAsymmetric) or not isinstance(held.key, rsa.PublicKey):
            raise HostError("41", f"public key handle {handle} was not issued in this request")
        return held.key

    def pin(self, handle: int) -> HeldPin:
        held = self.handles.get(handle)
        if not isinstance(held, HeldPin):
            raise HostError("41", f"PIN handle {handle} was not issued in this request")
        return held


class Host:
    def __init__(
        self,
        lmks: LmkSet,
        firmware_number: str,
        key_types: KeyTypeTable | None = None,
        pin_settings: PinSettings | None = None,
        status: UnitStatus | None = None,
    ) -> None:
        self._lmks = lmks
        self._firmware_number = firmware_number
        self.key_types = key_types or KeyTypeTable()
        self.pin_settings = pin_settings or PinSettings()
        self.status = status or UnitStatus()
        self._variant_pairs: dict[tuple[int, int, int], bytes] = {}
        self._plugin_log = structlog.get_logger("hsmd.plugin")

    @property
    def lmks(self) -> LmkSet:
        return self._lmks

    def log(self, scope: RequestScope, level: str, event: str, fields: list[tuple[str, str]]) -> None:
        if level not in LOG_LEVELS:
            raise HostError("15", f"unknown log level {level!r}")
        # Plugin-chosen keys go under plugin_fields so they cannot overwrite request_id & co.
        getattr(self._plugin_log, level)(event, request_id=scope.request_id, plugin_fields=dict(fields))

    def fail(self, scope: RequestScope | None, reason: str) -> NoReturn:
        """The plugin's own failure: never returns (the runtime traps the call and reports a "guest" fault)."""
        raise GuestFailure(reason)

    def random_hex(self, scope: RequestScope, n: int) -> str:
        if not 0 <= n <= MAX_RANDOM_BYTES:
            raise HostError("15", f"random length {n} outside 0..{MAX_RANDOM_BYTES}")
        return secrets.token_bytes(n).hex().upper()

    def lmk_check_value(self, scope: RequestScope, lmk_id: int | None) -> str:
        return self._lmks.check_value(lmk_id)

    def firmware_number(self, scope: RequestScope) -> str:
        return self._firmware_number

    def fixed_answers(self) -> dict[str, dict[int | None, str]]:
        """The host functions whose answer cannot change in this host's life (its LMKs and firmware
        number are set at construction), by WIT name: argument (None: none given) -> answer.

        The runtime's native call step answers these from this table without
        entering Python (hsmd/runtime/fastcall.c); an argument the table does not
        hold is asked of the method above, which gives the error.
        """
        check_values: dict[int | None, str] = {None: self._lmks.check_value(None)}
        for lmk_id, check_value in self._lmks.check_values().items():
            check_values[lmk_id] = check_value
        return {"lmk-check-value": check_values, "firmware-number": {None: self._firmware_number}}

    # --- keys: every clear key stays in here, behind a handle ---

    def _lmk_pair(self, key_type: KeyType, lmk_id: int | None) -> bytes:
        return self._variant_pair(self._lmks.select(lmk_id), key_type)

    def _variant_pair(self, lmk: Lmk, key_type: KeyType) -> bytes:
        """The pair of `lmk` protecting `key_type`, with its variant applied (fixed per LMK: computed once)."""
        slot = (id(lmk), key_type.pair, key_type.variant)
        pair = self._variant_pairs.get(slot)
        if pair is None:
            pair = self._variant_pairs[slot] = keys.type_variant(lmk.pairs[key_type.pair], key_type.variant)
        return pair

    def key_from_lmk(self, scope: RequestScope, key_type: str, key: str, lmk_id: int | None) -> int:
        """Decrypt a key stored under the LMK as `key_type`. Error 10 if its parity is not odd.

        Under a key-block LMK the key is "S" + a Thales key block: key type "FFF" takes it as
        its header says, a variant key type only if the header's usage suits it (A6). A key of
        the other LMK kind is refused with A1.
        """
        if isinstance(self._lmks.get(lmk_id), KeyBlockLmk) or key[:1] == keyblock.THALES_TAG:
            return self._key_from_keyblock_lmk(scope, key_type, key, lmk_id)
        return self._key_from_variant_lmk(scope, self._lmks.select(lmk_id), key_type, key)

    def key_from_old_lmk(self, scope: RequestScope, key_type: str, key: str, lmk_id: int | None) -> int:
        """key_from_lmk under the old LMK in key change storage (33 if none; a key block: A1)."""
        old = self._lmks.old(lmk_id)
        if key[:1] == keyblock.THALES_TAG:
            raise HostError(keyblock.INCOMPATIBLE_LMK, "key change storage holds a variant LMK: no key blocks")
        return self._key_from_variant_lmk(scope, old, key_type, key)

    def _key_from_variant_lmk(self, scope: RequestScope, lmk: Lmk, key_type: str, key: str) -> int:
        kt = self.key_types.get(key_type)
        clear = keys.decrypt(self._variant_pair(lmk, kt), keys.EncodedKey.parse(key), lmk_key=True)
        if not keys.odd_parity(clear):
            raise HostError("10", f"{kt.name} under the LMK fails the parity check")
        return scope.issue(HeldKey(clear, kt, odd_parity=True))

    def _key_from_keyblock_lmk(self, scope: RequestScope, key_type: str, key: str, lmk_id: int | None) -> int:
        lmk = self._lmks.get(lmk_id)
        if not isinstance(lmk, KeyBlockLmk) or key[:1] != keyblock.THALES_TAG:
            raise HostError(keyblock.INCOMPATIBLE_LMK, "a key block needs a key-block LMK, and a key-block LMK a key block")
        header, clear = keyblock.unwrap(lmk, key, lmk_id=self._lmks.resolve(lmk_id))
        kt = self._block_type(key_type, header)
        return scope.issue(HeldKey(clear, kt, key_blocks.odd_parity(header, clear), key_blocks.held_header(header)))

    def _block_type(self, key_type: str, header: Header) -> KeyType:
        """The key type of a key that came in a block: "FFF" (the header decides), or the command's, if the usage suits it."""
        if key_type.upper() == key_blocks.BLOCK_KEY_TYPE:
            return key_blocks.block_key_type(header)
        kt = self.key_types.get(key_type)
        key_blocks.check_typed(header, kt)
        return kt

    def key_to_lmk(self, scope: RequestScope, key: int, scheme: str, lmk_id: int | None) -> str:
        """The key under the LMK: in `scheme` under a variant LMK, as "S" + a key block under a key-block LMK (A1 otherwise)."""
        held = scope.key(key)
        if not held.key_type.exportable:
            raise HostError("29", f"a {held.key_type.name} never leaves the host")
        lmk = self._lmks.get(lmk_id)
        if isinstance(lmk, KeyBlockLmk) or scheme.upper() == keyblock.THALES_TAG:
            if not isinstance(lmk, KeyBlockLmk) or scheme.upper() != keyblock.THALES_TAG:
                raise HostError(keyblock.INCOMPATIBLE_LMK, f"key scheme {scheme!r} under a {type(lmk).__name__}")
            if held.header is None:
                raise HostError(keyblock.INCOMPATIBLE_LMK, "a key without a key block header cannot go under a key-block LMK")
            header = replace(held.header, lmk_id=f"{self._lmks.resolve(lmk_id):02d}")
            key_blocks.check_lmk_algorithm(lmk, header)
            return keyblock.THALES_TAG + keyblock.wrap(lmk, header, held.clear)
        if held.key_type.code == key_blocks.BLOCK_KEY_TYPE:
            raise HostError(keyblock.INCOMPATIBLE_LMK, "a key known only by its key block header has no variant LMK pair")
        return keys.encrypt(self._lmk_pair(held.key_type, lmk_id), scheme, held.clear, lmk_key=True).text()

    def key_from_kek(self, scope: RequestScope, kek: int, key_type: str, key: str) -> int:
        """Decrypt a key received under a ZMK/TMK. Parity is forced; key_describe tells whether it was odd.

        "S" + a Thales block or "R" + a TR-31 block is authenticated and opened under the clear
        KEK; the key keeps the block's header (key type "FFF", or one its usage suits: A6).
        """
        wrapping = scope.key(kek)
        if key_blocks.is_block(key):
            return self._key_from_kek_block(scope, wrapping, key_type, key)
        if wrapping.header is not None:
            key_blocks.check_kek(wrapping.header, export=False)
            if wrapping.header.algorithm == "A":
                raise HostError(keyblock.WRAPPING_KEY, "an AES key-encryption key carries keys in key blocks only")
        kt = self.key_types.get(key_type)
        if wrapping.header is None:
            self.key_types.check_carries(wrapping.key_type, kt)
        clear = keys.decrypt(wrapping.clear, keys.EncodedKey.parse(key))
        if not any(clear):
            raise HostError("11", "received key is all zeros")
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, odd_parity=keys.odd_parity(clear)))

    def _key_from_kek_block(self, scope: RequestScope, wrapping: HeldKey, key_type: str, key: str) -> int:
        if wrapping.header is not None:
            key_blocks.check_kek(wrapping.header, export=False)
        elif not wrapping.key_type.carries:
            raise HostError("29", f"a {wrapping.key_type.name} ({wrapping.key_type.code}) may not encrypt or decrypt keys")
        header, clear = key_blocks.import_(wrapping.clear, wrapping.header, key)
        kt = self._block_type(key_type, header)
        if wrapping.header is None and kt.code != key_blocks.BLOCK_KEY_TYPE:
            self.key_types.check_carries(wrapping.key_type, kt)
        return scope.issue(HeldKey(clear, kt, key_blocks.odd_parity(header, clear), key_blocks.held_header(header)))

    def key_to_kek(self, scope: RequestScope, kek: int, key: int, scheme: str) -> str:
        """The key under a ZMK/TMK: in a variant `scheme`, or in a key block ("S" Thales, "R" TR-31; see key_blocks).

        A key with a header leaves as its exportability allows (AA); a KEK with a header must be
        a key-encryption key whose mode of use allows encryption (A6/A8).
        """
        wrapping = scope.key(kek)
        held = scope.key(key)
        if not held.key_type.exportable:
            raise HostError("29", f"a {held.key_type.name} never leaves the host")
        if wrapping.header is not None:
            key_blocks.check_kek(wrapping.header, export=True)
        elif held.key_type.code != key_blocks.BLOCK_KEY_TYPE:
            self.key_types.check_carries(wrapping.key_type, held.key_type)
        elif not wrapping.key_type.carries:
            raise HostError("29", f"a {wrapping.key_type.name} ({wrapping.key_type.code}) may not encrypt or decrypt keys")
        if key_blocks.is_block(scheme):
            return key_blocks.export(wrapping.clear, wrapping.header, held.clear, held.header, scheme)
        if held.header is not None:
            keyblock.check_export(held.header, trusted=False)
        if wrapping.header is not None and wrapping.header.algorithm == "A":
            raise HostError(keyblock.WRAPPING_KEY, "an AES key-encryption key carries keys in key blocks only")
        return keys.encrypt(wrapping.clear, scheme, held.clear).text()

    def key_generate(self, scope: RequestScope, key_type: str, scheme: str) -> int:
        kt = self.key_types.get(key_type)
        length = keys.SCHEME_LENGTH.get(scheme.upper())
        if length is None:
            raise HostError("26", f"unknown key scheme {scheme!r}")
        return scope.issue(HeldKey(keys.generate(length), kt, odd_parity=True))

    def key_combine(self, scope: RequestScope, key_type: str, parts: list[int]) -> int:
        """XOR of key components into one key of `key_type`, parity forced (DES keys).

        At least two distinct components, each already of `key_type`: combining is never
        a way to re-type a key (a ZPK and a zero-ish partner "combined" into a ZMK).
        Components in key blocks must agree on usage, algorithm, mode of use and
        exportability; the key keeps that header with key version 00 (key type "FFF":
        the header alone says what it is).
        """
        if len(set(parts)) < 2 or len(set(parts)) != len(parts):
            raise HostError("03", f"{len(parts)} component handles, at least 2 distinct ones needed")
        held = [scope.key(h) for h in parts]
        header = key_blocks.combined_header([part.header for part in held])
        by_header = header is not None and key_type.upper() == key_blocks.BLOCK_KEY_TYPE
        kt = key_blocks.block_key_type(header) if by_header and header is not None else self.key_types.get(key_type)
        if any(part.key_type.code != kt.code for part in held):
            raise HostError("29", f"a component is not a {kt.name}: combining cannot change a key's type")
        if len({len(k.clear) for k in held}) != 1:
            raise HostError("27", "components of different lengths")
        clear = bytes(len(held[0].clear))
        for part in held:
            clear = des.xor(clear, part.clear)
        if not any(clear):
            raise HostError("11", "components combine to an all-zero key")
        if header is not None and header.algorithm == keyblock.AES_ALGORITHM:
            return scope.issue(HeldKey(clear, kt, True, header))  # AES keys have no parity
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, keys.odd_parity(clear), header))

    def key_type_code(self, scope: RequestScope, role: str) -> str:
        return self.key_types.code_for(role)

    def key_check_value(self, scope: RequestScope, key: int) -> str:
        """16 H: TDES-ECB of zeros; an AES key's (from a block) is its CMAC check value (X9.24-1 A.3)."""
        held = scope.key(key)
        return key_blocks.check_value(held.header, held.clear)

    def key_describe(self, scope: RequestScope, key: int) -> KeyInfo:
        held = scope.key(key)
        return KeyInfo(held.key_type.code, len(held.clear), held.odd_parity)

    # --- PINs: every clear PIN stays in here, behind a handle ---

    def _pin_pair(self, lmk_id: int | None) -> bytes:
        """LMK pair 02-03; under a key-block LMK a key derived from it for PINs (hsmd's: KeyBlockLmk.derived_pair)."""
        return self._lmk_pair_for(lmk_id, PIN_LMK_PAIR, "PIN under LMK")

    def _lmk_pair_for(self, lmk_id: int | None, pair: int, label: str) -> bytes:
        lmk = self._lmks.get(lmk_id)
        return lmk.derived_pair(label) if isinstance(lmk, KeyBlockLmk) else lmk.pairs[pair]

    def _check_authorised(self, what: str) -> None:
        if not self.pin_settings.authorised:
            raise HostError("17", f"{what} needs the authorised state (hsm.authorised)")

    def pin_from_block(self, scope: RequestScope, key: int, block: str, pin_format: str, account: str) -> int:
        """Decrypt a PIN block under a TPK or ZPK and decode it (20 invalid, 23 format, 24 length)."""
        held = scope.key(key, "pin", "decrypt")
        clear = pins.decrypt_block(held.clear, pin_format, block, account, whitened=held.key_type is DUKPT_DES_PIN, aes_key=held.aes)
        return scope.issue(HeldPin(clear, pin_format))

    def pin_to_block(self, scope: RequestScope, key: int, pin: int, pin_format: str, account: str) -> str:
        """Encode a PIN in `pin_format` and encrypt it under a TPK or ZPK (16 H)."""
        held = scope.pin(pin)
        wrapping = scope.key(key, "pin", "encrypt")
        if self.key_types.mode == "pci" and held.source in pins.PCI_ISO_ONLY and pin_format not in pins.PCI_ISO_ONLY:
            raise HostError("23", f"PCI HSM: a PIN from format {held.source} may not leave in format {pin_format}")
        return pins.encrypt_block(
            wrapping.clear, pin_format, held.digits, account, whitened=wrapping.key_type is DUKPT_DES_PIN, aes_key=wrapping.aes
        )

    def pin_from_lmk(self, scope: RequestScope, pin: str, account: str, lmk_id: int | None) -> int:
        """A PIN encrypted under LMK pair 02-03 (n + 1 digits, bound to the account; 14 if invalid)."""
        return self._pin_under(scope, self._pin_pair(lmk_id), pin, account)

    def pin_from_old_lmk(self, scope: RequestScope, pin: str, account: str, lmk_id: int | None) -> int:
        """pin_from_lmk under the old LMK in key change storage (33 if none)."""
        return self._pin_under(scope, self._lmks.old(lmk_id).pairs[PIN_LMK_PAIR], pin, account)

    def _pin_under(self, scope: RequestScope, pair: bytes, pin: str, account: str) -> int:
        simulator = self.pin_settings.pin_under_lmk == "simulator"
        return scope.issue(HeldPin(pins.from_lmk(pair, pin, account, simulator=simulator)))

    def pin_to_lmk(self, scope: RequestScope, pin: int, account: str, lmk_id: int | None) -> str:
        simulator = self.pin_settings.pin_under_lmk == "simulator"
        return pins.to_lmk(self._pin_pair(lmk_id), scope.pin(pin).digits, account, simulator=simulator)

    def pin_generate(self, scope: RequestScope, length: int) -> int:
        return scope.issue(HeldPin(pins.random_pin(length)))

    def pin_from_clear(self, scope: RequestScope, pin: str) -> int:
        """A clear PIN from the wire (BA): only in the authorised state (17 otherwise)."""
        self._check_authorised("a clear PIN in a request")
        if not pins.DIGITS.issuperset(pin):
            raise HostError("15", "clear PIN is not decimal")
        if not pins.MIN_PIN <= len(pin) <= pins.MAX_PIN:
            raise HostError("24", f"PIN of {len(pin)} digits (4 to 12)")
        return scope.issue(HeldPin(pin))

    def pin_reveal(self, scope: RequestScope, pin: int) -> str:
        """The clear PIN for the wire (NG): only in the authorised state (17 otherwise)."""
        self._check_authorised("a clear PIN in a response")
        return scope.pin(pin).digits

    def pin_length(self, scope: RequestScope, pin: int) -> int:
        return len(scope.pin(pin).digits)

    def pin_compare(self, scope: RequestScope, a: int, b: int) -> bool:
        return secrets.compare_digest(scope.pin(a).digits, scope.pin(b).digits)

    def _dectable_key(self, lmk_id: int | None) -> bytes:
        """LMK pair 14-15, or what a key-block LMK encrypts decimalisation tables under (KeyBlockLmk.decimalisation_key)."""
        lmk = self._lmks.get(lmk_id)
        return lmk.decimalisation_key() if isinstance(lmk, KeyBlockLmk) else lmk.pairs[DECTABLE_LMK_PAIR]

    def encrypt_dectable(self, table: str, lmk_id: int | None) -> str:
        """A clear decimalisation table as 16 H under the LMK (for `hsmd lmk dectable`)."""
        pins.check_plain_table(table)
        return des.encrypt_ecb(self._dectable_key(lmk_id), bytes.fromhex(table), lmk_key=True).hex().upper()

    def _dectable(self, table: str, lmk_id: int | None) -> str:
        if self.pin_settings.decimalisation_tables == "encrypted":
            if len(table) != 16 or not keys.HEX.issuperset(table):
                raise HostError("25", "encrypted decimalisation table must be 16 hex characters")
            table = des.decrypt_ecb(self._dectable_key(lmk_id), bytes.fromhex(table), lmk_key=True).hex().upper()
        pins.check_plain_table(table)
        return table

    def pin_ibm_offset(self, scope: RequestScope, pvk: int, pin: int, table: str, validation_data: str, lmk_id: int | None) -> str:
        """IBM 3624: the offset of the PIN (as many digits as the PIN) from the natural PIN."""
        natural = pins.natural_pin(scope.key(pvk, "pvk").clear, validation_data, self._dectable(table, lmk_id))
        return pins.ibm_offset(natural, scope.pin(pin).digits)

    def pin_ibm_derive(self, scope: RequestScope, pvk: int, offset: str, table: str, validation_data: str, lmk_id: int | None) -> int:
        """IBM 3624: the PIN of natural PIN + offset (as many digits as the offset)."""
        if not pins.MIN_PIN <= len(offset) <= pins.MAX_PIN or not pins.DIGITS.issuperset(offset):
            raise HostError("15", "offset must be 4 to 12 decimal digits")
        natural = pins.natural_pin(scope.key(pvk, "pvk").clear, validation_data, self._dectable(table, lmk_id))
        return scope.issue(HeldPin(pins.ibm_pin(natural, offset)))

    def pin_pvv(self, scope: RequestScope, pvk: int, pin: int, account: str, pvki: int) -> str:
        """Visa PVV: 4 digits from the PVK pair, the account number, PVKI and the PIN."""
        return pins.visa_pvv(scope.key(pvk, "pvk").clear, account, pvki, scope.pin(pin).digits)

    # --- card verification values ---

    def card_cvv(self, scope: RequestScope, cvk: int, pan: str, expiry: str, service_code: str) -> str:
        return cards.cvv(scope.key(cvk, "cvk").clear, pan, expiry, service_code)

    def card_dcvv(self, scope: RequestScope, mk: int, derivation: str, pan: str, expiry: str, service_code: str, atc: str) -> str:
        return cards.dcvv(scope.key(mk, "mk-dcvv").clear, derivation, pan, expiry, service_code, atc)

    def card_cvc3(self, scope: RequestScope, mk: int, derivation: str, pan: str, psn: str, track: str, un: str, atc: int) -> str:
        try:
            template, unpredictable = bytes.fromhex(track), bytes.fromhex(un)
        except ValueError:
            raise HostError("15", "track template and unpredictable number must be hex") from None
        return cards.cvc3(scope.key(mk, "mk-cvc3").clear, derivation, pan, psn, template, unpredictable, atc)

    def authorised(self, scope: RequestScope) -> bool:
        return self.pin_settings.authorised

    # --- MACs, data encryption, hashing (payShield MA ... M8, M0 ... M4, GM) ---

    def mac_compute(self, scope: RequestScope, key: int, algorithm: int, padding: int, iv: str, data: str, final: bool) -> str:
        """ISO 9797-1 MAC algorithm 1, 3 or 5 (CMAC) under a TAK or ZAK: the MAC (final) or the chaining value.

        16 H under a DES key; an AES key runs algorithms 1 and 5 (A7 for 3), with a 32 H IV and result.
        """
        held = scope.key(key, "mac")
        payload = _hex_bytes(data, None, "data")
        if held.aes:
            return macs.aes_mac(held.clear, algorithm, padding, _hex_bytes(iv, aes.BLOCK, "IV"), payload, final=final).hex().upper()
        return macs.mac(held.clear, algorithm, padding, _hex_bytes(iv, 8, "IV"), payload, final=final).hex().upper()

    def data_crypt(self, scope: RequestScope, key: int, encrypt: bool, mode: str, iv: str, data: str) -> str:
        """Data (hex) under a ZEK or DEK in ECB, CBC, CFB8, CFB64 (AES: CFB128) or OFB (80: not whole blocks), as hex.

        An AES key works in 16-byte blocks with a 16-byte IV; a DES one in 8-byte blocks.
        """
        held = scope.key(key, "data", "encrypt" if encrypt else "decrypt")
        payload = _hex_bytes(data, None, "data")
        size, modes, crypt = (aes.BLOCK, AES_DATA_MODES, aes.crypt) if held.aes else (des.BLOCK, DES_DATA_MODES, des.crypt)
        if mode not in modes:
            raise HostError("15", f"cipher mode {mode!r} unknown for a {'n AES' if held.aes else ' DES'} key")
        if mode in ("ECB", "CBC") and len(payload) % size:
            raise HostError("80", f"{len(payload)} bytes is not a whole number of {size}-byte blocks")
        initial = bytes(size) if mode == "ECB" else _hex_bytes(iv, size, "IV")
        return crypt(held.clear, mode, initial, payload, encrypt=encrypt).hex().upper()

    def hash(self, scope: RequestScope, algorithm: str, data: str) -> str:
        return hashes.digest(algorithm, _hex_bytes(data, None, "data")).hex().upper()

    # --- EMV: card and session keys stay here; plugins get cryptograms ---

    def emv_card_key(self, scope: RequestScope, mk: int, derivation: str, pan: str, psn: str) -> int:
        """The card's key (ICC MK-AC) from an issuer MK-AC, EMV Option A or B."""
        clear = cards.derive_icc_key(scope.key(mk, "mk-ac").clear, derivation, pan, psn)
        return scope.issue(HeldKey(clear, ICC_MK_AC, odd_parity=True))

    def emv_session_key(self, scope: RequestScope, card_key: int, method: str, atc: str, un: str, iv: str) -> int:
        clear = emv.session_key(
            scope.key(card_key, "emv-card").clear, method, _hex_bytes(atc, 2, "ATC"), _hex_bytes(un, None, "UN"), _hex_bytes(iv, None, "IV")
        )
        return scope.issue(HeldKey(clear, SK_AC, odd_parity=True))

    def emv_ac(self, scope: RequestScope, key: int, data: str, padding: int) -> str:
        return emv.cryptogram(scope.key(key, "ac").clear, _hex_bytes(data, None, "data"), padding).hex().upper()

    def emv_arpc(self, scope: RequestScope, key: int, arqc: str, method: int, response: str, proprietary: str) -> str:
        clear = scope.key(key, "ac").clear
        value = emv.arpc(
            clear, _hex_bytes(arqc, 8, "ARQC"), method, _hex_bytes(response, None, "ARC/CSU"), _hex_bytes(proprietary, None, "data")
        )
        return value.hex().upper()

    # --- DUKPT ---

    def dukpt_key(self, scope: RequestScope, bdk: int, ksn: str, usage: str) -> int:
        """A terminal's working key from the BDK and the KSN: pin, pin-des (X9.24-1998), mac-request/-response, data-request/-response.

        An AES BDK runs AES DUKPT (X9.24-3: a 24 H KSN) and its working keys are AES keys.
        """
        held = scope.key(bdk, "bdk")
        kind = DUKPT_PIN if usage == "pin" else DUKPT_MAC if usage.startswith("mac") else DUKPT_DATA
        if held.aes:
            return scope.issue(HeldKey(dukpt.aes_key(held.clear, ksn, usage), kind, odd_parity=True, aes=True))
        register = dukpt.parse_ksn(ksn)
        if usage == "pin-des":
            return scope.issue(HeldKey(dukpt.des_pin_key(held.clear, register), DUKPT_DES_PIN, odd_parity=True))
        return scope.issue(HeldKey(dukpt.tdes_key(held.clear, register, usage), kind, odd_parity=True))

    # --- key blocks ---

    def key_generate_block(self, scope: RequestScope, header: str, lmk_id: int | None) -> int:
        """A new key as A0's '#' fields describe it, under a key-block LMK (A1 for a variant LMK).

        `header`: key usage 2 · algorithm 2 (T2 T3 A1 A2 A3) · mode of use 1 · key version 2 ·
        exportability 1 · number of optional blocks 2 · the blocks (key_blocks.generation_header).
        """
        lmk = self._lmks.keyblock(lmk_id)
        generated, length = key_blocks.generation_header(lmk, self._lmks.resolve(lmk_id), header)
        clear = key_blocks.generate_key(generated, length)
        return scope.issue(HeldKey(clear, key_blocks.block_key_type(generated), True, generated))

    # --- RSA and ECC: private keys stay sealed under LMK 34-35, or in key blocks under a key-block LMK (hsmd.host.rsa) ---

    def rsa_generate(self, scope: RequestScope, bits: int, key_type: str, encoding: str, exponent: str, lmk_id: int | None) -> RsaKeyPair:
        e = int(exponent, 16) if exponent else rsa.DEFAULT_EXPONENT
        pair = rsa.generate_rsa(self._lmks.select(lmk_id), bits, key_type=key_type, encoding=encoding, exponent=e)
        return RsaKeyPair(public_key=pair.public_key.hex().upper(), private_key=pair.private_key.hex().upper())

    def public_key_import(self, scope: RequestScope, encoding: str, key_and_auth: str, lmk_id: int | None) -> ImportedPublicKey:
        mac, public_key = rsa.import_public_key(self._lmks.select(lmk_id), encoding, _hex_bytes(key_and_auth, None, "public key"))
        return ImportedPublicKey(mac=mac.hex().upper(), public_key=public_key.hex().upper())

    def public_key_from_mac(self, scope: RequestScope, mac: str, key_and_auth: str, lmk_id: int | None) -> int:
        public_key, auth_data = rsa.split_public_key(_hex_bytes(key_and_auth, None, "public key"))
        key = rsa.check_public_key_mac(self._lmks.select(lmk_id), _hex_bytes(mac, 4, "public key MAC"), public_key, auth_data)
        return scope.issue(HeldAsymmetric(key))

    def public_key_import_block(self, scope: RequestScope, encoding: str, key_and_auth: str, header: str, lmk_id: int | None) -> str:
        """EO under a key-block LMK (A1 for a variant LMK): "S" + a public key block of usage 02."""
        lmk = self._lmks.keyblock(lmk_id)
        data = _hex_bytes(key_and_auth, None, "public key")
        return rsa.import_public_key_block(lmk, self._lmks.resolve(lmk_id), encoding, data, header)

    def public_key_from_block(self, scope: RequestScope, block: str, purpose: str, lmk_id: int | None) -> int:
        """EY and GK under a key-block LMK (A1 for a variant LMK): the public key of an EO block, as a handle."""
        lmk = self._lmks.keyblock(lmk_id)
        return scope.issue(HeldAsymmetric(rsa.open_public_key_block(lmk, block, self._lmks.resolve(lmk_id), purpose)))

    def rsa_generate_block(
        self, scope: RequestScope, bits: int, key_type: str, encoding: str, exponent: str, header: str, lmk_id: int | None
    ) -> RsaKeyPair:
        """EI under a key-block LMK (A1 for a variant LMK): the private key as "S" + a Thales block (text)."""
        lmk = self._lmks.keyblock(lmk_id)
        e = int(exponent, 16) if exponent else rsa.DEFAULT_EXPONENT
        pair = rsa.generate_rsa_block(
            lmk, self._lmks.resolve(lmk_id), bits, key_type=key_type, encoding=encoding, exponent=e, fields=header
        )
        return RsaKeyPair(public_key=pair.public_key.hex().upper(), private_key=pair.private_key.decode("ascii"))

    def private_key_from_lmk(self, scope: RequestScope, private_key: str, lmk_id: int | None) -> int:
        """A sealed private key (hex) under a variant LMK (49 tampered or another LMK's), or "S" + a key
        block under a key-block LMK (A4 tampered, A3 another LMK's); either under the other kind is A1."""
        if private_key[:1] == keyblock.THALES_TAG:
            lmk = self._lmks.get(lmk_id)
            if not isinstance(lmk, KeyBlockLmk):
                raise HostError(keyblock.INCOMPATIBLE_LMK, "a private key in a key block needs a key-block LMK")
            return scope.issue(HeldAsymmetric(rsa.open_rsa_block(lmk, private_key, self._lmks.resolve(lmk_id))))
        return scope.issue(HeldAsymmetric(rsa.open_rsa(self._lmks.select(lmk_id), _hex_bytes(private_key, None, "private key"))))

    def rsa_sign(self, scope: RequestScope, key: int, hash_id: str, signature_id: str, pad_mode: str, data: str) -> str:
        signature = rsa.sign_with(
            scope.private_key(key), _hex_bytes(data, None, "data"), hash_id=hash_id, signature_id=signature_id, pad_mode=pad_mode
        )
        return signature.hex().upper()

    def rsa_verify(self, scope: RequestScope, key: int, hash_id: str, signature_id: str, pad_mode: str, signature: str, data: str) -> bool:
        try:
            rsa.verify_with(
                scope.public_key(key),
                _hex_bytes(signature, None, "signature"),
                _hex_bytes(data, None, "data"),
                hash_id=hash_id,
                signature_id=signature_id,
                pad_mode=pad_mode,
            )
        except HostError as exc:
            if exc.code == "02":
                return False
            raise
        return True

    def key_to_public_key(self, scope: RequestScope, public_key: int, key: int, transport: str, oaep_parameters: str) -> str:
        public = scope.public_key(public_key)
        wrapped = scope.key(key)
        if not wrapped.key_type.exportable:
            raise HostError("29", f"a {wrapped.key_type.name} never leaves the host")
        if wrapped.header is not None:  # under a public key is not in a key block: N and E stay in (AA)
            keyblock.check_export(wrapped.header, trusted=False)
        return rsa.wrap_with(public, wrapped.clear, _transport(transport, oaep_parameters)).hex().upper()

    def key_from_public_key(
        self, scope: RequestScope, private_key: int, key_type: str, encrypted: str, transport: str, oaep_parameters: str
    ) -> int:
        held = scope.private_key(private_key)
        kt = self.key_types.get(key_type)
        scheme = _transport(transport, oaep_parameters)
        clear = rsa.unwrap_with(held, _hex_bytes(encrypted, None, "encrypted key"), scheme)
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, odd_parity=keys.odd_parity(clear)))

    def key_from_public_key_block(
        self, scope: RequestScope, private_key: int, key_type: str, header: str, encrypted: str, transport: str, oaep_parameters: str
    ) -> int:
        """GI under a key-block LMK: the unwrapped key with the header its '#' fields give (rsa.transport_header).

        Key type "FFF" takes the header as it is; a variant key type only if the header's usage suits it (A6).
        """
        held = scope.private_key(private_key)
        scheme = _transport(transport, oaep_parameters)
        clear = rsa.unwrap_with(held, _hex_bytes(encrypted, None, "encrypted key"), scheme)
        block = rsa.transport_header(header, len(clear))
        kt = self._block_type(key_type, block)
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, keys.odd_parity(clear), block))

    def ecc_generate(self, scope: RequestScope, curve: str, lmk_id: int | None) -> EccKeyPair:
        pair = rsa.generate_ecc(self._lmks.select(lmk_id), curve)
        return EccKeyPair(
            public_key=pair.public_key.hex().upper(),
            public_point=pair.public_point.hex().upper(),
            private_key=pair.private_key.hex().upper(),
        )

    def ecc_generate_block(self, scope: RequestScope, curve: str, header: str, lmk_id: int | None) -> EccKeyPair:
        """FY under a key-block LMK (A1 for a variant LMK): the private key as "S" + a Thales block (text)."""
        lmk = self._lmks.keyblock(lmk_id)
        pair = rsa.generate_ecc_block(lmk, self._lmks.resolve(lmk_id), curve, header)
        return EccKeyPair(
            public_key=pair.public_key.hex().upper(),
            public_point=pair.public_point.hex().upper(),
            private_key=pair.private_key.decode("ascii"),
        )

    # --- the unit's state, read-only, for the status commands ---

    def unit_status(self, scope: RequestScope) -> UnitInfo:
        per_minute, per_hour = self.status.verifications()
        return UnitInfo(
            serial_number=self.status.serial_number,
            started=stamp(self.status.started),
            now=stamp(time.time()),
            max_connections=self.status.max_connections,
            pci_mode=self.key_types.mode == "pci",
            authorised=self.pin_settings.authorised,
            pin_verifies_minute=per_minute,
            pin_verifies_hour=per_hour,
        )

    def command_counts(self, scope: RequestScope) -> list[CommandCount]:
        return self.status.command_counts()

    def unit_loading(self, scope: RequestScope) -> list[LoadBand]:
        return self.status.loading()

    def host_connections(self, scope: RequestScope) -> list[HostConnection]:
        now = time.monotonic()
        return [
            HostConnection(port.kind, port.port, conn.remote_address, conn.remote_port, int(now - conn.opened))
            for port in self.status.ports
            for conn in list(port.open.values())
        ]

    def host_traffic(self, scope: RequestScope) -> PortTraffic:
        ports = self.status.ports
        return PortTraffic(
            bytes_sent=sum(p.bytes_sent for p in ports),
            bytes_received=sum(p.bytes_received for p in ports),
            frames_received=sum(p.frames_received for p in ports),
            frames_sent=sum(p.frames_sent for p in ports),
            errors=sum(p.malformed + p.handshake_failures for p in ports),
        )

    def lmk_table(self, scope: RequestScope) -> list[LmkStatus]:
        """JK's LMK list: scheme V (variant) or K (key block); algorithm 0 3DES double, 1 3DES triple, 2 AES-256."""
        return [
            LmkStatus(
                id=lmk_id,
                scheme=_lmk_scheme(lmk),
                algorithm=_lmk_algorithm(lmk),
                live=not lmk.is_test,
                check_value=self._lmks.check_value(lmk_id),
            )
            for lmk_id, lmk in self._lmks.items()
        ]


def _lmk_scheme(lmk: Lmk | KeyBlockLmk) -> str:
    return "K" if isinstance(lmk, KeyBlockLmk) else "V"


def _lmk_algorithm(lmk: Lmk | KeyBlockLmk) -> str:
    if not isinstance(lmk, KeyBlockLmk):
        return "0"
    return "2" if lmk.kind == "aes" else "1" if len(lmk.key) == 24 else "0"


def _transport(transport: str, oaep_parameters: str) -> padding.AsymmetricPadding:
    """GK/GI's transport fields as the request carries them: encryption id, pad mode[, MGF, MGF hash]."""
    # The identifiers' values are judged by rsa's padding rules (15, 07, 85, 86), not here.
    if len(transport) not in (4, 8):
        raise HostError("15", "transport: encryption identifier and pad mode, then for OAEP the MGF and its hash")
    parameters = _hex_bytes(oaep_parameters, None, "OAEP parameters")
    return rsa.transport_padding(transport[:2], transport[2:4], transport[4:6] or "01", transport[6:8] or "01", parameters)


def _hex_bytes(text: str, length: int | None, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise HostError("15", f"{what} is not hex") from None
    if length is not None and len(value) != length:
        raise HostError("15", f"{what} must be {length} bytes")
    return value
