"""POST /run's bearer token: read once at start-up from a file only its owner may access."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Final

from hsmd.private_file import PrivateFileError, read_private

__all__ = ["TokenFileError", "read_token", "token_matches"]

_MAX_SIZE: Final = 4096


class TokenFileError(Exception):
    """The token file is unusable; the message names the file and the problem, never its content."""


def read_token(path: Path) -> bytes:
    """The token: the file's one line of visible ASCII, surrounding whitespace removed.

    Refused when missing, not a regular file, accessible to group or others, empty, or not
    one line of visible ASCII (it must fit an HTTP header). A symlink is followed: the mode
    checked is the file it names, as a Kubernetes secret volume lays them out.
    """
    try:
        data = read_private(path, follow_symlinks=True, limit=_MAX_SIZE + 1)
    except PrivateFileError as exc:
        raise TokenFileError(str(exc)) from None
    token = data.strip()
    if not token:
        raise TokenFileError(f"{path}: empty")
    if len(data) > _MAX_SIZE:
        raise TokenFileError(f"{path}: longer than {_MAX_SIZE} bytes")
    if not all(0x21 <= byte <= 0x7E for byte in token):
        raise TokenFileError(f"{path}: the token must be one line of visible ASCII characters")
    return token


def token_matches(authorization: str | None, token: bytes) -> bool:
    """Whether an Authorization header value is ``Bearer <token>`` (scheme case-insensitive).

    Compared in constant time over SHA-256 digests, so neither the content nor the length of
    the token leaks through timing.
    """
    if authorization is None:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    digest = hashlib.sha256(given.strip().encode("latin-1", "replace")).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token).digest())
