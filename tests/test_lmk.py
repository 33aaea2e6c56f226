"""LMK files, several LMKs selected by %nn, and the `hsmd lmk generate` tool."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hsmd.app import StartupError, load_lmks
from hsmd.cli import main
from hsmd.config import Config
from hsmd.host import TEST_LMK, Host, HostError, RequestScope
from hsmd.host.lmk import TEST_LMK_PAIRS, Lmk
from hsmd.host.lmk_file import LmkFileError, generate_lmk, load_lmk_file, write_lmk_file
from tests import oracle


def lmk_file(directory: Path, name: str, pairs: list[str], mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text("# test\n" + "".join(f"{2 * i:02d}-{2 * i + 1:02d} {p}\n" for i, p in enumerate(pairs)))
    path.chmod(mode)
    return path


def config_with(files: tuple[Path, ...], default: int = 0) -> Config:
    base = Config()
    return replace(base, lmk=replace(base.lmk, files=files, default=default))


def test_lmk_file_round_trips_through_generate_and_load(tmp_path: Path) -> None:
    lmk = generate_lmk()
    write_lmk_file(tmp_path / "new.lmk", lmk)
    assert (tmp_path / "new.lmk").stat().st_mode & 0o777 == 0o600
    assert load_lmk_file(tmp_path / "new.lmk") == lmk


def test_test_lmk_file_loads_to_the_test_lmk_pairs_and_is_flagged(tmp_path: Path) -> None:
    loaded = load_lmk_file(lmk_file(tmp_path, "t.lmk", list(TEST_LMK_PAIRS)))
    assert isinstance(loaded, Lmk)  # a file without a kind line is a variant LMK
    assert loaded.pairs == TEST_LMK.pairs
    assert loaded.is_test


_EVEN_PARITY_PAIR = "00" + TEST_LMK_PAIRS[5][2:]  # 0x00 has even parity


@pytest.mark.parametrize(
    ("pairs", "mode", "message"),
    [
        (list(TEST_LMK_PAIRS), 0o644, "x.lmk: accessible to other users (mode -rw-r--r--); chmod go-rwx it"),
        (list(TEST_LMK_PAIRS), 0o640, "x.lmk: accessible to other users (mode -rw-r-----); chmod go-rwx it"),
        (list(TEST_LMK_PAIRS), 0o604, "x.lmk: accessible to other users (mode -rw----r--); chmod go-rwx it"),
        (list(TEST_LMK_PAIRS[:19]), 0o600, "x.lmk: 19 LMK pairs, a variant LMK has 20"),
        ([*TEST_LMK_PAIRS[:19], "XYZ"], 0o600, "x.lmk:21: expected [NN-NN] and 32 hex characters"),
        ([*TEST_LMK_PAIRS[:5], _EVEN_PARITY_PAIR, *TEST_LMK_PAIRS[6:]], 0o600, "x.lmk:7: pair 10-11 does not have odd parity"),
    ],
)
def test_unusable_lmk_files_are_refused_with_the_reason(tmp_path: Path, pairs: list[str], mode: int, message: str) -> None:
    with pytest.raises(LmkFileError) as refused:
        load_lmk_file(lmk_file(tmp_path, "x.lmk", pairs, mode))
    assert str(refused.value) == f"{tmp_path}/{message}"
    assert not any(pair in str(refused.value) for pair in pairs), "an LMK file error never shows key material"


def test_an_lmk_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    path = lmk_file(tmp_path, "x.lmk", list(TEST_LMK_PAIRS))
    path.write_bytes(b"# \xff\xfe\n" + path.read_bytes())
    with pytest.raises(LmkFileError) as refused:
        load_lmk_file(path)
    assert str(refused.value) == f"{path}: not UTF-8 text (byte 2)"


def test_an_lmk_file_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    target = lmk_file(tmp_path, "real.lmk", list(TEST_LMK_PAIRS))
    (tmp_path / "link.lmk").symlink_to(target)
    with pytest.raises(LmkFileError) as refused:
        load_lmk_file(tmp_path / "link.lmk")
    assert str(refused.value) == f"{tmp_path}/link.lmk: is a symlink; name the file itself"


def test_a_directory_is_not_an_lmk_file(tmp_path: Path) -> None:
    (tmp_path / "dir.lmk").mkdir(mode=0o700)
    with pytest.raises(LmkFileError) as refused:
        load_lmk_file(tmp_path / "dir.lmk")
    assert str(refused.value) == f"{tmp_path}/dir.lmk: not a regular file"


def test_several_lmks_are_selected_by_identifier(tmp_path: Path) -> None:
    other = generate_lmk()
    write_lmk_file(tmp_path / "01.lmk", other)
    lmks = load_lmks(config_with((lmk_file(tmp_path, "00.lmk", list(TEST_LMK_PAIRS)), tmp_path / "01.lmk"), default=1))
    host = Host(lmks, "0007-E000")
    assert host.lmk_check_value(RequestScope("t"), None) == other.check_value
    assert host.lmk_check_value(RequestScope("t"), 0) == TEST_LMK.check_value
    assert lmks.any_test  # LMK 00 is the public test LMK, though it came from a file


def test_a_generated_lmk_is_not_flagged_as_test(tmp_path: Path) -> None:
    write_lmk_file(tmp_path / "00.lmk", generate_lmk())
    assert not load_lmks(config_with((tmp_path / "00.lmk",))).any_test


def test_default_naming_an_lmk_that_is_not_loaded_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=r"^lmk\.default: LMK 03 is not loaded \(1 LMK\(s\): 00-00\)$"):
        load_lmks(config_with((lmk_file(tmp_path, "00.lmk", list(TEST_LMK_PAIRS)),), default=3))


def test_no_lmk_files_means_the_flagged_test_lmk() -> None:
    lmks = load_lmks(Config())
    assert lmks.any_test
    assert lmks.select(None) is TEST_LMK


def test_lmk_generate_prints_the_check_value_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "fresh.lmk"
    assert main(["lmk", "generate", str(target)]) == 0
    check_value = load_lmk_file(target).check_value
    assert capsys.readouterr().out == f"{target}: LMK check value {check_value}\n"
    assert main(["lmk", "generate", str(target)]) == 1
    assert capsys.readouterr().err == f"hsmd: cannot create {target}: File exists\n"


def with_key_change(config: Config, key_change: tuple[Path | None, ...]) -> Config:
    return replace(config, lmk=replace(config.lmk, key_change=key_change))


def test_key_change_storage_holds_the_old_lmk_of_each_lmk_named(tmp_path: Path) -> None:
    # LMK 00 (a new one) migrates from the test LMK; LMK 01 has no old LMK.
    new = generate_lmk()
    write_lmk_file(tmp_path / "new.lmk", new)
    write_lmk_file(tmp_path / "other.lmk", generate_lmk())
    old = lmk_file(tmp_path, "old.lmk", list(TEST_LMK_PAIRS))
    lmks = load_lmks(with_key_change(config_with((tmp_path / "new.lmk", tmp_path / "other.lmk")), (old, None)))
    assert lmks.old(None).pairs == TEST_LMK.pairs
    assert lmks.old(0).pairs == TEST_LMK.pairs
    with pytest.raises(HostError) as empty:
        lmks.old(1)
    assert empty.value.code == "33"
    with pytest.raises(HostError) as unknown:
        lmks.old(2)
    assert unknown.value.code == "13"


def test_key_change_storage_is_read_never_written(tmp_path: Path) -> None:
    # A key under the old (test) LMK comes out under the new one; nothing takes the old LMK for writing.
    write_lmk_file(tmp_path / "new.lmk", generate_lmk())
    old = lmk_file(tmp_path, "old.lmk", list(TEST_LMK_PAIRS))
    host = Host(load_lmks(with_key_change(config_with((tmp_path / "new.lmk",)), (old,))), "0007-E000")
    scope = RequestScope("t")
    tpk_old = host.key_from_old_lmk(scope, "002", "0406FBB23A5214DF", None)  # a TPK under the test LMK
    under_new = host.key_to_lmk(scope, tpk_old, "Z", None)
    tpk_kcv = oracle.kcv(bytes.fromhex("0B681FC20E62C734"))  # the TPK's clear value (ThalesSim's tests)
    assert host.key_check_value(scope, tpk_old) == tpk_kcv
    assert host.key_check_value(scope, host.key_from_lmk(scope, "002", under_new, None)) == tpk_kcv
    assert not hasattr(host, "key_to_old_lmk") and not hasattr(host, "pin_to_old_lmk")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (2, r"^lmk\.key_change: 2 entries for 1 LMK\(s\)$"),
        ("keyblock", r"^lmk\.key_change: .*kb\.lmk: key change storage holds a variant LMK, this is a key-block LMK$"),
        ("open", r"^lmk\.key_change: .*open\.lmk"),
        ("for a key-block LMK", r"^lmk\.key_change: .*old\.lmk: LMK 01 is a key-block LMK, key change storage is for variant LMKs$"),
    ],
)
def test_unusable_key_change_storage_stops_start_up(tmp_path: Path, entries: object, message: str) -> None:
    write_lmk_file(tmp_path / "new.lmk", generate_lmk())
    if entries == 2:
        key_change: tuple[Path | None, ...] = (None, None)
    elif entries == "keyblock":
        write_lmk_file(tmp_path / "kb.lmk", generate_lmk("keyblock-3des"))
        key_change = (tmp_path / "kb.lmk",)
    elif entries == "open":
        key_change = (lmk_file(tmp_path, "open.lmk", list(TEST_LMK_PAIRS), mode=0o644),)
    else:  # an old LMK for LMK 01, a key-block LMK
        write_lmk_file(tmp_path / "kb.lmk", generate_lmk("keyblock-aes"))
        old = lmk_file(tmp_path, "old.lmk", list(TEST_LMK_PAIRS))
        with pytest.raises(StartupError, match=message):
            load_lmks(with_key_change(config_with((tmp_path / "new.lmk", tmp_path / "kb.lmk")), (None, old)))
        return
    with pytest.raises(StartupError, match=message):
        load_lmks(with_key_change(config_with((tmp_path / "new.lmk",)), key_change))
