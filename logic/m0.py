"""M0 — Encrypt a data block.

A message is encrypted under a data key, a ZEK (key type 00A, LMK 30-31) or a
DEK (00B, LMK 32-33), or under the DUKPT data key a BDK (009, LMK 28-29)
derives for a terminal's KSN, with single, double or triple length DES; or,
under a key-block LMK, under a key block (key type FFF, or 00A/00B/009 with a
block whose usage suits) of a data or BDK usage, TDES or AES.

Request:  M0 · mode flag (2 N: 00 ECB, 01 CBC, 02 CFB8, 03 CFB64, 05 OFB)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary, 2 text)
          · output format flag (1 N: 0 binary, 1 hex-encoded binary)
          · key type (3 H: 00A ZEK, 00B DEK, 009 BDK, FFF a key block)
          · key (16 H, or U/X + 32 H, or T/Y + 48 H, under the key type's LMK pair; or S + key block)
          · [KSN descriptor (3 H) · KSN (20 H; 24 H for an AES BDK): only with a BDK]
          · [IV (16 H; 32 H under an AES key): only with modes 01-03 and 05]
          · message length (4 H) · message (n B, n H or n A per the input format flag)
          · [%nn LMK identifier]
Response: M1 00 · [output IV (16 H; 32 H under an AES key): only with modes 01-03]
          · message length (4 H) · encrypted message (n B or n H per the output format flag)

The message length counts the characters of the message field: bytes for
binary and text, hex digits for hex-encoded data (a real unit's traces send
16 bytes as 32 hex digits with length 0020), and the answer's length counts
the characters of its message field the same way. No padding is added: the
message must be whole 8-byte blocks in every mode, so the length is a
non-zero multiple of 8 (binary, text) or 16 (hex). hsmd takes up to 32 KiB
(32768 bytes) of data; a unit is reported to stop at 32000 (hsmd's choice to
go to 32 KiB), and a hex answer must still fit its 4 H length.

The output IV chains the next call: the last 8 bytes of IV · ciphertext (for
CBC, the last ciphertext block). OFB (05) takes an IV and answers none, as
client codecs read M1 and M3 (the IV only for modes 01-03). Text is taken as it is (an ASCII unit: no
EBCDIC conversion); the ZEK content restrictions of a unit's configuration
are not modelled.

AES keys (a key block whose clear header says algorithm A) work in 16-byte
blocks: the message is whole 16-byte blocks, the IV and output IV are 32 H,
and mode 03 (CFB64, a DES mode) is refused (02); CFB8 stays CFB8. An AES BDK
derives its data key by AES DUKPT (ANSI X9.24-3, "data encryption, encrypt"
usage) from a 24 H KSN (the 8-byte initial key ID and the 32-bit counter);
its KSN descriptor is read as 3 H and not interpreted. No public source
gives the AES forms of these fields: they are hsmd's reading of the TDES
layout with AES's block and KSN sizes.

DUKPT: the KSN descriptor is three hex digits, the lengths of the BDK
identifier, the sub-key identifier and the device identifier; with the
21-bit counter's 5 digits they give the KSN's significant digits, right-
aligned in the 20 H field (e.g. 605: 16 digits after FFFF). The data key is
the X9.24-1:2009 "data encryption, request or both ways" key for that KSN,
for M0, M2 and M4 alike (hsmd's choice: the manual pages found do not say
which direction's key a unit uses).

Errors: 02 mode flag (03 under an AES key) · 03 input format flag · 04 output format flag · 05 key
type · 06 message length (not hex, zero, not whole blocks, over 32 KiB, or
less data than it declares) · 10 key parity · 13 LMK identifier · 15
malformed field (key, KSN, IV, hex message), or more data than declared ·
27 a single-length BDK · A1 a key block under a variant LMK (or the
reverse) · A6/A7/A8 a key block whose usage, algorithm or mode of use forbids it.

Sources: aws-samples/samples-for-payment-cryptography-service
(migration_guidance/payshield-command-mapping.md: M0 and M2 mode 05 OFB, M4
modes 00-03 only); payShield host command reference, "Encrypt Data Block" (M0: layout,
flags, no padding, output IV); softwaregroup-bg/ut-codec-payshield
(messages.json: error codes 02-06, 10; processResponse.js: output IV only for
modes 01-03; test/config/test.js: real-unit traces, length in characters and
KSN descriptor before the KSN: its three key-block encode fixtures give 0008
for 16 hex characters, which hsmd answers 06, but the unit's recorded answers
in docs/examples.js count 0010, as its client computes the length); jPOS-style client com.glic.hsm.payshield
(EncryptReq: KSN descriptor and KSN only with a BDK, key type 009);
ANSI X9.24-1:2009 Annex A (DUKPT data key). Vectors in tests/test_cmd_m0.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, keys

COMMAND = "M0"
VERSION = "1.2.0"

MODES: Final = {"00": "ECB", "01": "CBC", "02": "CFB8", "03": "CFB64", "05": "OFB"}
CHAINED: Final = ("CBC", "CFB8", "CFB64")  # the modes whose answer carries an output IV
DATA_KEY_TYPES: Final = ("00A", "00B")  # ZEK, DEK
BDK: Final = "009"
BLOCK_KEY_TYPE: Final = "FFF"  # a key block: its header says what it is
BDK_USAGES: Final = ("B0", "41", "42", "43", "44", "B1")  # key block usages of base derivation keys
MAX_BYTES: Final = 32768
MAX_FIELD: Final = 0xFFFF  # the most characters a 4 H length can count
KSN_DIGITS: Final = 20
COUNTER_DIGITS: Final = 5


@dataclass(frozen=True)
class DataKey:
    key_type: str
    field: str
    ksn: str | None  # the KSN's significant digits, for a BDK
    aes: bool = False  # a key block whose clear header says algorithm A

    @property
    def block(self) -> int:
        """The cipher's block in bytes: messages are whole blocks, IVs one block."""
        return 16 if self.aes else 8


def read_mode(fields: Fields, *, error: str = "02", codes: tuple[str, ...] = tuple(MODES)) -> str:
    """A mode flag (2 N): ECB, CBC, CFB8, CFB64 or OFB, of those `codes` allows."""
    code = fields.fixed(2, error=error, what="mode flag").decode("latin-1")
    if code not in codes:
        raise HsmError(error, f"mode flag {code!r} not one of {', '.join(codes)}")
    return MODES[code]


def read_flag(fields: Fields, allowed: str, *, error: str, what: str) -> str:
    """A one-digit format flag."""
    flag = fields.fixed(1, error=error, what=what).decode("latin-1")
    if flag not in allowed:
        raise HsmError(error, f"{what} {flag!r} not one of {', '.join(allowed)}")
    return flag


def read_data_key(fields: Fields, *, error: str = "05", what: str = "key") -> DataKey:
    """Key type (3 H), key, and the KSN descriptor and KSN after a BDK."""
    key_type = fields.fixed(3, error=error, what="key type").decode("latin-1").upper()
    if key_type not in (*DATA_KEY_TYPES, BDK, BLOCK_KEY_TYPE) or (key_type == BLOCK_KEY_TYPE and fields.peek(1) != b"S"):
        raise HsmError(error, f"key type {key_type!r} is not a ZEK, DEK or BDK (or FFF with a key block)")
    field = fields.key(what=what)
    aes = keys.is_aes(field)
    bdk = key_type == BDK or (key_type == BLOCK_KEY_TYPE and is_bdk_block(field))
    return DataKey(key_type, field, read_ksn(fields, aes=aes) if bdk else None, aes)


def is_bdk_block(field: str) -> bool:
    """Whether a key field is a key block of a base derivation key's usage."""
    header = keys.block_header(field)
    return header is not None and header[0] in BDK_USAGES


def read_ksn(fields: Fields, *, aes: bool = False) -> str:
    """KSN descriptor (3 H) and KSN (20 H): the KSN's significant digits. AES DUKPT: the 24 H KSN whole."""
    if aes:
        return keys.read_aes_ksn(fields)
    descriptor = fields.hex(3, what="KSN descriptor")
    ksn = fields.hex(KSN_DIGITS, what="KSN")
    significant = sum(int(digit, 16) for digit in descriptor) + COUNTER_DIGITS
    if not 10 <= significant <= KSN_DIGITS:
        raise HsmError("15", f"KSN descriptor {descriptor} gives {significant} KSN digits (10-20)")
    return ksn[KSN_DIGITS - significant :]


def check_mode(mode: str, key: DataKey, *, error: str = "02") -> None:
    """CFB64 is a DES mode: an AES key has no 8-byte feedback."""
    if key.aes and mode == "CFB64":
        raise HsmError(error, "mode flag 03 (CFB64) under an AES key")


def read_iv(fields: Fields, mode: str, key: DataKey, *, what: str = "IV") -> str:
    """An IV (one block: 16 H, 32 H under an AES key) for the chained modes; none in ECB."""
    return "" if mode == "ECB" else fields.hex(2 * key.block, what=what)


def read_message(fields: Fields, input_format: str, cipher_block: int = 8) -> bytes:
    """Message length (4 H: characters of the message field) and the message, as bytes."""
    length = fields.hex_length(4, error="06", what="message length")
    hex_encoded = input_format == "1"
    block = 2 * cipher_block if hex_encoded else cipher_block
    if length == 0 or length % block:
        raise HsmError("06", f"message length {length} is not a non-zero multiple of {block}")
    if (length // 2 if hex_encoded else length) > MAX_BYTES:
        raise HsmError("06", f"message longer than {MAX_BYTES} bytes")
    if fields.remaining < length:
        raise HsmError("06", f"{fields.remaining} characters of message, {length} declared")
    if hex_encoded:
        return bytes.fromhex(fields.hex(length, what="message"))
    return fields.fixed(length)


def finish(fields: Fields) -> int | None:
    """The optional LMK identifier, then nothing more (15: more data than the length declared)."""
    lmk_id = fields.lmk_id()
    fields.end()
    return lmk_id


def open_key(hsm: Hsm, key: DataKey, lmk_id: int | None) -> KeyHandle:
    """The data key: the ZEK or DEK itself, or a BDK's DUKPT data key for the KSN."""
    handle = hsm.key_from_lmk(key.key_type, key.field, lmk_id)
    return handle if key.ksn is None else hsm.dukpt_key(handle, key.ksn, "data-request")


def crypt(hsm: Hsm, key: KeyHandle, *, encrypt: bool, mode: str, iv: str, data: bytes) -> bytes:
    return bytes.fromhex(hsm.data_crypt(key, encrypt, mode, iv, data))


def output_iv(mode: str, iv: str, ciphertext: bytes) -> bytes:
    """The IV that chains the next block: the last block (as long as the IV) of IV · ciphertext (none in ECB and OFB)."""
    return b"" if mode not in CHAINED else (bytes.fromhex(iv) + ciphertext)[-len(iv) // 2 :].hex().upper().encode("ascii")


def message_field(data: bytes, output_format: str) -> bytes:
    """Message length (4 H, characters) and the message in the output format."""
    body = data.hex().upper().encode("ascii") if output_format == "1" else data
    if len(body) > MAX_FIELD:
        raise HsmError("06", f"an answer of {len(body)} characters does not fit a 4 H length")
    return f"{len(body):04X}".encode("ascii") + body


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    mode = read_mode(fields)
    input_format = read_flag(fields, "012", error="03", what="input format flag")
    output_format = read_flag(fields, "01", error="04", what="output format flag")
    key = read_data_key(fields)
    check_mode(mode, key)
    iv = read_iv(fields, mode, key)
    message = read_message(fields, input_format, key.block)
    lmk_id = finish(fields)

    ciphertext = crypt(hsm, open_key(hsm, key, lmk_id), encrypt=True, mode=mode, iv=iv, data=message)
    return output_iv(mode, iv, ciphertext) + message_field(ciphertext, output_format)
