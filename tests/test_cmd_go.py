"""GO — Verify a PIN using the IBM offset method (Triple-DES DUKPT), optionally a MAC.

Vector: ThalesSim's TDES DUKPT IBM verification (nickntg/thalessimulatorlibrary,
ThalesCore.Tests/HostCommandTests.vb, TestValidateDukptPinWithIBMAlgorithm,
sent there as CK; GO adds the mode and the PIN block format 01): BDK
U8E3D3E2FD5919657F05A1AA90D32A014, PVK 56C1DC7F3A899043, KSN
FFFF9876543210E00001, PIN 1234, offset 9252. The PIN block and the offset are
re-derived below with tests/oracle.py (the DUKPT oracle, psec's IBM 3624);
the MACs are the oracle's X9.19 (psec) under its DUKPT MAC request key. The
round trip goes G0 -> JE -> DE (offset) -> GO.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import de, g0, go, je
from tests import oracle
from tests.commands import in_component, key_block, native
from tests.tcp import exchange

BDK = "U8E3D3E2FD5919657F05A1AA90D32A014"  # type 009, clear 0123456789ABCDEFFEDCBA9876543210
PVK = "56C1DC7F3A899043"  # single length under LMK 14-15, clear 1C1C1C1C1C1C1C1C
KSN = "FFFF9876543210E00001"
BLOCK = "1B9C1845EB993A7A"  # PIN 1234, PAN 4012345678909
ACCOUNT = "401234567890"
TABLE = "0123456789012345"
VALIDATION = "0004012345N9"
OFFSET = "9252FFFFFFFF"
TAIL = f"{ACCOUNT}{TABLE}{VALIDATION}"

BDK_CLEAR = oracle.from_lmk("009", BDK)
PVK_CLEAR = oracle.from_lmk("002", PVK)
PVK2_CLEAR = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PVK2 = oracle.to_lmk("002", "U", PVK2_CLEAR)
OFFSET2 = oracle.ibm_offset(PVK2_CLEAR, TABLE, "1234", oracle.ibm_validation_data(VALIDATION, ACCOUNT)).ljust(12, "F")
DATA = bytes.fromhex("0001FEFF25303132") + b"AMOUNT=1"  # 16 bytes, some of them not text
MAC = oracle.dukpt_mac(BDK_CLEAR, KSN, DATA)
BAD_MAC = MAC[:-1] + ("0" if MAC[-1] != "0" else "1")


def flip(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] ^ 1])


def block(clear: str) -> str:
    return oracle.dukpt_encrypt_block(BDK_CLEAR, KSN, clear)


def req(head: str, *, bdk: str = BDK, pvk: str = PVK, pin_block: str = BLOCK, fmt: str = "01", check: str = "04",
        tail: str = TAIL, offset: str = OFFSET, mac_part: bytes = b"", lmk: str = "") -> bytes:  # fmt: skip
    return f"{head}{bdk}{pvk}605{KSN}{pin_block}{fmt}{check}{tail}{offset}".encode() + mac_part + lmk.encode()


def mac_part(mac: str, data: bytes = DATA) -> bytes:
    return f"{mac}{len(data):04d}".encode() + data


CASES = [
    # ThalesSim's vector.
    (req("0"), b"00"),
    (req("0", lmk="%00"), b"00"),
    (req("0", offset="9253FFFFFFFF"), b"01"),
    (req("0", pvk=PVK2, offset=OFFSET2), b"02"),  # double-length PVK: the warning
    (req("0", pvk=PVK2, offset=OFFSET), b"01"),
    # Other PIN block formats the command takes, built with the oracle.
    (req("0", pin_block=block(oracle.pinblock_encode("04", "1234", ACCOUNT)), fmt="04"), b"00"),
    (req("0", pin_block=block(oracle.pinblock_encode("05", "1234")), fmt="05"), b"00"),
    (req("0", pin_block=block(oracle.pinblock_encode("47", "1234", ACCOUNT)), fmt="47"), b"00"),
    # Mode 1: the PIN code, then the MAC code.
    (req("111", mac_part=mac_part(MAC)), b"0000"),
    (req("121", mac_part=mac_part(MAC[:8])), b"0000"),
    (req("131", mac_part=mac_part(MAC[8:])), b"0000"),
    (req("131", mac_part=mac_part(MAC[8:]), lmk="%00"), b"0000"),
    (req("111", mac_part=mac_part(BAD_MAC)), b"0001"),
    (req("131", mac_part=mac_part(BAD_MAC[8:])), b"0001"),
    (req("121", mac_part=mac_part(MAC[:8], DATA[:8] + b"AMOUNT=2")), b"0001"),
    (req("111", offset="9253FFFFFFFF", mac_part=mac_part(MAC)), b"0100"),
    (req("111", offset="9253FFFFFFFF", mac_part=mac_part(BAD_MAC)), b"0101"),
    (req("111", pvk=PVK2, offset=OFFSET2, mac_part=mac_part(MAC)), b"0200"),
    (req("111", mac_part=mac_part(oracle.dukpt_mac(BDK_CLEAR, KSN, DATA * 4), DATA * 4)), b"0000"),
    # Errors.
    (req("2"), b"15"),  # mode 0 or 1
    (req("141", mac_part=mac_part(MAC)), b"15"),  # MAC mode 1-3
    (req("112", mac_part=mac_part(MAC)), b"15"),  # MAC method 1 only
    (req("111", mac_part=mac_part(oracle.dukpt_mac(BDK_CLEAR, KSN, DATA[:12]), DATA[:12])), b"0000"),  # zero-padded, as GW
    (req("111", mac_part=mac_part(MAC, DATA[:12])), b"0001"),  # the padding is zeros, not the rest of DATA
    (req("111", mac_part=mac_part(MAC, b"")), b"15"),  # no data
    (req("111", mac_part=f"{MAC}0024".encode() + DATA), b"15"),  # length says 24, 16 follow
    (req("111"), b"15"),  # mode 1 without its MAC part
    (req("0", fmt="03"), b"23"),  # 01 04 05 47 only
    (req("0", fmt="34"), b"23"),
    (req("0", bdk=oracle.to_lmk("009", "U", flip(BDK_CLEAR))), b"10"),
    (req("0", pvk=oracle.to_lmk("002", "Z", flip(PVK_CLEAR))), b"11"),
    (req("0", bdk=oracle.to_lmk("009", "Z", BDK_CLEAR[:8])), b"27"),
    (req("0", tail=f"{ACCOUNT}0000000011111111{VALIDATION}"), b"25"),  # two digits only
    (req("0", check="06"), b"15"),  # a 4-digit offset, minimum PIN length 6
    (req("0", lmk="%01"), b"13"),
    (req("0", pin_block=block(f"{int('041234FFFFFFFFFE', 16) ^ int('0000' + ACCOUNT, 16):016X}")), b"20"),
    (req("0", pin_block=block(f"{int('03123FFFFFFFFFFF', 16) ^ int('0000' + ACCOUNT, 16):016X}")), b"24"),
    (req("0", tail=f"{ACCOUNT}{TABLE}000401234569"), b"15"),  # validation data without its N
    (req("0", offset="92X2FFFFFFFF"), b"15"),
]


def test_the_thalessim_vector_agrees_with_an_independent_implementation() -> None:
    assert PVK_CLEAR.hex().upper() == "1C1C1C1C1C1C1C1C"
    assert oracle.dukpt_pinblock(BDK_CLEAR, KSN, "1234", ACCOUNT) == BLOCK
    assert oracle.ibm_offset(PVK_CLEAR, TABLE, "1234", oracle.ibm_validation_data(VALIDATION, ACCOUNT)) == "9252"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_go_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(go, host, request_) == answer


def test_g0_je_de_give_the_offset_go_verifies(host: Host) -> None:
    zpk = "U9D961F6AF1D24B38AB37B320022FF57D"
    under_zpk = native(g0, host, f"{BDK}{zpk}605{KSN}{BLOCK}0101{ACCOUNT}".encode())[4:20].decode()
    under_lmk = native(je, host, f"{zpk}{under_zpk}01{ACCOUNT}".encode())[2:].decode()
    answer = native(de, host, f"{PVK2}{under_lmk}04{TAIL}".encode())
    assert answer == b"02" + OFFSET2.encode()
    assert native(go, host, req("0", pvk=PVK2, offset=answer[2:].decode())) == b"02"


@pytest.mark.wasm
def test_go_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "GO.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(go, host, request_), request_


@pytest.mark.wasm
async def test_go_over_tcp(built_plugins: Path) -> None:
    requests = [b"GO" + req("0"), b"GO" + req("111", offset="9253FFFFFFFF", mac_part=mac_part(MAC))]
    assert await exchange(built_plugins, *requests) == [b"GP00", b"GP0100"]


# --------------------------------------------------------------------------- AES DUKPT (ANSI X9.24-3), format 48
# The BDK and the PVK generated by A0 under the AES key-block test LMK (%02), opened by the independent
# key-block oracle; the terminal's block by the X9.24-3 oracle and psec's format 4; the offset by psec (tests/oracle.py).


def test_go_verifies_an_aes_dukpt_pin_by_ibm_offset() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()

    def generated(header: str) -> tuple[str, bytes]:
        return key_block(host, "02", header)

    bdk, bdk_clear = generated("B0A1X00N00")
    pvk, pvk_clear = generated("V1T2N00N00")
    pan, ksn = "4012345678909", "123456789012345600000003"
    source = oracle.iso4_encrypt(oracle.aes_dukpt_key(bdk_clear, ksn, "pin"), "1234", pan)
    offset = oracle.ibm_offset(pvk_clear, TABLE, "1234", oracle.ibm_validation_data(VALIDATION, ACCOUNT)).ljust(12, "F")
    wrong = f"{(int(offset[:4]) + 1) % 10000:04d}".ljust(12, "F")
    head = f"0{bdk}{pvk}A05{ksn}{source}4804{pan};{TABLE}{VALIDATION}"
    assert native(go, host, f"{head}{offset}%02".encode()) == b"02"  # verified; 02: the PVK is double length
    assert native(go, host, f"{head}{wrong}%02".encode()) == b"01"
    assert native(go, host, f"{head.replace('4804', '0104')}{offset}%02".encode()) == b"23"  # an AES BDK's blocks are 48
    mac_head = f"111{bdk}{pvk}A05{ksn}{source}4804{pan};{TABLE}{VALIDATION}{offset}{'0' * 16}0008"
    assert native(go, host, mac_head.encode() + b"AMOUNT=1%02") == b"A7"  # the X9.19 MAC part is DES
