"""Reading a request's fixed-position fields, left to right.

A payShield request is a run of fields without separators, except for a few
delimited ones. `Fields` walks it with a cursor; every reader names the error
code it raises when the field is missing or malformed, defaulting to 15
(invalid input data). The trailer (0x19 …) has already been removed by the
host, but delimited readers still stop at 0x19 so a stray one never becomes
part of a field.
"""

from __future__ import annotations

from hsmd_sdk.errors import HsmError

_HEX = frozenset(b"0123456789ABCDEFabcdef")
_DIGITS = frozenset(b"0123456789")
_PRINTABLE = frozenset(range(0x20, 0x7F))
TRAILER = 0x19


# Set tests, not a Python loop over the bytes: a key block's hundred bytes cost a guest several µs that way.
def printable(raw: bytes) -> bool:
    """Every byte is printable ASCII (0x20-0x7E)."""
    return _PRINTABLE.issuperset(raw)


def is_hex(raw: bytes) -> bool:
    """Every byte is a hex digit, either case."""
    return _HEX.issuperset(raw)


class Fields:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def peek(self, n: int = 1) -> bytes:
        return self._data[self._pos : self._pos + n]

    def fixed(self, n: int, *, error: str = "15", what: str = "field") -> bytes:
        """Exactly `n` bytes."""
        end = self._pos + n
        if end > len(self._data):
            raise HsmError(error, f"{what}: {n} bytes expected, {self.remaining} left")
        value = self._data[self._pos : end]
        self._pos = end
        return value

    def text(self, n: int, *, error: str = "15", what: str = "field") -> str:
        """`n` printable ASCII characters."""
        raw = self.fixed(n, error=error, what=what)
        if not printable(raw):
            raise HsmError(error, f"{what}: not printable")
        return raw.decode("ascii")

    def hex(self, n: int, *, error: str = "15", what: str = "field") -> str:
        """`n` hex characters, returned upper-case."""
        raw = self.fixed(n, error=error, what=what)
        if not is_hex(raw):
            raise HsmError(error, f"{what}: not hex")
        return raw.decode("ascii").upper()

    def numeric(self, n: int, *, error: str = "15", what: str = "field") -> int:
        """`n` decimal digits."""
        raw = self.fixed(n, error=error, what=what)
        if not _DIGITS.issuperset(raw):
            raise HsmError(error, f"{what}: not numeric")
        return int(raw)

    def key(self, *, error: str = "15", what: str = "key", blocks: str = "S") -> str:
        """A key field: 16 H (scheme Z), or U/X + 32 H, or T/Y + 48 H, or a key block whose tag is in `blocks`.

        Key blocks: S + a Thales key block (under a key-block LMK, or under a ZMK), and where
        the command allows it (`blocks="SR"`) R + a TR-31 block; see `key_block`.
        """
        tag = self.peek(1)
        if tag in (b"S", b"R") and tag.decode("ascii") in blocks:
            return self.key_block(error=error, what=what)
        scheme = tag.upper()
        if scheme in (b"U", b"X"):
            return self.fixed(1).decode("ascii").upper() + self.hex(32, error=error, what=what)
        if scheme in (b"T", b"Y"):
            return self.fixed(1).decode("ascii").upper() + self.hex(48, error=error, what=what)
        return self.hex(16, error=error, what=what)

    def key_block(self, *, error: str = "15", what: str = "key block") -> str:
        """A tag (S or R) and the key block after it, whose length field (4 digits after the block's
        version ID, positions 2-5 of the field) counts the block without the tag. Returned as it stands:
        the block's header and optional blocks are authenticated text, never case-folded."""
        head = self.peek(6)
        if len(head) < 6 or not _DIGITS.issuperset(head[2:6]):
            raise HsmError(error, f"{what}: key block without a length field")
        length = int(head[2:6])
        if length < 16:
            raise HsmError(error, f"{what}: key block of {length} characters is shorter than its header")
        return self.text(1 + length, error=error, what=what)

    def key_pair(self, *, after: int, until: bytes | None = None, what: str = "key pair") -> str:
        """A key pair field (PVK A · B, CVK A · B): U/X + 32 H (T/Y + 48 H), S + key block, or bare 32 H: two single keys.

        A bare field is 16 H (one single-length key, which the commands refuse
        with 27) when 32 H would leave fewer than `after` bytes for the fields
        after it, counted up to `until` if given, else to the end (less a %nn).
        """
        if self.peek(1).upper() in (b"U", b"X", b"T", b"Y") or self.peek(1) == b"S":
            return self.key(what=what)  # a scheme-tagged pair, or one key block (a CVK or PVK under a key-block LMK)
        rest = self.peek(self.remaining)
        if until is not None:
            end = rest.find(until)
            room = end if end >= 0 else len(rest)
        else:
            room = len(rest) - (3 if rest[-3:-2] == b"%" else 0)
        return self.hex(32 if room >= 32 + after else 16, what=what)

    def key_scheme(self, *, allowed: str = "ZUTXY", error: str = "26", what: str = "key scheme") -> str:
        """A one-letter key scheme (error 26 if not one of `allowed`)."""
        scheme = self.text(1, error="15", what=what).upper()
        if scheme not in allowed:
            raise HsmError(error, f"{what} {scheme!r} not one of {allowed}")
        return scheme

    def atalla_variant(self) -> None:
        """The optional Atalla variant (1-2 digits) after a key under a ZMK: only its absence (or 0) is supported."""
        digits = b""
        while len(digits) < 2 and self.peek(1).isdigit():
            digits += self.fixed(1)
        if digits.strip(b"0"):
            raise HsmError("15", "Atalla key variants are not supported")

    def kcv_type(self) -> int:
        """Key check value type: 0 = 16 H, 1 = 6 H (error 15 otherwise)."""
        value = self.text(1, what="key check value type")
        if value not in ("0", "1"):
            raise HsmError("15", f"key check value type {value!r} not 0 or 1")
        return int(value)

    def hex_length(self, n: int = 4, *, error: str = "15", what: str = "length") -> int:
        """A length written as `n` hex digits (B2, M0, …)."""
        return int(self.hex(n, error=error, what=what), 16)

    def delimited(self, delimiter: bytes = b";", *, max_len: int | None = None, error: str = "15", what: str = "field") -> bytes:
        """Bytes up to (not including) `delimiter`, 0x19 or the end; consumes the delimiter if present."""
        data = self._data
        end = self._pos
        stop = delimiter[0]
        while end < len(data) and data[end] != stop and data[end] != TRAILER:
            end += 1
        value = data[self._pos : end]
        if max_len is not None and len(value) > max_len:
            raise HsmError(error, f"{what}: longer than {max_len}")
        self._pos = end + 1 if end < len(data) and data[end] == stop else end
        return value

    def optional(self, marker: bytes) -> bool:
        """Consume `marker` if the next bytes are it (an optional block's delimiter)."""
        if self._data.startswith(marker, self._pos):
            self._pos += len(marker)
            return True
        return False

    def lmk_id(self) -> int | None:
        """The optional LMK identifier `%nn`, which comes last before the trailer (error 13 if malformed)."""
        if not self.optional(b"%"):
            return None
        return self.numeric(2, error="13", what="LMK identifier")

    def before(self, tail: int, *, error: str = "15", what: str = "field") -> bytes:
        """A variable-width field: everything up to the last `tail` bytes and an optional final `%nn` LMK identifier."""
        end = len(self._data) - tail
        if self._data[-3:-2] == b"%" and self._data[-2:].isdigit():
            end -= 3  # the %nn comes after the fixed fields: it is the request's last field
        if end < self._pos:
            raise HsmError(error, f"{what}: {self.remaining} bytes left, {tail} needed after it")
        value = self._data[self._pos : end]
        self._pos = end
        return value

    def rest(self) -> bytes:
        value = self._data[self._pos :]
        self._pos = len(self._data)
        return value

    def end(self, *, error: str = "15") -> None:
        """Nothing may follow the last field."""
        if not self.at_end:
            raise HsmError(error, f"{self.remaining} unexpected bytes after the last field")
