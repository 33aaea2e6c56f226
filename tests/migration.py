"""An LMK migration for BW and BG: the public test LMK in key change storage, replaced by another
variant LMK whose pairs are known, so the oracle can compute under both."""

from __future__ import annotations

from pathlib import Path

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.lmk import TEST_LMK_PAIRS, Lmk
from hsmd.host.lmk_file import write_lmk_file
from hsmd.host.services import PinSettings
from tests.conftest import FIRMWARE

# The new LMK: the test LMK's pairs moved up by one (04-05 holds the test LMK's 06-07, and so on).
NEW_PAIRS = TEST_LMK_PAIRS[1:] + TEST_LMK_PAIRS[:1]
NEW_LMK = Lmk.from_hex(NEW_PAIRS)


def oracle_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """An LMK's pairs (pairs[i] is 2i-(2i+1)) as tests/oracle.py addresses them: by key type pair code
    (payshield.md: 00 = 04-05, 01 = 06-07, then 02 = 14-15 up to 0E = 38-39)."""
    return {f"{code:02X}": pairs[code + 2 if code < 2 else code + 5] for code in range(15)}


NEW_ORACLE_PAIRS = oracle_pairs(NEW_PAIRS)


def migrating_host(*, pin_under_lmk: str = "encrypted", authorised: bool = False, old: bool = True) -> Host:
    """LMK 00 is the new LMK; with `old`, the test LMK is its old LMK in key change storage."""
    lmks = LmkSet({0: NEW_LMK}, key_change={0: TEST_LMK} if old else None)
    return Host(lmks, FIRMWARE, pin_settings=PinSettings(authorised=authorised, pin_under_lmk=pin_under_lmk))


def lmk_files(directory: Path) -> tuple[Path, Path]:
    """The new and the old LMK as files (mode 0600), for a served unit's [lmk] files and key_change."""
    write_lmk_file(directory / "new.lmk", NEW_LMK)
    write_lmk_file(directory / "old.lmk", TEST_LMK)
    return directory / "new.lmk", directory / "old.lmk"
