"""Reading a file only its owner may access: the LMK files and the HTTP token file.

One rule for every secret the server reads from disk: a regular file whose mode gives
group and others nothing. Checked on the descriptor that is then read, so the file cannot
be swapped between the check and the read. Messages name the file and the problem, never
its content.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class PrivateFileError(Exception):
    """The file is missing, unreadable, not a regular file, a refused symlink, or open to other users."""


def read_private(path: Path, *, follow_symlinks: bool, limit: int = -1) -> bytes:
    """The file's bytes (at most `limit` of them; all with -1).

    `follow_symlinks=False` refuses a symbolic link in the file's place (name the file itself);
    True checks the file it names (as a Kubernetes secret volume lays them out).
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise PrivateFileError(f"{path}: is a symlink; name the file itself") from None
        raise PrivateFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise PrivateFileError(f"{path}: not a regular file")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PrivateFileError(f"{path}: accessible to other users (mode {stat.filemode(mode)}); chmod go-rwx it")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(limit)
    finally:
        os.close(fd)
