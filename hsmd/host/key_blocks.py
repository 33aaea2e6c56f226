"""Key blocks inside the host: what a held key's header lets it do, and keys crossing into and out of blocks.

hsmd.host.keyblock parses, authenticates and builds blocks; this module is the
glue between those blocks and the host's key handles (hsmd.host.services):

- Usage. A key the host holds from a block keeps its header. Every host function
  that uses a key names an hsmd use (key_types.Use: pin, pvk, cvk, mac, data,
  bdk, mk-ac …); for a key with a header the header decides, with the 10K's
  key-block errors: A6 the key usage is not one that use accepts, A8 the mode of
  use forbids the direction (encrypt/decrypt for PIN and data keys, derivation for
  BDKs and EMV master keys), A7 the algorithm is one the function cannot run
  (PIN blocks, MACs, data encryption and DUKPT run AES as well; CVV, PVV, IBM
  offsets and EMV are DES/TDES only). MAC, CVV and PVK functions compute the value for both generation
  and verification (the plugin compares), so for them modes C, G, V and N are all
  accepted: hsmd does not tell a generate-only key from a verify-only one there.
- Key types. A command that names a variant key type (a ZPK "001", a CVK "402")
  and receives a key block accepts it when the header's usage is one that key
  type's role has (BLOCK_USAGES below; A6 otherwise): "P0"/"72" for a ZPK, "C0"
  for a CVK. Key type "FFF" takes any usage: the header alone then says what the
  key may do.
- Export. key_to_kek's scheme is the request's: "S" (a Thales block under the
  KEK, LMK identifier 'FF', as real units write it), "R" (TR-31), each optionally
  followed by "&" and the modified exportability (or, for a key without a header
  going out as TR-31, "&" and the header fields: usage 2, mode of use 1, key
  version 2, exportability 1, number of optional blocks 2, the blocks), and for
  "R" by "!" and the TR-31 version ID (A B C D; default B under a TDES KEK, D
  under an AES one). A header's exportability is enforced (keyblock.check_export:
  AA).

Which role accepts which usage, and the usages of the EMV master keys, are
hsmd's reading of the payShield usage table (keyblock._USAGE_TABLE), not taken
from a trace: marked "inferred" where they are.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from typing import Final, Literal

from hsmd.host import keyblock, keys
from hsmd.host.errors import HostError
from hsmd.host.key_types import KeyType, Use
from hsmd.host.keyblock import Header, KeyBlockLmk

Direction = Literal["encrypt", "decrypt"]

BLOCK_KEY_TYPE: Final = "FFF"  # the key type a command gives for "whatever the key block's header says"

# The key usages each hsmd use accepts (payShield usage table, clause 8.5.1.2, via keyblock._USAGE_TABLE).
USE_USAGES: Final[Mapping[Use, frozenset[str]]] = {
    "pin": frozenset({"P0", "71", "72", "73"}),
    "pvk": frozenset({"V0", "V1", "V2"}),
    "cvk": frozenset({"C0", "11", "12", "13"}),
    "mac": frozenset({"M0", "M1", "M2", "M3", "M4", "M5", "M6"}),
    "data": frozenset({"D0", "21", "22", "23", "25"}),
    "bdk": frozenset({"B0", "41", "42", "43", "44", "B1"}),
    "mk-ac": frozenset({"E0"}),
    "mk-dcvv": frozenset({"E0", "E4"}),  # inferred: hsmd derives dCVV keys from an MK-AC (E0); E4 is "dynamic numbers"
    "mk-cvc3": frozenset({"E4", "E6"}),  # inferred: CVC3 is a dynamic number (E4); E6 "other"
    "ac": frozenset(),  # session and card keys are derived in the host, never in a block
    "emv-card": frozenset(),
}
# Modes of use (clause 8.5.1.4) that let each kind of use run: B both directions, C MAC, D decrypt
# only, E encrypt only, G generate only, N no restriction, V verify only, X derivation only.
_MODES: Final = {"encrypt": "BEN", "decrypt": "BDN", "either": "BDEN", "compute": "CGVN", "derive": "XN"}
_USE_MODES: Final[Mapping[Use, str]] = {
    "pin": "either",
    "data": "either",
    "pvk": "compute",
    "cvk": "compute",
    "mac": "compute",
    "bdk": "derive",
    "mk-ac": "derive",
    "mk-dcvv": "derive",
    "mk-cvc3": "derive",
    "ac": "compute",
    "emv-card": "derive",
}
_DES_ALGORITHMS: Final = "DT"
# The uses whose functions also run AES: PIN blocks (format 48), CMAC, data encryption, AES DUKPT.
# CVV, PVV, IBM offsets and the EMV cryptograms are DES/TDES only (A7).
_AES_USES: Final[frozenset[Use]] = frozenset({"pin", "mac", "data", "bdk"})

_ZMK_USAGES: Final = frozenset({"K0", "K1", "52"})  # inferred: a ZMK's role; K1 is the TR-31 KBPK
_TMK_USAGES: Final = frozenset({"K0", "51"})
_KEK_USAGES: Final = frozenset({"K0", "K1", "51", "52", "54"})  # what may wrap or unwrap keys


def block_usages(key_type: KeyType) -> frozenset[str]:
    """The key usages a key block may carry when a command asks for a key of `key_type`."""
    usages: set[str] = set()
    if key_type.carries:
        usages |= _ZMK_USAGES if "001" in key_type.carries else _TMK_USAGES
    for use in key_type.uses:
        usages |= USE_USAGES[use]
    return frozenset(usages)


def check_typed(header: Header, key_type: KeyType) -> None:
    """A6 unless the block's usage suits the key type the command asked for ("FFF" accepts any)."""
    if key_type.code == BLOCK_KEY_TYPE:
        return
    if header.key_usage not in block_usages(key_type):
        raise HostError(keyblock.INVALID_USAGE, f"a key block of usage {header.key_usage} is not a {key_type.name} ({key_type.code})")


def block_key_type(header: Header) -> KeyType:
    """The key type of a key known only by its header (key type "FFF"): its header says what it may do."""
    return KeyType(BLOCK_KEY_TYPE, f"key block ({header.key_usage})")


def check_use(header: Header, use: Use, direction: Direction | None = None) -> None:
    """Refuse a key whose header forbids `use`: A6 usage, A8 mode of use, A7 algorithm."""
    if header.key_usage not in USE_USAGES[use]:
        raise HostError(keyblock.INVALID_USAGE, f"a key block of usage {header.key_usage} cannot serve as {use.upper()}")
    modes = _MODES[direction or _USE_MODES[use]]
    if header.mode_of_use not in modes:
        raise HostError(keyblock.INVALID_MODE, f"mode of use {header.mode_of_use} forbids {direction or use}")
    if header.algorithm not in _DES_ALGORITHMS and not (header.algorithm == keyblock.AES_ALGORITHM and use in _AES_USES):
        raise HostError(keyblock.INVALID_ALGORITHM, f"a key of algorithm {header.algorithm} cannot serve as {use.upper()} here")


def check_kek(header: Header, *, export: bool) -> None:
    """A key-encryption key's header: a KEK usage (A6) whose mode of use allows the direction (A8)."""
    if header.key_usage not in _KEK_USAGES:
        raise HostError(keyblock.INVALID_USAGE, f"a key block of usage {header.key_usage} cannot wrap or unwrap keys")
    if header.mode_of_use not in _MODES["encrypt" if export else "decrypt"]:
        raise HostError(keyblock.INVALID_MODE, f"mode of use {header.mode_of_use} forbids {'export' if export else 'import'}")


def combined_header(headers: list[Header | None]) -> Header | None:
    """The header of a key formed from components: theirs, which must agree, with key version 00.

    Components are all key blocks or none (A1); A6, A7, A8 and AA name the first field
    that differs (usage, algorithm, mode of use, exportability).
    """
    if all(h is None for h in headers):
        return None
    blocks = [h for h in headers if h is not None]
    if len(blocks) != len(headers):
        raise HostError(keyblock.INCOMPATIBLE_LMK, "components mix key blocks and variant keys")
    first = blocks[0]
    for attribute, code in (("key_usage", keyblock.INVALID_USAGE), ("algorithm", keyblock.INVALID_ALGORITHM),
                            ("mode_of_use", keyblock.INVALID_MODE), ("exportability", keyblock.INVALID_EXPORT)):  # fmt: skip
        if any(getattr(h, attribute) != getattr(first, attribute) for h in blocks):
            raise HostError(code, f"components differ in their headers' {attribute.replace('_', ' ')}")
    return dataclasses.replace(first, key_version="00")


# --------------------------------------------------------------------------- generation


def generation_header(lmk: KeyBlockLmk, lmk_id: int, text: str) -> tuple[Header, int]:
    """The header A0's '#' fields describe and the key length in bytes.

    `text`: key usage (2) · algorithm (2: T2 T3 A1 A2 A3) · mode of use (1) · key version
    number (2) · exportability (1) · number of optional blocks (2) · the optional blocks.
    15 when the fixed fields are short; then keyblock's A6-AC for each field.
    """
    if len(text) < 10 or not text.isascii():
        raise HostError(keyblock.FORMAT_ERROR, f"key block fields of {len(text)} characters, at least 10 needed")
    usage, algorithm, mode, version, export, count, blocks = text[0:2], text[2:4], text[4], text[5:7], text[7], text[8:10], text[10:]
    if not count.isdigit():
        raise HostError(keyblock.INVALID_OPTIONAL_COUNT, f"number of optional blocks {count!r}")
    optional = keyblock.parse_optional_blocks(blocks, int(count))
    header, length = keyblock.header_for_generation(lmk, usage, algorithm, mode, version, export, lmk_id=lmk_id, optional_blocks=optional)
    check_lmk_algorithm(lmk, header)
    return header, length


def check_lmk_algorithm(lmk: KeyBlockLmk, header: Header) -> None:
    """A 3DES key-block LMK carries no AES key (A7; a 10K keeps AES keys under an AES LMK)."""
    if lmk.kind == "3des" and header.algorithm == "A":
        raise HostError(keyblock.INVALID_ALGORITHM, "an AES key cannot be held under a 3DES key-block LMK")


def generate_key(header: Header, length: int) -> bytes:
    """A random key for `header`: TDES with odd parity and distinct halves, AES random bytes."""
    return secrets.token_bytes(length) if header.algorithm == "A" else keys.generate(length)


# --------------------------------------------------------------------------- export and import under a KEK


@dataclasses.dataclass(frozen=True)
class ExportSpec:
    """key_to_kek's block scheme: tag S or R, a modified exportability or header fields ('&'), a TR-31 version ('!')."""

    tag: str
    exportability: str | None = None
    fields: str | None = None  # header fields for a key without a header (variant key exported as TR-31)
    version: str | None = None

    @classmethod
    def parse(cls, scheme: str) -> ExportSpec:
        tag, rest, version = scheme[:1], scheme[1:], None
        if len(rest) >= 2 and rest[-2] == "!":
            rest, version = rest[:-2], rest[-1]
        if tag == keyblock.THALES_TAG and version is not None:
            raise HostError(keyblock.FORMAT_ERROR, "a TR-31 version ID ('!') with a Thales key block export")
        if not rest:
            return cls(tag, version=version)
        if rest[0] != "&" or len(rest) == 1:
            raise HostError(keyblock.FORMAT_ERROR, f"key block export scheme {scheme!r}")
        if len(rest) == 2:
            return cls(tag, exportability=rest[1], version=version)
        return cls(tag, fields=rest[1:], version=version)


def _header_from_fields(fields: str, key: bytes) -> Header:
    """A header from '&' fields for a key that has none: usage 2, mode 1, key version 2, exportability 1, count 2, blocks."""
    if len(fields) < 8 or not fields[6:8].isdigit():
        raise HostError(keyblock.FORMAT_ERROR, "key block fields: usage, mode of use, key version, exportability, number of blocks")
    optional = keyblock.parse_optional_blocks(fields[8:], int(fields[6:8]))
    algorithm = "D" if len(key) == 8 else "T"
    header = Header("0", fields[0:2], algorithm, fields[2], fields[3:5], fields[5], "00", optional)
    keyblock.validate_header(header)
    return header


def export(kek: bytes, kek_header: Header | None, key: bytes, header: Header | None, scheme: str) -> str:
    """`key` in a block under the clear KEK as `scheme` asks (see the module docstring), with its tag."""
    spec = ExportSpec.parse(scheme)
    if header is None:
        if spec.fields is None:
            raise HostError(keyblock.INVALID_USAGE, "a key without a key block header needs its usage fields to leave in a key block")
        header = _header_from_fields(spec.fields, key)
    else:
        if spec.fields is not None:
            raise HostError(keyblock.INVALID_EXPORT, "a key block's header cannot be replaced on export")
        keyblock.check_export(header, trusted=True)
    if spec.exportability is not None:
        header = dataclasses.replace(header, exportability=keyblock.restrict_exportability(header.exportability, spec.exportability))
    kek_algorithm = kek_header.algorithm if kek_header is not None else "T"
    if spec.tag == keyblock.THALES_TAG:
        header = dataclasses.replace(header, version_id="1" if kek_algorithm == "A" else "0", lmk_id="FF")
        return keyblock.THALES_TAG + keyblock.wrap_under_kek(kek, header, key, kek_algorithm=kek_algorithm)
    version = spec.version or ("D" if kek_algorithm == "A" else "B")
    header = dataclasses.replace(header, version_id=version, key_usage=keyblock.tr31_usage(header.key_usage), lmk_id="00")
    return keyblock.TR31_TAG + keyblock.tr31_wrap(kek, header, key, kbpk_algorithm=kek_algorithm)


def import_(kek: bytes, kek_header: Header | None, text: str) -> tuple[Header, bytes]:
    """The header and clear key of an 'S' or 'R' block under the clear KEK; a TR-31 header must fit the usage table."""
    kek_algorithm = kek_header.algorithm if kek_header is not None else "T"
    if text[:1] == keyblock.THALES_TAG:
        return keyblock.unwrap_under_kek(kek, text, kek_algorithm=kek_algorithm)
    header, key = keyblock.tr31_unwrap(kek, text, kbpk_algorithm=kek_algorithm)
    keyblock.validate_header(header)
    return header, key


def held_header(header: Header) -> Header:
    """A header as the host keeps it with a key: without 'PB' padding, which each wrap recomputes for its cipher."""
    if not any(block.id == "PB" for block in header.optional_blocks):
        return header
    return dataclasses.replace(header, optional_blocks=tuple(b for b in header.optional_blocks if b.id != "PB"))


def is_block(text: str) -> bool:
    """A key field holding a Thales ('S') or TR-31 ('R') block rather than a variant-scheme key; or an
    export scheme asking for one (key_to_kek's "S", "R&N", "R!D"…)."""
    return text[:1] in (keyblock.THALES_TAG, keyblock.TR31_TAG)


def check_value(header: Header | None, key: bytes) -> str:
    """16 H: the TDES check value, or for an AES key the first 8 bytes of its CMAC check value."""
    if header is None:
        return keys.check_value(key)
    return keyblock.key_check_value(header.algorithm, key)[:16]


def odd_parity(header: Header, key: bytes) -> bool:
    """Parity advice for a key from a block: DES/TDES keys by their bits, AES keys have none to check."""
    return header.algorithm not in _DES_ALGORITHMS or keys.odd_parity(key)
