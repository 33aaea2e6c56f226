"""Local Master Keys, and which one a request uses.

A unit holds LMKs of two kinds side by side, each under its two-digit `%nn`
identifier: variant LMKs (20 double-length DES pairs, 00-01 … 38-39; keys in
schemes Z U T X Y) and key-block LMKs (one TDES or AES key; every key a Thales
key block, scheme S: hsmd.host.keyblock). A request's key must match the
kind of the LMK it selects (error A1 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hsmd.host import des
from hsmd.host.errors import HostError
from hsmd.host.keyblock import INCOMPATIBLE_LMK, KeyBlockLmk

# The public test LMK that jPOS, ThalesSim and real units in test mode use
# (shared/reference/payshield.md). Never for production: the server warns loudly.
TEST_LMK_PAIRS: tuple[str, ...] = (
    "01010101010101017902CD1FD36EF8BA",  # 00-01
    "20202020202020203131313131313131",  # 02-03
    "40404040404040405151515151515151",  # 04-05
    "61616161616161617070707070707070",  # 06-07
    "80808080808080809191919191919191",  # 08-09
    "A1A1A1A1A1A1A1A1B0B0B0B0B0B0B0B0",  # 10-11
    "C1C1010101010101D0D0010101010101",  # 12-13
    "E0E0010101010101F1F1010101010101",  # 14-15
    "1C587F1C13924FEF0101010101010101",  # 16-17
    "01010101010101010101010101010101",  # 18-19
    "02020202020202020404040404040404",  # 20-21
    "07070707070707071010101010101010",  # 22-23
    "13131313131313131515151515151515",  # 24-25
    "16161616161616161919191919191919",  # 26-27
    "1A1A1A1A1A1A1A1A1C1C1C1C1C1C1C1C",  # 28-29
    "23232323232323232525252525252525",  # 30-31
    "26262626262626262929292929292929",  # 32-33
    "2A2A2A2A2A2A2A2A2C2C2C2C2C2C2C2C",  # 34-35
    "2F2F2F2F2F2F2F2F3131313131313131",  # 36-37
    "01010101010101010101010101010101",  # 38-39
)


@dataclass(frozen=True)
class Lmk:
    """A variant LMK. `pairs[i]` is the 16-byte pair (2i)-(2i+1)."""

    pairs: tuple[bytes, ...] = field(repr=False)
    is_test: bool = False

    def __post_init__(self) -> None:
        if len(self.pairs) != 20 or any(len(p) != 16 for p in self.pairs):
            raise ValueError("a variant LMK is 20 pairs of 16 bytes")

    @classmethod
    def from_hex(cls, pairs: Sequence[str], *, is_test: bool = False) -> Lmk:
        return cls(tuple(bytes.fromhex(p) for p in pairs), is_test=is_test)

    @property
    def check_value(self) -> str:
        """The 16 hex characters NC reports for this LMK."""
        return des.lmk_check_value(self.pairs)


TEST_LMK = Lmk.from_hex(TEST_LMK_PAIRS, is_test=True)


AnyLmk = Lmk | KeyBlockLmk

KEY_CHANGE_STORAGE = "33"  # the payShield error "LMK key change storage" (empty, here)


class LmkSet:
    """The LMKs loaded in this unit, addressed by the two-digit `%nn` identifier: variant and key-block alike."""

    def __init__(self, lmks: Mapping[int, AnyLmk], default: int = 0, key_change: Mapping[int, Lmk] | None = None) -> None:
        if default not in lmks:
            raise ValueError(f"default LMK {default:02d} is not loaded")
        self._lmks = dict(lmks)
        self._default = default
        # Key change storage: the old LMK each LMK migrates from (BW, BG); read, never written.
        self._key_change = dict(key_change or {})
        if not self._key_change.keys() <= self._lmks.keys():
            raise ValueError("key change storage for an LMK that is not loaded")
        if not all(isinstance(lmk, Lmk) for lmk in [*self._key_change.values(), *(self._lmks[i] for i in self._key_change)]):
            raise ValueError("key change storage is for variant LMKs, holding variant LMKs")
        # Check values are fixed per LMK: compute them once, not per NC.
        self._check_values = {i: lmk.check_value for i, lmk in self._lmks.items()}

    def resolve(self, lmk_id: int | None) -> int:
        """The identifier a request means: its own, or the default; error 13 if that LMK is not loaded."""
        resolved = self._default if lmk_id is None else lmk_id
        if resolved not in self._lmks:
            raise HostError("13", f"LMK identifier {lmk_id} is not loaded")
        return resolved

    def get(self, lmk_id: int | None) -> AnyLmk:
        """The LMK a request selects, of either kind (13 if not loaded)."""
        return self._lmks[self.resolve(lmk_id)]

    def select(self, lmk_id: int | None) -> Lmk:
        """The variant LMK a request selects: 13 if not loaded, A1 if it is a key-block LMK."""
        lmk = self.get(lmk_id)
        if not isinstance(lmk, Lmk):
            raise HostError(INCOMPATIBLE_LMK, f"LMK {self.resolve(lmk_id):02d} is a key-block LMK: this needs a variant LMK")
        return lmk

    def keyblock(self, lmk_id: int | None) -> KeyBlockLmk:
        """The key-block LMK a request selects: 13 if not loaded, A1 if it is a variant LMK."""
        lmk = self.get(lmk_id)
        if not isinstance(lmk, KeyBlockLmk):
            raise HostError(INCOMPATIBLE_LMK, f"LMK {self.resolve(lmk_id):02d} is a variant LMK: key blocks need a key-block LMK")
        return lmk

    def old(self, lmk_id: int | None) -> Lmk:
        """The old LMK in the key change storage of the LMK a request selects (33 if there is none)."""
        resolved = self.resolve(lmk_id)
        if resolved not in self._key_change:
            raise HostError(KEY_CHANGE_STORAGE, f"LMK {resolved:02d} has no old LMK in key change storage")
        return self._key_change[resolved]

    def check_value(self, lmk_id: int | None) -> str:
        return self._check_values[self.resolve(lmk_id)]

    def check_values(self) -> dict[int, str]:
        return dict(self._check_values)

    def items(self) -> list[tuple[int, AnyLmk]]:
        """(identifier, LMK) in identifier order."""
        return sorted(self._lmks.items(), key=lambda item: item[0])

    @property
    def default(self) -> int:
        return self._default

    @property
    def any_test(self) -> bool:
        return any(lmk.is_test for lmk in self._lmks.values())

    def __len__(self) -> int:
        return len(self._lmks)
