"""Key types: which LMK pair and variant protect a key, and what the host lets it do.

A key type code is three characters: the variant digit and the two-character
LMK pair code (shared/reference/payshield.md, "Variant LMK"): 001 is pair
code 01 (LMK 06-07) with variant 0. A payShield in PCI HSM compliance mode
moves TMK and TPK off 002 to their own types (80D, 70D); `KeyTypeTable`
holds either table.

Usage is the host's to enforce: only a key-encryption key (ZMK, TMK) may
wrap or unwrap another key, and only the types it is meant to carry; only a
PIN key (TPK, ZPK) encrypts or decrypts PIN blocks, only a PVK derives PVVs
and IBM offsets, only a CVK computes card verification values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from hsmd.host.errors import HostError

# Pair code -> index of the pair in the LMK (pair i is LMK 2i-(2i+1)).
PAIR_INDEX: Final = {
    "00": 2, "01": 3, "02": 7, "03": 8, "04": 9, "05": 10, "06": 11, "07": 12,
    "08": 13, "09": 14, "0A": 15, "0B": 16, "0C": 17, "0D": 18, "0E": 19,
}  # fmt: skip

# What a key-encryption key may carry under it (by key type code).
_ZMK_CARRIES: Final = frozenset({"000", "001", "002", "003", "008", "009", "00A", "00B", "402", "109", "709", "70D", "80D"})
_TMK_CARRIES: Final = frozenset({"002", "003", "70D", "80D"})

Mode = Literal["pci", "non-pci"]
# What else a key may do besides being carried: the host function families that check it.
Use = Literal["pin", "pvk", "cvk", "mk-dcvv", "mk-cvc3", "mk-ac", "ac", "emv-card", "mac", "data", "bdk"]


@dataclass(frozen=True)
class KeyType:
    code: str
    name: str
    carries: frozenset[str] = frozenset()  # non-empty: a key-encryption key for these types
    uses: frozenset[Use] = frozenset()
    exportable: bool = True  # False: a key the host derived (card, session, DUKPT keys) never leaves it

    @property
    def pair(self) -> int:
        return PAIR_INDEX[self.code[1:]]

    @property
    def variant(self) -> int:
        return int(self.code[0])


def _table(*types: KeyType) -> dict[str, KeyType]:
    return {t.code: t for t in types}


_COMMON: Final = (
    KeyType("000", "ZMK", _ZMK_CARRIES),
    KeyType("001", "ZPK", uses=frozenset({"pin"})),
    KeyType("003", "TAK", uses=frozenset({"mac"})),
    KeyType("008", "ZAK", uses=frozenset({"mac"})),
    KeyType("009", "BDK", uses=frozenset({"bdk"})),
    KeyType("109", "MK-AC", uses=frozenset({"mk-ac", "mk-dcvv"})),  # PM derives Visa dCVV keys from an MK-AC
    KeyType("709", "MK-CVC3", uses=frozenset({"mk-cvc3"})),
    KeyType("00A", "ZEK", uses=frozenset({"data"})),
    KeyType("00B", "DEK", uses=frozenset({"data"})),
    KeyType("402", "CVK", uses=frozenset({"cvk"})),
)
# Keys the host derives for one request and never lets out (no LMK pair protects them).
ICC_MK_AC: Final = KeyType("ICC", "ICC MK-AC", uses=frozenset({"ac", "emv-card"}), exportable=False)
SK_AC: Final = KeyType("SKA", "AC session key", uses=frozenset({"ac"}), exportable=False)
DUKPT_PIN: Final = KeyType("DKP", "DUKPT PIN key", uses=frozenset({"pin"}), exportable=False)
DUKPT_DES_PIN: Final = KeyType("DKS", "DUKPT PIN key (single DES)", uses=frozenset({"pin"}), exportable=False)
DUKPT_MAC: Final = KeyType("DKM", "DUKPT MAC key", uses=frozenset({"mac"}), exportable=False)
DUKPT_DATA: Final = KeyType("DKD", "DUKPT data key", uses=frozenset({"data"}), exportable=False)

TABLES: Final[Mapping[Mode, dict[str, KeyType]]] = {
    "non-pci": _table(*_COMMON, KeyType("002", "TMK/TPK/PVK", _TMK_CARRIES, frozenset({"pin", "pvk"}))),
    "pci": _table(
        *_COMMON,
        KeyType("002", "PVK", uses=frozenset({"pvk"})),
        KeyType("70D", "TPK", uses=frozenset({"pin"})),
        KeyType("80D", "TMK", _TMK_CARRIES),
    ),
}


# The key type a role has under each table: commands that name a role (HA's TMK, A0's
# TMK flag) ask the host rather than hard-coding 002, which is a PVK only in PCI mode.
ROLES: Final[Mapping[Mode, dict[str, str]]] = {
    "non-pci": {"ZMK": "000", "ZPK": "001", "TMK": "002", "TPK": "002", "PVK": "002", "TAK": "003", "CVK": "402"},
    "pci": {"ZMK": "000", "ZPK": "001", "TMK": "80D", "TPK": "70D", "PVK": "002", "TAK": "003", "CVK": "402"},
}


class KeyTypeTable:
    def __init__(self, mode: Mode = "non-pci") -> None:
        self.mode = mode
        self._types = TABLES[mode]
        self._roles = ROLES[mode]

    def code_for(self, role: str) -> str:
        """The key type code of `role` (e.g. "TMK") in this table; error 04 for an unknown role."""
        code = self._roles.get(role.upper())
        if code is None:
            raise HostError("04", f"no key type for role {role!r} in the {self.mode} key type table")
        return code

    def get(self, code: str) -> KeyType:
        key_type = self._types.get(code.upper())
        if key_type is None:
            raise HostError("04", f"key type {code!r} is not in the {self.mode} key type table")
        return key_type

    @staticmethod
    def check_use(key_type: KeyType, use: Use) -> None:
        """May a key of `key_type` be used for `use`? Error 29 if not."""
        if use not in key_type.uses:
            raise HostError("29", f"a {key_type.name} ({key_type.code}) may not be used as a {use.upper()}")

    def check_carries(self, kek: KeyType, target: KeyType) -> None:
        """May a key of type `kek` wrap/unwrap a key of type `target`? Error 29 if not."""
        if not target.exportable:
            raise HostError("29", f"a {target.name} never leaves the host")
        if not kek.carries:
            raise HostError("29", f"a {kek.name} ({kek.code}) may not encrypt or decrypt keys")
        if target.code not in kek.carries:
            raise HostError("29", f"a {kek.name} ({kek.code}) may not carry a {target.name} ({target.code})")
