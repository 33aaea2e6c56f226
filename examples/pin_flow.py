"""A card's PIN and CVV life against a running hsmd (`make run`): the README's example.

    python examples/pin_flow.py [HOST] [PORT]

Generates two ZPKs, two PVKs and a CVK (A0); a random PIN (JA) and an IBM natural
PIN (EE); the PIN's IBM offset (DE) and Visa PVV (DG); the PIN under one ZPK
(JG), translated to another (CC); verified at each step by IBM offset (EA),
Visa PVV (EC) and comparison (BE); a CVV generated (CW) and verified (CY), and
a wrong CVV answered 01. Every answer is printed; any unexpected code stops it.
"""

from __future__ import annotations

import socket
import sys

HEADER = b"HEAD"
ACCOUNT = "400000123456"  # the PAN's 12 rightmost digits before the check digit (PAN 4000001234562)
TABLE = "0123456789012345"  # decimalisation table, in the clear (hsm.decimalisation_tables = "plaintext")
VALIDATION = "4000001234N2"  # PIN validation data: N stands for the account's last five digits


def call(sock: socket.socket, command: str, expect: str = "00") -> str:
    """Send one command; return the fields after the error code (which must be `expect`)."""
    message = HEADER + command.encode("ascii")
    sock.sendall(len(message).to_bytes(2, "big") + message)
    length = int.from_bytes(sock.recv(2), "big")
    answer = b""
    while len(answer) < length:
        answer += sock.recv(length - len(answer))
    text = answer[len(HEADER) :].decode("ascii")
    print(f"{command[:2]} -> {text}")
    if text[2:4] != expect:
        raise SystemExit(f"{command[:2]} answered {text[2:4]}, expected {expect}")
    return text[4:]


def main(host: str = "127.0.0.1", port: int = 1500) -> None:
    with socket.create_connection((host, port)) as sock:
        zpk1 = call(sock, "A00001U")[:33]  # mode 0, key type 001 (ZPK), scheme U
        zpk2 = call(sock, "A00001U")[:33]
        ibm_pvk = call(sock, "A00002Z")[:16]  # 002: a single-length PVK for the IBM method
        pvk_pair = call(sock, "A00002U")[:33]  # and a double-length one, the PVK pair of the Visa method
        cvk = call(sock, "A00402U")[:33]  # 402: a CVK pair

        random_pin = call(sock, f"JA{ACCOUNT}04")  # a random 4-digit PIN, under the LMK
        natural = call(sock, f"EE{ibm_pvk}0000FFFFFFFF04{ACCOUNT}{TABLE}{VALIDATION}")  # the IBM natural PIN
        for pin in (natural, random_pin):
            offset = call(sock, f"DE{ibm_pvk}{pin}04{ACCOUNT}{TABLE}{VALIDATION}")
            pvv = call(sock, f"DG{pvk_pair}{pin}{ACCOUNT}1")
            block = call(sock, f"JG{zpk1}01{ACCOUNT}{pin}")  # LMK -> ZPK 1, ISO format 0
            translated = call(sock, f"CC{zpk1}{zpk2}12{block}0101{ACCOUNT}")[2:18]  # ZPK 1 -> ZPK 2
            for zpk, pin_block in ((zpk1, block), (zpk2, translated)):
                call(sock, f"EA{zpk}{ibm_pvk}12{pin_block}0104{ACCOUNT}{TABLE}{VALIDATION}{offset}")
                call(sock, f"EC{zpk}{pvk_pair}{pin_block}01{ACCOUNT}1{pvv}")
                call(sock, f"BE{zpk}{pin_block}01{ACCOUNT}{pin}")

        cvv = call(sock, f"CW{cvk}4000001234562;2512101")
        call(sock, f"CY{cvk}{cvv}4000001234562;2512101")
        wrong = f"{(int(cvv) + 1) % 1000:03d}"
        call(sock, f"CY{cvk}{wrong}4000001234562;2512101", expect="01")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 1500)
