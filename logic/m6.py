"""M6 — Generate a MAC (ISO 9797-1 MAC algorithm 1 or 3, AES CBC-MAC or CMAC) under a TAK or ZAK, in one or more blocks.

The request names the MAC algorithm (ISO 9797-1 algorithm 1: CBC-MAC under
the whole key, ANSI X9.9 with a single-length key; algorithm 3: the retail
MAC, ANSI X9.19 with a double-length key; 5: CBC-MAC under an AES key; 6:
AES CMAC, ISO 9797-1:2011 algorithm 5 / NIST SP 800-38B) and the padding
(none, ISO 9797-1 method 1 or 2; CMAC pads by itself and ignores it). A long message is sent in blocks: the first (mode 1) and
middle (2) blocks return the chaining value, which the next block gives back
as its IV; the only (0) or final (3) block pads and returns the MAC.

Request:  M6 · mode flag (1 N: 0 only, 1 first, 2 middle, 3 final block)
          · input format flag (1 N: 0 binary, 1 hex-encoded binary, 2 text)
          · MAC size (1 N: 0, an 8 H MAC) · MAC algorithm (1 N: 1, 3, 5 AES CBC-MAC, 6 AES CMAC)
          · padding method (1 N: 0 none, 1, 2)
          · key type (3 H: 003 TAK under LMK 16-17, 008 ZAK under LMK 26-27; FFF a key block)
          · key (16 H, or U/X + 32 H, or T/Y + 48 H, or S + key block)
          · [IV (16 H; 32 H for algorithms 5 and 6), modes 2 and 3 only]
          · message length (4 H: the length of the message field, hex characters for format 1)
          · message (n B / n H / n A) · [%nn LMK identifier]
Response: M7 00 · MAC (8 H) for modes 0 and 3, or the IV for the next block
          (16 H; 32 H for algorithms 5 and 6) for modes 1 and 2.

Text (format 2) is MACed as received: hsmd is an ASCII unit, so there is no
EBCDIC conversion. Older manuals give one 2 N algorithm field (01, 03);
firmware 3.2 split it into MAC size and algorithm, the same bytes. MAC size
0 (an 8 H MAC) is the one attested by a real unit's trace; other sizes are
refused (04). Algorithms 5 and 6 take an AES key (a key block whose header
says algorithm A under a key-block LMK) and work in 16-byte blocks, so their
IVs are 32 H (hsmd's reading: no public text gives the AES IV length); an
algorithm that does not suit the key's is A7 (the key-block algorithm code). Algorithm 03 needs a double-length key
(27; hsmd's choice, the manual names no code); algorithm 01 with a double or
triple-length key is CBC-MAC with TDES. Padding 0 needs whole 8-byte blocks,
as do first and middle blocks (06). A final block must carry data unless it
is padded with method 2: the other paddings add nothing to a message already
in whole blocks, so there would be no block to finish on (06; hsmd's reading).

Key blocks (key type FFF, or 003/008 with a block of a MAC usage, under a
key-block LMK): the host checks the header (A6 not a MAC key, A8 mode of use, A7
an AES key under algorithm 1 or 3, a DES key under 5 or 6). ut-codec-payshield test/config/test.js has a real unit verify MAC
F9369211 over hex ABCDEF12 (algorithm 1, padding 1) under its TAK block
`S00072M1TN00E0001FFE0…` with key type FFF and %01.

Errors: 02 mode flag · 03 input format flag · 04 MAC size or algorithm · 05 key type
· 06 message length (not whole blocks where needed, odd hex, empty where
nothing can be MACed) · 09 padding method · 10 key parity · 13 LMK
identifier · 15 malformed field (key, IV, length, hex message, request
shorter than the message length, trailing bytes) · 27 algorithm 03 with a key
that is not double length.

Sources: payShield host command reference, "Generate MAC" (M6: layout,
mode/format/algorithm/padding values, IV in modes 2 and 3); M7 layout and
error codes 02-10 from softwaregroup-bg/ut-codec-payshield (messages.json);
ThalesSim (nickntg/thalessimulatorlibrary, ThalesCore/HostCommands/BuildIn/GenerateMAC_M6.vb,
ThalesCore.Tests/HostCommandTests.vb GenerateMAC) vector in tests/test_cmd_m6.py.
ThalesSim's M7 also carries a length (0008 + MAC, IV + 0000) and takes the IV
in modes 1 and 2: simulator artefacts against the manual, not copied.
Algorithm codes 5 and 6: AWS's payShield migration table
(aws-samples/samples-for-payment-cryptography-service,
migration_guidance/payshield-command-mapping.md: M6/M8 "MAC option 6 (AES
CMAC)", MY "MAC option 5 CBC MAC (AES)"); the size/algorithm split:
ut-codec-payshield commit "MAC commands revised for firmware v3.2".
"""

from __future__ import annotations

from dataclasses import dataclass

from hsmd_sdk import Fields, Hsm, HsmError, KeyHandle, Reply, keys

COMMAND = "M6"
VERSION = "1.2.0"

ZERO_IV = "0" * 16
KEY_TYPES = ("003", "008")  # TAK (LMK 16-17), ZAK (LMK 26-27)
BLOCK_KEY_TYPE = "FFF"  # a key block (S + block under a key-block LMK): its header says it is a MAC key
_HEX = frozenset(b"0123456789ABCDEFabcdef")


AES_ALGORITHMS = {5: 1, 6: 5}  # payShield code -> ISO 9797-1 algorithm the host runs (CBC-MAC, CMAC)


@dataclass(frozen=True)
class MacSpec:
    """One side's MAC algorithm (1, 3, 5, 6), padding (0, 1, 2), key type and key field."""

    algorithm: int
    padding: int
    key_type: str
    key_field: str

    @property
    def aes(self) -> bool:
        return self.algorithm in AES_ALGORITHMS

    @property
    def block(self) -> int:
        """The cipher's block in bytes: chaining values and IVs are one block."""
        return 16 if self.aes else 8

    @property
    def zero_iv(self) -> str:
        return "0" * (2 * self.block)


def read_flag(fields: Fields, allowed: str, error: str, what: str) -> str:
    value = fields.fixed(1, what=what)
    if value not in [c.encode("ascii") for c in allowed]:
        raise HsmError(error, f"{what} {value!r} not one of {allowed}")
    return value.decode("ascii")


def read_mode(fields: Fields) -> str:
    return read_flag(fields, "0123", "02", "mode flag")


def read_input_format(fields: Fields) -> str:
    return read_flag(fields, "012", "03", "input format flag")


def read_spec(fields: Fields, what: str = "MAC") -> MacSpec:
    """MAC size (1 N) · algorithm (1 N) · padding method (1 N) · key type (3 H) · key."""
    algorithm = fields.fixed(2, what=f"{what} size and algorithm")
    if algorithm not in (b"01", b"03", b"05", b"06"):
        raise HsmError("04", f"{what} size and algorithm {algorithm!r} not 01, 03, 05 or 06")
    padding = read_flag(fields, "012", "09", f"{what} padding method")
    key_type = fields.fixed(3, what=f"{what} key type").decode("ascii", "replace").upper()
    if key_type not in KEY_TYPES and not (key_type == BLOCK_KEY_TYPE and fields.peek(1) == b"S"):
        raise HsmError("05", f"{what} key type {key_type!r} not 003 or 008 (or FFF with a key block)")
    return MacSpec(int(algorithm), int(padding), key_type, fields.key(what=f"{what} key"))


def read_iv(fields: Fields, mode: str, spec: MacSpec, what: str = "IV") -> str:
    """The IV of a middle or final block (one cipher block); zero for an only or first block."""
    return fields.hex(2 * spec.block, what=what) if mode in ("2", "3") else spec.zero_iv


def read_message(fields: Fields, input_format: str) -> bytes:
    """Message length (4 H: the field's length) · message, as bytes (format 1 hex-decoded)."""
    length = fields.hex_length(4, what="message length")
    raw = fields.fixed(length, what="message")
    if input_format != "1":
        return raw
    if length % 2:
        raise HsmError("06", "hex-encoded message with an odd number of characters")
    if not _HEX.issuperset(raw):
        raise HsmError("15", "message is not hex")
    return bytes.fromhex(raw.decode("ascii"))


def read_mac(fields: Fields, mode: str, what: str = "MAC") -> str | None:
    """M8's and MY's MAC to verify: required for an only or final block, optional (and unused) otherwise."""
    if mode in ("1", "2") and (fields.remaining < 8 or fields.peek(1) == b"%"):
        return None
    return fields.hex(8, what=what)


def check_length(mode: str, spec: MacSpec, data: bytes) -> None:
    """Error 06 unless the block can be MACed in this mode with this padding."""
    cmac = spec.algorithm == 6
    if (mode in ("1", "2") or (spec.padding == 0 and not cmac)) and len(data) % spec.block:
        raise HsmError("06", f"{len(data)} bytes is not a whole number of {spec.block}-byte blocks")
    if cmac:
        return  # CMAC pads an empty or partial last block itself
    if not data and ((spec.padding == 0 and mode == "0") or (spec.padding != 2 and mode == "3")):
        raise HsmError("06", "no data to finish the MAC on")


def compute(hsm: Hsm, key: KeyHandle, spec: MacSpec, mode: str, iv: str, data: bytes) -> str:
    """One block in hex: the MAC (modes 0 and 3) or the chaining value for the next block (modes 1 and 2)."""
    if spec.algorithm == 3 and hsm.key_describe(key).length != 16:
        raise HsmError("27", "MAC algorithm 3 needs a double-length key")
    if spec.aes != keys.is_aes(spec.key_field):
        raise HsmError("A7", f"MAC algorithm {spec.algorithm} does not suit the key's algorithm")
    # Padding 0: whole blocks, which method 1 leaves as they are (never empty here: check_length).
    algorithm = AES_ALGORITHMS.get(spec.algorithm, spec.algorithm)
    return hsm.mac_compute(key, algorithm, spec.padding or 1, iv, data, mode in ("0", "3"))


def execute(request: bytes, hsm: Hsm) -> bytes | Reply:
    fields = Fields(request)
    mode = read_mode(fields)
    input_format = read_input_format(fields)
    spec = read_spec(fields)
    iv = read_iv(fields, mode, spec)
    data = read_message(fields, input_format)
    lmk_id = fields.lmk_id()
    fields.end()
    check_length(mode, spec, data)

    key = hsm.key_from_lmk(spec.key_type, spec.key_field, lmk_id)
    value = compute(hsm, key, spec, mode, iv, data)
    return (value[:8] if mode in ("0", "3") else value).encode("ascii")
