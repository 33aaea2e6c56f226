"""EMV application cryptograms: card keys, session keys, ARQC and ARPC (payShield KQ, KW).

- Card key (ICC master key, EMV 4.x Book 2 A1.4): Option A from the 16 rightmost
  digits of PAN · PSN, Option B (SHA-1) for PANs over 16 digits (hsmd.host.cards).
- Session keys: none (Visa CVN 10: the card key itself), Mastercard M/Chip's
  own (ATC · F000 · UN and ATC · 0F00 · UN), the EMV common session key
  (A1.3: ATC · F0 · 00.. and ATC · 0F · 00..), and the EMV2000 tree (A1.3.1
  of EMV 4.0; branch factor 2 height 16, or 4 and 8, with an IV).
- ARQC: ISO 9797-1 MAC algorithm 3 over the transaction data, padding method 1
  (KQ: the host pads) or 2 (EMV padding).
- ARPC method 1: TDES(key, ARQC xor ARC · 00..); method 2: the first 4 bytes
  of the MAC (algorithm 3, padding 2) of ARQC · CSU · proprietary data.
Sources: EMV 4.3 Book 2 Annex A1; jPOS JCESecurityModule; pyemv (kd, ac) is the
tests' oracle; vectors in tests/test_cmd_kq.py and test_cmd_kw.py.
"""

from __future__ import annotations

from hsmd.host import des, macs
from hsmd.host.errors import HostError
from hsmd.host.keys import force_odd_parity


def _halves(key: bytes, left: bytes, right: bytes) -> bytes:
    return des.encrypt_ecb(key, left) + des.encrypt_ecb(key, right)


def _tree(card_key: bytes, atc: bytes, iv: bytes, branch: int, height: int) -> bytes:
    """EMV2000 tree (EMV 4.1 Book 2 A1.3.1): IK(0) is the card key, IK(-1) the IV;
    IK(i) = F(IK(i-1), IK(i-2), j) with j the ATC's index at level i, where
    F(X, Y, j) = TDES_X(YL xor j mod b) · TDES_X(YR xor j mod b xor F0);
    the session key is IK(H) xor IK(H-2)."""
    value = int.from_bytes(atc, "big")
    if value >= branch**height:
        raise HostError("15", "ATC outside the tree")
    older, previous = iv, card_key  # IK(i-2), IK(i-1)
    history = [iv, card_key]
    for level in range(1, height + 1):
        digit = (value // branch ** (height - level)) % branch
        left = des.xor(older[:8], digit.to_bytes(8, "big"))
        right = des.xor(older[8:16], (digit ^ 0xF0).to_bytes(8, "big"))
        older, previous = previous, _halves(previous, left, right)
        history.append(previous)
    return des.xor(history[-1], history[-3])


def session_key(card_key: bytes, method: str, atc: bytes, un: bytes, iv: bytes) -> bytes:
    """The AC session key (odd parity) of `method`: none, mchip, common, tree-2-16 or tree-4-8."""
    if len(atc) != 2 or len(un) not in (0, 4):
        raise HostError("15", "the ATC is 2 bytes, the unpredictable number 4")
    if method == "none":
        return card_key
    if method == "mchip":
        if len(un) != 4:
            raise HostError("15", "M/Chip session keys need the unpredictable number")
        return force_odd_parity(_halves(card_key, atc + b"\xf0\x00" + un, atc + b"\x0f\x00" + un))
    if method == "common":
        return force_odd_parity(_halves(card_key, atc + b"\xf0" + bytes(5), atc + b"\x0f" + bytes(5)))
    if method in ("tree-2-16", "tree-4-8"):
        branch, height = (2, 16) if method == "tree-2-16" else (4, 8)
        if len(iv) != 16:
            raise HostError("15", "the EMV2000 tree needs a 16-byte IV")
        return force_odd_parity(_tree(card_key, atc, iv, branch, height))
    raise HostError("15", f"session key method {method!r} unknown")


def cryptogram(key: bytes, data: bytes, padding: int) -> bytes:
    return macs.mac(key, 3, padding, bytes(8), data, final=True)


def arpc(key: bytes, arqc: bytes, method: int, response: bytes, proprietary: bytes) -> bytes:
    if method == 1:
        if len(response) != 2:
            raise HostError("15", "the ARC is 2 bytes")
        return des.encrypt_ecb(key, des.xor(arqc, response + bytes(6)))
    if method == 2:
        if len(response) != 4 or len(proprietary) > 8:
            raise HostError("15", "the CSU is 4 bytes, proprietary data at most 8")
        return macs.mac(key, 3, 2, bytes(8), arqc + response + proprietary, final=True)[:4]
    raise HostError("15", f"ARPC method {method} not 1 or 2")
