"""M0 — Encrypt a data block.

Vectors: FIPS PUB 81 ("DES Modes of Operation", Appendix B-E: key
0123456789ABCDEF, IV 1234567890ABCDEF, "Now is the time for all ") in ECB,
CBC, CFB64, CFB8 (the appendix shows its first 10 bytes) and OFB, under a
single-length DEK/ZEK stored under the public test LMK; double-length and
DUKPT answers computed here; every answer re-derived below with
tests/oracle.py (psec, and the ANSI X9.24-1 DUKPT written there). The length
convention (characters of the message field) follows a real unit's trace in
softwaregroup-bg/ut-codec-payshield test/config/test.js (16 bytes as 32 hex
digits with length 0020, answered with 0020).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import m0
from tests import oracle
from tests.commands import in_component, key_block, native
from tests.tcp import exchange

FIPS_KEY = bytes.fromhex("0123456789ABCDEF")
DEK_S = "97421FD6C0EBA958"  # FIPS_KEY as a DEK (00B, LMK 32-33)
ZEK_S = "8479E4A3DBEB93D7"  # FIPS_KEY as a ZEK (00A, LMK 30-31)
DOUBLE = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
TRIPLE = DOUBLE + bytes.fromhex("89ABCDEF01234567")
DEK_U = "UA5F7447E8D9068513B94C51EF06E64EF"  # DOUBLE as a DEK
DEK_T = "T753E6E0A9D280E7F5EE5CD1418329A8CECD09A56D9DACBA1"  # TRIPLE as a DEK
DEK_EVEN = "UA5F7447E8D90685137CB0C436397FCA2"  # 0123…3211: even parity in the last byte
BDK_U = "U8E3D3E2FD5919657F05A1AA90D32A014"  # DOUBLE as a BDK (009, LMK 28-29)
BDK_S = "F35FE555E7F86476"  # FIPS_KEY as a BDK: single length
KSN = "FFFF9876543210E00001"
IV = "1234567890ABCDEF"
NOW = b"Now is the time for all "  # 24 bytes
NOW_HEX = NOW.hex().upper().encode()
BLOCK = b"0011223344556677"

FIPS_ECB = "3FA40E8A984D48156A271787AB8883F9893D51EC4B563B53"
FIPS_CBC = "E5C7CDDE872BF27C43E934008C389C0F683788499A7C05F6"
FIPS_CFB64 = "F3096249C7F46E51A69E839B1A92F78403467133898EA622"
FIPS_CFB8 = "F31FDA07011462EE187F43D80A7CD9B5B0D290DA6E5B9A87"  # FIPS 81 gives the first 10 bytes
FIPS_OFB = "F3096249C7F46E5135F24A242EEB3D3F3D6D5BE3255AF8C3"  # FIPS 81 Appendix E, 64-bit OFB


def wire(*parts: str | bytes) -> bytes:
    return b"".join(p.encode() if isinstance(p, str) else p for p in parts)


CASES: list[tuple[bytes, bytes]] = [
    # FIPS 81 in the four modes: text in, hex out (length 0018 = 24 characters in, 0030 = 48 out).
    (wire("00", "2", "1", "00B", DEK_S, "0018", NOW), wire("00", "0030", FIPS_ECB)),
    (wire("01", "2", "1", "00B", DEK_S, IV, "0018", NOW), wire("00", FIPS_CBC[-16:], "0030", FIPS_CBC)),
    (wire("02", "0", "1", "00B", DEK_S, IV, "0018", NOW), wire("00", FIPS_CFB8[-16:], "0030", FIPS_CFB8)),
    (wire("03", "0", "1", "00A", ZEK_S, IV, "0018", NOW), wire("00", FIPS_CFB64[-16:], "0030", FIPS_CFB64)),
    (wire("05", "2", "1", "00B", DEK_S, IV, "0018", NOW), wire("00", "0030", FIPS_OFB)),  # OFB: an IV in, none out
    # Hex in (0030 = 48 hex digits), binary out (0018 = 24 bytes).
    (wire("00", "1", "0", "00A", ZEK_S, "0030", NOW_HEX), wire("00", "0018", bytes.fromhex(FIPS_ECB))),
    (wire("01", "1", "1", "00b", DEK_S.lower(), IV.lower(), "0030", NOW_HEX.lower()), wire("00", FIPS_CBC[-16:], "0030", FIPS_CBC)),
    (wire("00", "2", "1", "00B", DEK_S, "0018", NOW, "%00"), wire("00", "0030", FIPS_ECB)),
    # Double and triple length (computed; re-derived below). A real unit's shape: 16 bytes as 0020 hex.
    (wire("00", "1", "1", "00B", DEK_U, "0010", BLOCK), b"00001031A7364CAC91CA39"),
    (wire("01", "1", "1", "00B", DEK_U, "0000000000000000", "0020", BLOCK * 2), b"0002960C360DD7F660002031A7364CAC91CA3902960C360DD7F660"),
    (wire("00", "1", "1", "00B", DEK_T, "0010", BLOCK), b"00001041153ED6AC30654B"),
    # DUKPT: the data key of the BDK and KSN; 605 = 16 significant KSN digits (the first 4 ignored).
    (wire("00", "1", "1", "009", BDK_U, "A05", KSN, "0010", BLOCK), b"000010A8356B9FB7997032"),
    (wire("00", "1", "1", "009", BDK_U, "605", "0000" + KSN[4:], "0010", BLOCK), b"000010A8356B9FB7997032"),
    # Errors.
    (wire("04", "1", "1", "00B", DEK_S, "0010", BLOCK), b"02"),  # mode 04 (a Visa mode of newer units)
    (wire("0A", "1", "1", "00B", DEK_S, "0010", BLOCK), b"02"),
    (wire("06", "1", "1", "00B", DEK_S, IV, "0010", BLOCK), b"02"),
    (wire("00", "3", "1", "00B", DEK_S, "0010", BLOCK), b"03"),
    (wire("00", "1", "2", "00B", DEK_S, "0010", BLOCK), b"04"),  # M0 has no text output
    (wire("00", "1", "1", "FFF", DEK_S, "0010", BLOCK), b"05"),  # key-block LMK only
    (wire("00", "1", "1", "001", DEK_S, "0010", BLOCK), b"05"),  # a ZPK type
    (wire("00", "1", "1", "00B", DEK_S, "00G0", BLOCK), b"06"),  # length not hex
    (wire("00", "1", "1", "00B", DEK_S, "000F", BLOCK), b"06"),  # the real unit's M106: 000F with 16 hex digits
    (wire("00", "1", "1", "00B", DEK_S, "0008", BLOCK), b"06"),  # hex: 8 digits is not a whole block
    (wire("00", "0", "1", "00B", DEK_S, "000C", b"twelve bytes"), b"06"),  # binary: not whole blocks
    (wire("00", "0", "1", "00B", DEK_S, "0000"), b"06"),  # nothing to encrypt
    (wire("00", "0", "1", "00B", DEK_S, "8008"), b"06"),  # over 32 KiB
    (wire("00", "1", "1", "00B", DEK_S, "0020", BLOCK), b"06"),  # less data than declared
    (wire("00", "1", "1", "00B", DEK_S, "0010", BLOCK, "00"), b"15"),  # more data than declared
    (wire("00", "1", "1", "00B", DEK_S, "0010", b"00112233445566XY"), b"15"),  # hex message not hex
    (wire("01", "1", "1", "00B", DEK_S, "123456789OABCDEF", "0010", BLOCK), b"15"),  # IV not hex
    (wire("00", "1", "1", "00B", DEK_S[:-1] + "G", "0010", BLOCK), b"15"),  # key field not hex
    (wire("00", "1", "1", "00B", DEK_S, "0010", BLOCK, "%01"), b"13"),  # LMK 01 not loaded
    (wire("00", "1", "1", "00B", DEK_S, "0010", BLOCK, "%0"), b"13"),
    (wire("00", "1", "1", "00B", DEK_EVEN, "0010", BLOCK), b"10"),
    (wire("00", "1", "1", "00B", ZEK_S, "0010", BLOCK), b"10"),  # a ZEK given as a DEK: parity fails under 32-33
    (wire("00", "1", "1", "009", BDK_U, "A0G", KSN, "0010", BLOCK), b"15"),  # KSN descriptor not hex
    (wire("00", "1", "1", "009", BDK_U, "004", KSN, "0010", BLOCK), b"15"),  # 9 KSN digits
    (wire("00", "1", "1", "009", BDK_U, "A15", KSN, "0010", BLOCK), b"15"),  # 21 KSN digits
    (wire("00", "1", "1", "009", BDK_S, "A05", KSN, "0010", BLOCK), b"27"),  # a DUKPT BDK must be double length
]


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("00B", DEK_S) == FIPS_KEY
    assert oracle.from_lmk("00A", ZEK_S) == FIPS_KEY
    assert oracle.from_lmk("00B", DEK_U) == DOUBLE
    assert oracle.from_lmk("00B", DEK_T) == TRIPLE
    assert oracle.from_lmk("009", BDK_U) == DOUBLE
    assert not oracle.odd_parity(oracle.from_lmk("00B", DEK_EVEN))
    iv = bytes.fromhex(IV)
    for mode, answer in [("ECB", FIPS_ECB), ("CBC", FIPS_CBC), ("CFB64", FIPS_CFB64), ("CFB8", FIPS_CFB8), ("OFB", FIPS_OFB)]:
        assert oracle.data_crypt(FIPS_KEY, mode, iv, NOW, encrypt=True).hex().upper() == answer
    block = bytes.fromhex(BLOCK.decode())
    assert oracle.data_crypt(DOUBLE, "ECB", b"", block, encrypt=True).hex().upper() == "31A7364CAC91CA39"
    assert oracle.data_crypt(DOUBLE, "CBC", bytes(8), block * 2, encrypt=True).hex().upper() == "31A7364CAC91CA3902960C360DD7F660"
    assert oracle.data_crypt(TRIPLE, "ECB", b"", block, encrypt=True).hex().upper() == "41153ED6AC30654B"
    # DUKPT: the published X9.24-1 initial key, and the data variant at counter 1 (the test file
    # quoted in the research notes); then the A.4.1 data key.
    assert oracle.dukpt_ipek(DOUBLE, "FFFF9876543210E00000").hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"
    assert oracle.dukpt_data_variant(DOUBLE, KSN).hex().upper() == "042666B4917BCFA368DE9628D0C67BC9"
    data_key = oracle.dukpt_data_key(DOUBLE, KSN)
    assert oracle.data_crypt(data_key, "ECB", b"", block, encrypt=True).hex().upper() == "A8356B9FB7997032"


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_m0_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(m0, host, request_) == answer


def test_32_kib_of_binary_data_in_and_out(host: Host) -> None:
    data = bytes(range(256)) * 128  # 32768 bytes
    answer = native(m0, host, wire("01", "0", "0", "00B", DEK_U, "0000000000000000", "8000", data))
    expected = oracle.data_crypt(DOUBLE, "CBC", bytes(8), data, encrypt=True)
    assert answer == wire("00", expected[-8:].hex().upper(), "8000", expected)
    # As hex the answer would be 65536 digits: more than a 4 H length counts.
    assert native(m0, host, wire("01", "0", "1", "00B", DEK_U, "0000000000000000", "8000", data)) == b"06"
    assert native(m0, host, wire("01", "0", "0", "00B", DEK_U, "0000000000000000", "8008", data + BLOCK[:8])) == b"06"


@pytest.mark.wasm
def test_m0_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "M0.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(m0, host, request_), request_


@pytest.mark.wasm
async def test_m0_over_tcp(built_plugins: Path) -> None:
    assert await exchange(built_plugins, wire("M0", "00", "2", "1", "00B", DEK_S, "0018", NOW), wire("M0", "04")) == [
        wire("M100", "0030", FIPS_ECB),
        b"M102",
    ]


# --------------------------------------------------------------------------- AES keys (key-block LMK)
# An AES data key and an AES BDK generated by A0 under the AES key-block test LMK (%02), opened by the
# independent key-block oracle; ciphertexts re-derived with psec's AES and the X9.24-3 oracle (tests/oracle.py).


def aes_key(host: Host, header: str) -> tuple[str, bytes]:
    return key_block(host, "02", header)


def test_m0_m2_m4_under_aes_keys() -> None:
    from logic import m2, m4
    from tests import kb_oracle

    host = kb_oracle.make_host()
    zek, zek_clear = aes_key(host, "D0A1B00N00")
    other, other_clear = aes_key(host, "D0A3B00N00")
    iv, data = "00112233445566778899AABBCCDDEEFF", bytes(range(48))
    expected = oracle.aes_crypt(zek_clear, "CBC", bytes.fromhex(iv), data, encrypt=True)
    answer = native(m0, host, f"0111FFF{zek}{iv}0060{data.hex().upper()}%02".encode())
    assert answer == f"00{expected[-16:].hex().upper()}0060{expected.hex().upper()}".encode()
    assert native(m2, host, f"0111FFF{zek}{iv}0060{expected.hex().upper()}%02".encode()) == (
        f"00{expected[-16:].hex().upper()}0060{data.hex().upper()}".encode()
    )
    translated = oracle.aes_crypt(other_clear, "ECB", b"", data, encrypt=True)
    assert native(m4, host, f"010011FFF{zek}FFF{other}{iv}0060{expected.hex().upper()}%02".encode()) == (
        f"00{expected[-16:].hex().upper()}0060{translated.hex().upper()}".encode()
    )
    ofb = oracle.aes_crypt(zek_clear, "OFB", bytes.fromhex(iv), data, encrypt=True)  # NIST SP 800-38A 6.4
    assert native(m0, host, f"0511FFF{zek}{iv}0060{data.hex().upper()}%02".encode()) == f"000060{ofb.hex().upper()}".encode()
    assert native(m2, host, f"0511FFF{zek}{iv}0060{ofb.hex().upper()}%02".encode()) == f"000060{data.hex().upper()}".encode()
    assert native(m0, host, f"0311FFF{zek}{iv}0060{data.hex().upper()}%02".encode()) == b"02"  # CFB64 is a DES mode
    assert native(m0, host, f"0111FFF{zek}{iv}0010{data[:8].hex().upper()}%02".encode()) == b"06"  # not whole 16-byte blocks
    assert native(m0, host, f"0111FFF{zek}{iv[:16]}0060{data.hex().upper()}%02".encode()) == b"06"  # an IV of 16 H: the rest misreads


def test_m0_encrypts_under_an_aes_dukpt_data_key() -> None:
    from tests import kb_oracle

    host = kb_oracle.make_host()
    bdk, bdk_clear = aes_key(host, "B0A1X00N00")
    ksn = "1234567890123456" + "0000000B"
    data = bytes(range(32))
    key = oracle.aes_dukpt_key(bdk_clear, ksn, "data-request")
    expected = oracle.aes_crypt(key, "ECB", b"", data, encrypt=True)
    assert native(m0, host, f"0011FFF{bdk}A05{ksn}0040{data.hex().upper()}%02".encode()) == f"000040{expected.hex().upper()}".encode()
    # A 20 H TDES KSN: the 24 H field takes 4 characters of the length, which then misreads (06).
    assert native(m0, host, f"0011FFF{bdk}A05FFFF9876543210E000010040{data.hex().upper()}%02".encode()) == b"06"
