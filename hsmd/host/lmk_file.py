"""LMK files: how an operator gives the host its LMKs.

Format (text, UTF-8; `#` starts a comment, blank lines are ignored). The first
line that is not a comment may name the LMK's kind, `kind = KIND`, one of
`variant` (the default when the line is absent: files written before key-block
LMKs keep loading), `keyblock-3des` or `keyblock-aes`.

A variant LMK: one pair per line, 20 lines, in order 00-01 … 38-39, each 32 hex
characters, optionally preceded by its pair name:

    kind = variant
    00-01 01010101010101017902CD1FD36EF8BA
    02-03 20202020202020203131313131313131
    …

A key-block LMK: one line holding the key, optionally preceded by `key`: 48 hex
characters (triple-length TDES, odd parity) for `keyblock-3des`, 64 (AES-256) for
`keyblock-aes`, the key-block LMKs a payShield 10K holds:

    kind = keyblock-aes
    key 9B71333A13F9FAE72F9D0E2DAB4AD6784718012F9244033F3F26A2DE0C8AA11A

The file holds the unit's most sensitive secret, so start-up stops (one line that
names the file and the problem, never a key value) when it is a symlink, grants any
permission to group or others, is not UTF-8, names an unknown kind, or does not hold
what its kind needs (20 odd-parity pairs; one odd-parity TDES key; one AES key).
A symlink is refused because the mode checked would be the link target's, chosen by
whoever can write the link's directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final, Literal, get_args, overload

from hsmd.host import keys
from hsmd.host.keyblock import TEST_KEYBLOCK_LMK_3DES, TEST_KEYBLOCK_LMK_AES, KeyBlockLmk, Kind
from hsmd.host.lmk import TEST_LMK, AnyLmk, Lmk
from hsmd.private_file import PrivateFileError, read_private

LmkKind = Literal["variant", "keyblock-3des", "keyblock-aes"]
KINDS: Final[tuple[str, ...]] = get_args(LmkKind)
# The public test LMK of each kind (flagged: the server warns at start-up).
TEST_LMKS: Final[dict[str, AnyLmk]] = {"variant": TEST_LMK, "keyblock-3des": TEST_KEYBLOCK_LMK_3DES, "keyblock-aes": TEST_KEYBLOCK_LMK_AES}

_LINE = re.compile(r"^(?:(?P<name>\d\d-\d\d)\s+)?(?P<hex>[0-9A-Fa-f]{32})$")
_KIND = re.compile(r"^kind\s*=\s*(?P<kind>\S+)$")
_KEY = re.compile(r"^(?:key\s+)?(?P<hex>[0-9A-Fa-f]+)$")
_KEY_HEX: Final = {"keyblock-3des": 48, "keyblock-aes": 64}
_BLOCK_KINDS: Final[dict[str, Kind]] = {"keyblock-3des": "3des", "keyblock-aes": "aes"}  # file kind -> KeyBlockLmk.kind


class LmkFileError(Exception):
    """The file is unusable; the message names the file and the line."""


def _read_private(path: Path) -> bytes:
    """The file's bytes, if it is a regular file only its owner may access (a symlink is refused)."""
    try:
        return read_private(path, follow_symlinks=False)
    except PrivateFileError as exc:
        raise LmkFileError(str(exc)) from None


def _lines(path: Path, data: bytes) -> list[tuple[int, str]]:
    """(line number, content) of the lines that are not blank or comments."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LmkFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    lines = [(number, raw.split("#", 1)[0].strip()) for number, raw in enumerate(text.splitlines(), start=1)]
    return [(number, line) for number, line in lines if line]


def load_lmk_file(path: Path) -> AnyLmk:
    lines = _lines(path, _read_private(path))
    kind = "variant"
    if lines and (match := _KIND.match(lines[0][1])):
        kind = match["kind"]
        if kind not in KINDS:
            raise LmkFileError(f"{path}:{lines[0][0]}: unknown LMK kind {kind!r} (one of {', '.join(KINDS)})")
        lines = lines[1:]
    if kind == "variant":
        return _variant(path, lines)
    return _keyblock(path, kind, lines)


def _variant(path: Path, lines: list[tuple[int, str]]) -> Lmk:
    pairs: list[str] = []
    for number, line in lines:
        match = _LINE.match(line)
        if not match:
            raise LmkFileError(f"{path}:{number}: expected [NN-NN] and 32 hex characters")
        expected = f"{2 * len(pairs):02d}-{2 * len(pairs) + 1:02d}"
        if match["name"] and match["name"] != expected:
            raise LmkFileError(f"{path}:{number}: pair {match['name']} out of order, expected {expected}")
        if not keys.odd_parity(bytes.fromhex(match["hex"])):
            raise LmkFileError(f"{path}:{number}: pair {expected} does not have odd parity")
        pairs.append(match["hex"])
    if len(pairs) != 20:
        raise LmkFileError(f"{path}: {len(pairs)} LMK pairs, a variant LMK has 20")
    lmk = Lmk.from_hex(pairs)
    # The public test LMK stays public whichever file it comes from: flag it so start-up warns.
    return Lmk(lmk.pairs, is_test=lmk.pairs == TEST_LMK.pairs)


def _keyblock(path: Path, kind: str, lines: list[tuple[int, str]]) -> KeyBlockLmk:
    digits = _KEY_HEX[kind]
    if len(lines) != 1:
        raise LmkFileError(f"{path}: {len(lines)} key lines, a {kind} LMK is one key of {digits} hex characters")
    number, line = lines[0]
    match = _KEY.match(line)
    if not match or len(match["hex"]) != digits:
        raise LmkFileError(f"{path}:{number}: expected [key] and {digits} hex characters")
    key = bytes.fromhex(match["hex"])
    if kind == "keyblock-3des" and not keys.odd_parity(key):
        raise LmkFileError(f"{path}:{number}: the TDES key does not have odd parity")
    test = TEST_LMKS[kind]
    return KeyBlockLmk(_BLOCK_KINDS[kind], key, is_test=isinstance(test, KeyBlockLmk) and key == test.key)


@overload
def generate_lmk(kind: Literal["variant"] = "variant") -> Lmk: ...
@overload
def generate_lmk(kind: LmkKind) -> AnyLmk: ...
def generate_lmk(kind: LmkKind = "variant") -> AnyLmk:
    """A new random LMK of `kind`: 20 double-length pairs with odd parity and distinct halves (variant),
    a triple-length TDES key with odd parity (keyblock-3des) or an AES-256 key (keyblock-aes)."""
    if kind == "variant":
        return Lmk(tuple(keys.generate(16) for _ in range(20)))
    return KeyBlockLmk.generate(_BLOCK_KINDS[kind])


def lmk_kind(lmk: AnyLmk) -> LmkKind:
    if isinstance(lmk, Lmk):
        return "variant"
    return "keyblock-3des" if lmk.kind == "3des" else "keyblock-aes"


def write_lmk_file(path: Path, lmk: AnyLmk) -> None:
    """Create `path` (mode 0600; refuses to overwrite) holding `lmk` in the format above."""
    kind = lmk_kind(lmk)
    if isinstance(lmk, Lmk):
        lines = [f"# hsmd LMK file: variant LMK, 20 pairs. Check value {lmk.check_value}.\n", f"kind = {kind}\n"]
        lines += [f"{2 * i:02d}-{2 * i + 1:02d} {pair.hex().upper()}\n" for i, pair in enumerate(lmk.pairs)]
    else:
        lines = [f"# hsmd LMK file: {kind} LMK. Check value {lmk.check_value}.\n", f"kind = {kind}\n", f"key {lmk.key.hex().upper()}\n"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
