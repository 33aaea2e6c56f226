"""What every process that runs plugins builds from the configuration: the LMK set, the host and
the plugin limits. `hsmd serve` (hsmd.app) and each worker process (hsmd.worker) call these; a
worker loads the LMK files itself.
"""

from __future__ import annotations

from hsmd.config import Config
from hsmd.host import Host, LmkSet
from hsmd.host.key_types import KeyTypeTable
from hsmd.host.lmk import AnyLmk, Lmk
from hsmd.host.lmk_file import TEST_LMKS, LmkFileError, load_lmk_file
from hsmd.host.services import PinSettings
from hsmd.host.status import UnitStatus
from hsmd.runtime import Limits

__all__ = ["StartupError", "build_host", "load_lmks", "runtime_limits"]


class StartupError(Exception):
    """The unit cannot start; the message is one line for the operator."""


def load_lmks(config: Config) -> LmkSet:
    """The LMKs of config.lmk.files (ids 00, 01, ...) then the public test LMKs of config.lmk.test_lmks;
    the variant test LMK as 00 when neither names any."""
    lmks: dict[int, AnyLmk] = {}
    for lmk_id, path in enumerate(config.lmk.files):
        try:
            lmks[lmk_id] = load_lmk_file(path)
        except LmkFileError as exc:
            raise StartupError(f"lmk.files: {exc}") from exc
    for kind in config.lmk.test_lmks or (() if config.lmk.files else ("variant",)):
        lmks[len(lmks)] = TEST_LMKS[kind]
    if len(lmks) > 100:
        raise StartupError(f"lmk: {len(lmks)} LMKs, identifiers run from 00 to 99")
    if config.lmk.default not in lmks:
        raise StartupError(f"lmk.default: LMK {config.lmk.default:02d} is not loaded ({len(lmks)} LMK(s): 00-{len(lmks) - 1:02d})")
    return LmkSet(lmks, default=config.lmk.default, key_change=_key_change(config, lmks))


def _key_change(config: Config, lmks: dict[int, AnyLmk]) -> dict[int, Lmk]:
    """The old LMKs of config.lmk.key_change, by the identifier of the (variant) LMK each migrates to."""
    if len(config.lmk.key_change) > len(lmks):
        raise StartupError(f"lmk.key_change: {len(config.lmk.key_change)} entries for {len(lmks)} LMK(s)")
    old: dict[int, Lmk] = {}
    for lmk_id, path in enumerate(config.lmk.key_change):
        if path is None:
            continue
        try:
            lmk = load_lmk_file(path)
        except LmkFileError as exc:
            raise StartupError(f"lmk.key_change: {exc}") from exc
        if not isinstance(lmk, Lmk):
            raise StartupError(f"lmk.key_change: {path}: key change storage holds a variant LMK, this is a key-block LMK")
        if not isinstance(lmks[lmk_id], Lmk):
            raise StartupError(f"lmk.key_change: {path}: LMK {lmk_id:02d} is a key-block LMK, key change storage is for variant LMKs")
        old[lmk_id] = lmk
    return old


def build_host(config: Config) -> Host:
    h = config.hsm
    pin_settings = PinSettings(h.authorised, h.pin_under_lmk, h.decimalisation_tables)
    status = UnitStatus(h.serial_number, config.server.max_connections)
    return Host(load_lmks(config), h.firmware_number, KeyTypeTable(h.key_type_table), pin_settings, status)


def runtime_limits(config: Config) -> Limits:
    p = config.plugins
    return Limits(fuel=p.fuel, deadline_ms=p.deadline_ms, memory_bytes=p.memory_mb * 1024 * 1024, recycle_after=p.recycle_after)
