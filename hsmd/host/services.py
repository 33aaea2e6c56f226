"""What the host does for a plugin, one method per host import of the WIT contract.

Every method takes the `RequestScope` of the request being executed: it is
where per-request state (the request id, and from the key-management issue on
the key handles) lives, and it is closed when the request ends, so nothing a
plugin was given outlives its request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import structlog

from hsmd.host import keys
from hsmd.host.errors import HostError
from hsmd.host.key_types import KeyType, KeyTypeTable
from hsmd.host.lmk import LmkSet

MAX_RANDOM_BYTES = 4096
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})


class HeldKey:
    """A clear key the host holds for one request; plugins see only its handle.

    A plain slotted class: one is made per key operation, on the hot path, and
    its repr must never show the key.
    """

    __slots__ = ("clear", "key_type", "odd_parity")

    def __init__(self, clear: bytes, key_type: KeyType, odd_parity: bool) -> None:
        self.clear = clear
        self.key_type = key_type
        self.odd_parity = odd_parity  # as received: keys are held parity-adjusted; this says whether they needed it

    def __repr__(self) -> str:
        return f"HeldKey(<{len(self.clear)} bytes>, {self.key_type.code}, odd_parity={self.odd_parity})"


@dataclass(frozen=True)
class KeyInfo:
    key_type: str
    length: int
    odd_parity: bool


@dataclass
class RequestScope:
    """Per-request host state; `close()` invalidates everything issued in it."""

    request_id: str
    handles: dict[int, HeldKey] = field(default_factory=dict)
    closed: bool = False

    def close(self) -> None:
        self.handles.clear()
        self.closed = True

    def issue(self, key: HeldKey) -> int:
        handle = len(self.handles) + 1
        self.handles[handle] = key
        return handle

    def key(self, handle: int) -> HeldKey:
        held = self.handles.get(handle)
        if held is None:
            raise HostError("41", f"key handle {handle} was not issued in this request")
        return held


class Host:
    def __init__(self, lmks: LmkSet, firmware_number: str, key_types: KeyTypeTable | None = None) -> None:
        self._lmks = lmks
        self._firmware_number = firmware_number
        self.key_types = key_types or KeyTypeTable()
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

    def random_hex(self, scope: RequestScope, n: int) -> str:
        if not 0 <= n <= MAX_RANDOM_BYTES:
            raise HostError("15", f"random length {n} outside 0..{MAX_RANDOM_BYTES}")
        return secrets.token_bytes(n).hex().upper()

    def lmk_check_value(self, scope: RequestScope, lmk_id: int | None) -> str:
        return self._lmks.check_value(lmk_id)

    def firmware_number(self, scope: RequestScope) -> str:
        return self._firmware_number

    # --- keys: every clear key stays in here, behind a handle ---

    def _lmk_pair(self, key_type: KeyType, lmk_id: int | None) -> bytes:
        """The LMK pair protecting `key_type`, with its variant applied (fixed per LMK: computed once)."""
        lmk = self._lmks.select(lmk_id)
        slot = (id(lmk), key_type.pair, key_type.variant)
        pair = self._variant_pairs.get(slot)
        if pair is None:
            pair = self._variant_pairs[slot] = keys.type_variant(lmk.pairs[key_type.pair], key_type.variant)
        return pair

    def key_from_lmk(self, scope: RequestScope, key_type: str, key: str, lmk_id: int | None) -> int:
        """Decrypt a key stored under the LMK as `key_type`. Error 10 if its parity is not odd."""
        kt = self.key_types.get(key_type)
        clear = keys.decrypt(self._lmk_pair(kt, lmk_id), keys.EncodedKey.parse(key), lmk_key=True)
        if not keys.odd_parity(clear):
            raise HostError("10", f"{kt.name} under the LMK fails the parity check")
        return scope.issue(HeldKey(clear, kt, odd_parity=True))

    def key_to_lmk(self, scope: RequestScope, handle: int, scheme: str, lmk_id: int | None) -> str:
        held = scope.key(handle)
        return keys.encrypt(self._lmk_pair(held.key_type, lmk_id), scheme, held.clear, lmk_key=True).text()

    def key_from_kek(self, scope: RequestScope, kek: int, key_type: str, key: str) -> int:
        """Decrypt a key received under a ZMK/TMK. Parity is forced; key_info tells whether it was odd."""
        wrapping = scope.key(kek)
        kt = self.key_types.get(key_type)
        self.key_types.check_carries(wrapping.key_type, kt)
        clear = keys.decrypt(wrapping.clear, keys.EncodedKey.parse(key))
        if not any(clear):
            raise HostError("11", "received key is all zeros")
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, odd_parity=keys.odd_parity(clear)))

    def key_to_kek(self, scope: RequestScope, kek: int, handle: int, scheme: str) -> str:
        wrapping = scope.key(kek)
        held = scope.key(handle)
        self.key_types.check_carries(wrapping.key_type, held.key_type)
        return keys.encrypt(wrapping.clear, scheme, held.clear).text()

    def key_generate(self, scope: RequestScope, key_type: str, scheme: str) -> int:
        kt = self.key_types.get(key_type)
        length = keys.SCHEME_LENGTH.get(scheme.upper())
        if length is None:
            raise HostError("26", f"unknown key scheme {scheme!r}")
        return scope.issue(HeldKey(keys.generate(length), kt, odd_parity=True))

    def key_combine(self, scope: RequestScope, key_type: str, parts: list[int]) -> int:
        """XOR of key components into one key of `key_type`, parity forced."""
        kt = self.key_types.get(key_type)
        held = [scope.key(h) for h in parts]
        if len({len(k.clear) for k in held}) != 1:
            raise HostError("27", "components of different lengths")
        clear = bytes(len(held[0].clear))
        for part in held:
            clear = bytes(a ^ b for a, b in zip(clear, part.clear, strict=True))
        if not any(clear):
            raise HostError("11", "components combine to an all-zero key")
        return scope.issue(HeldKey(keys.force_odd_parity(clear), kt, odd_parity=keys.odd_parity(clear)))

    def key_type_code(self, scope: RequestScope, role: str) -> str:
        return self.key_types.code_for(role)

    def key_check_value(self, scope: RequestScope, handle: int) -> str:
        return keys.check_value(scope.key(handle).clear)

    def key_info(self, scope: RequestScope, handle: int) -> KeyInfo:
        held = scope.key(handle)
        return KeyInfo(held.key_type.code, len(held.clear), held.odd_parity)
