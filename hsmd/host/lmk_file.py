"""LMK files: how an operator gives the host its LMKs.

Format (text, UTF-8): one LMK pair per line, 20 lines, in order 00-01 … 38-39,
each 32 hex characters, optionally preceded by its pair name:

    # comments and blank lines are ignored
    00-01 01010101010101017902CD1FD36EF8BA
    02-03 20202020202020203131313131313131
    …

The file holds the unit's most sensitive secret, so start-up stops (one line that
names the file and the problem, never a key value) when it is a symlink, grants any
permission to group or others, is not UTF-8, or does not hold 20 odd-parity pairs.
A symlink is refused because the mode checked would be the link target's, chosen by
whoever can write the link's directory.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from hsmd.host import keys
from hsmd.host.lmk import TEST_LMK, Lmk

_LINE = re.compile(r"^(?:(?P<name>\d\d-\d\d)\s+)?(?P<hex>[0-9A-Fa-f]{32})$")


class LmkFileError(Exception):
    """The file is unusable; the message names the file and the line."""


def _read_private(path: Path) -> bytes:
    """The file's bytes, if it is a regular file only its owner may access."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LmkFileError(f"{path}: is a symlink; name the file itself") from exc
        raise LmkFileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise LmkFileError(f"{path}: not a regular file")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise LmkFileError(f"{path}: accessible to other users (mode {stat.filemode(mode)}); chmod go-rwx it")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read()
    finally:
        os.close(fd)


def load_lmk_file(path: Path) -> Lmk:
    data = _read_private(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LmkFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    pairs: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
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


def generate_lmk() -> Lmk:
    """A new random variant LMK: 20 double-length pairs with odd parity and distinct halves."""
    return Lmk(tuple(keys.generate(16) for _ in range(20)))


def write_lmk_file(path: Path, lmk: Lmk) -> None:
    """Create `path` (mode 0600; refuses to overwrite) holding `lmk` in the format above."""
    lines = [f"# hsmd LMK file: variant LMK, 20 pairs. Check value {lmk.check_value}.\n"]
    lines += [f"{2 * i:02d}-{2 * i + 1:02d} {pair.hex().upper()}\n" for i, pair in enumerate(lmk.pairs)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
