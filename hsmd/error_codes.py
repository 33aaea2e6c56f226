"""What payShield error codes mean: the one table, for clients and operators.

The common codes of ../shared/reference/payshield.md (the payShield manuals' public
excerpts), completed from the public error tables that payShield client codecs and
integration guides publish and agree on (e.g. krestfield/docs ezsign/payshield_error_codes.md):
the key-block codes A1-BE and the rarer codes.  These are the general meanings: a command's
own manual page may give a code a narrower sense (01 is "verification failure" for a verify
command, a parity warning for an import), which its module in ``logic/`` documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["MEANINGS", "meaning"]

MEANINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "00": "no error",
        "01": "verification failure or imported key parity warning",
        "02": "key inappropriate length for algorithm",
        "03": "invalid number of components",
        "04": "invalid key type code",
        "05": "invalid key length flag",
        "10": "source key parity error",
        "11": "destination key parity error or key all zeros",
        "12": "no keys loaded in user storage",
        "13": "invalid LMK identifier",
        "14": "PIN encrypted under LMK 02-03 invalid",
        "15": "invalid input data",
        "16": "console or printer not ready or not connected",
        "17": "HSM not authorised",
        "18": "document format definition not loaded",
        "19": "specified Diebold table is invalid",
        "20": "PIN block does not contain valid values",
        "21": "invalid user storage index",
        "22": "invalid account number",
        "23": "invalid PIN block format code",
        "24": "PIN length not 4-12",
        "25": "decimalisation table error",
        "26": "invalid key scheme",
        "27": "incompatible key length",
        "28": "invalid key type",
        "29": "key function not permitted",
        "30": "invalid reference number",
        "31": "insufficient solicitation entries for batch",
        "32": "AES licence not installed",
        "33": "LMK key change storage is corrupted",
        "39": "fraud detection",
        "40": "invalid checksum",
        # hsmd answers 41 for a plugin fault and 68 for a command with no plugin (README).
        "41": "internal hardware/software error",
        "42": "DES failure",
        "43": "RSA key generation failure",
        "46": "invalid tag for encrypted PIN",
        "47": "algorithm not licensed",
        "49": "private key error",
        "51": "invalid message header",
        "65": "transaction key scheme set to none",
        "67": "command not licensed",
        "68": "command has been disabled",
        "69": "PIN block format disabled",
        "74": "invalid digest info syntax",
        "75": "single-length key masquerading as a longer key",
        "76": "RSA public key or encrypted data length error",
        "77": "clear data block error",
        "78": "private key length error",
        "79": "hash algorithm object identifier error",
        "80": "data length error",
        "81": "invalid certificate header",
        "82": "invalid check value length",
        "83": "key block format error",
        "84": "key block check value error",
        "85": "invalid OAEP mask generation function",
        "86": "invalid OAEP MGF hash function",
        "87": "OAEP parameter error",
        "90": "data parity error in the request message",
        "91": "longitudinal redundancy check mismatch",
        "92": "count value not within limits",
        "A1": "incompatible LMK schemes",
        "A2": "incompatible LMK identifiers",
        "A3": "incompatible key block LMK identifiers",
        "A4": "key block authentication failure",
        "A5": "incompatible key length",
        "A6": "invalid key usage",
        "A7": "invalid algorithm",
        "A8": "invalid mode of use",
        "A9": "invalid key version number",
        "AA": "invalid export field",
        "AB": "invalid number of optional blocks",
        "AC": "optional header block error",
        "AD": "key status optional block error",
        "AE": "invalid start date/time",
        "AF": "invalid end date/time",
        "B0": "invalid encryption mode",
        "B1": "invalid authentication mode",
        "B2": "miscellaneous key block error",
        "B3": "invalid number of optional blocks",
        "B4": "optional block data error",
        "B5": "incompatible components",
        "B6": "incompatible key status optional blocks",
        "B7": "invalid change field",
        "B8": "invalid old value",
        "B9": "invalid new value",
        "BA": "no key status block in the key block",
        "BB": "invalid wrapping key",
        "BC": "repeated optional block",
        "BD": "incompatible key types",
        "BE": "invalid key block header ID",
        # ECC (FY): "payShield 10K Core Host Commands" PUGD0537-004, as mszeu/PayShieldPressureTest quotes it.
        "D2": "invalid curve reference",
        "D3": "invalid key encoding",
    }
)


def meaning(code: str) -> str:
    """The meaning of a two-character error code, or ``"unknown error code"``."""
    return MEANINGS.get(code.upper(), "unknown error code")
