"""Local Master Keys: 20 double-length DES pairs (00-01 … 38-39), and which one a request uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hsmd.host import des
from hsmd.host.errors import HostError

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


class LmkSet:
    """The LMKs loaded in this unit, addressed by the two-digit `%nn` identifier."""

    def __init__(self, lmks: Mapping[int, Lmk], default: int = 0) -> None:
        if default not in lmks:
            raise ValueError(f"default LMK {default:02d} is not loaded")
        self._lmks = dict(lmks)
        self._default = default
        # Check values are fixed per LMK: compute them once, not per NC.
        self._check_values = {i: lmk.check_value for i, lmk in self._lmks.items()}

    def select(self, lmk_id: int | None) -> Lmk:
        lmk = self._lmks.get(self._default if lmk_id is None else lmk_id)
        if lmk is None:
            raise HostError("13", f"LMK identifier {lmk_id} is not loaded")
        return lmk

    def check_value(self, lmk_id: int | None) -> str:
        self.select(lmk_id)
        return self._check_values[self._default if lmk_id is None else lmk_id]

    def check_values(self) -> dict[int, str]:
        return dict(self._check_values)

    @property
    def default(self) -> int:
        return self._default

    @property
    def any_test(self) -> bool:
        return any(lmk.is_test for lmk in self._lmks.values())

    def __len__(self) -> int:
        return len(self._lmks)
