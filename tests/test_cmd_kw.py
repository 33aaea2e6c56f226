"""KW — Verify an ARQC and/or generate an ARPC (EMV 4.x: EMV2000 tree, EMV common session key).

No published KW request/response under the public test LMK exists
(ut-codec-payshield's keys are under another LMK). The known answers are
self-made with the KQ test's card (MK-AC 0123456789ABCDEFFEDCBA9876543210 as
type 109, PAN 4761739001010010, PSN 01, ATC 0001, 40 bytes of transaction data
ending in 80), each re-derived with tests/oracle.py (pyemv kd.derive_icc_mk_a/b,
derive_emv2000_tree_sk, derive_common_sk; ac.generate_ac, generate_arpc_1/2) and
the common-session-key path also with pyemv's VisaCVN18 card profile. The
ut-codec-payshield KW fixtures (softwaregroup-bg/ut-codec-payshield,
test/config/test.js, generateArqc4: scheme 2, modes 0 and 4) are replayed for
their layout: they parse to the MK-AC, whose parity fails under the test LMK (10).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyemv import cvn

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from hsmd.runtime import Runtime
from logic import kw
from tests import kb_oracle, oracle
from tests.commands import in_component, native
from tests.tcp import exchange
from tests.test_cmd_kq import MK_AC_BLOCK

MK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
MK_AC = "U7475636CC30B93B493CF5EA53799EBCC"  # MK under the test LMK, type 109
PAN, PSN = "4761739001010010", "01"
BLOCK = bytes.fromhex("6173900101001001")  # the 16 rightmost digits of PAN · PSN
LONG_PAN = "4761739001010010123"  # 19 digits: Option B (SHA-1)
LONG_BLOCK = bytes.fromhex("0476173900101001012301")  # PAN · PSN, 21 digits and a leading 0
ATC = bytes.fromhex("0001")
DATA = bytes.fromhex("000000001000000000000000084000000000000840230101003412345678380000010203A0B80080")
IV = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
ZERO_IV = bytes(16)
ARC, CSU, PROPRIETARY = b"00", bytes.fromhex("00800000"), bytes.fromhex("8080040000")
EVEN_MK_AC = oracle.to_lmk("109", "U", MK[:-1] + bytes([MK[-1] ^ 1]))

# (method, IV, card) -> (ARQC, ARPC method 1 over ARC "00", ARPC method 2 over CSU 00800000 and 8080040000)
VECTORS = {
    "common": ("2A578C84D092D58C", "E42DDA2D89D1B8EE", "97FA5922"),
    "tree-2-16": ("3ECA1AE98DBA6813", "DF7D86B65D67EE8D", "338A1312"),
    "tree-2-16 IV": ("92314082817A9299", "3CB1394A5D9D5CB6", "A7202940"),
    "tree-4-8": ("24E7E89E9A15B537", "D4CBE9E0D90837E1", "A3148053"),
    "tree-4-8 IV": ("C8474DB6F85C5F5C", "55876738CB6C4354", "DB857804"),
    "tree-4-8 B": ("C4F515CBE56CEE03", "947385EE8DA9658F", "5382F619"),
}
CSK_ARPC2_BARE = "921C1072"  # common session key, CSU 00000000, no proprietary data (the research note's value)


def arqc(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name][0])


def arpc1(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name][1])


def arpc2(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name][2])


def field2(arpc: bytes) -> bytes:
    """KX's ARPC field for method 2: the 4-byte ARPC left-justified in 8 bytes, zero-filled, as a unit
    answered it (ut-codec-payshield test/config/test.js, generateArqc4Decode 2: KX00 A62169F300000000)."""
    return arpc + bytes(4)


def request(
    mode: str,
    scheme: str,
    cryptogram: bytes,
    data: bytes = DATA,
    *,
    mk: str = MK_AC,
    iv: bytes = ZERO_IV,
    block: bytes = BLOCK,
    pan_length: str | None = None,
    tree: str = "0",
    atc: bytes = ATC,
    arc: bytes = ARC,
    csu: bytes = CSU,
    proprietary: bytes = PROPRIETARY,
    proprietary_length: str | None = None,
    length: str | None = None,
    tail: bytes = b"",
) -> bytes:
    out = f"{mode}{scheme}{mk}".encode()
    if scheme in "01":
        out += iv
    if scheme == "1":
        out += (f"{len(block):02d}" if pan_length is None else pan_length).encode() + block + b";"
    else:
        out += block
    if scheme in "01":
        out += tree.encode()
    out += atc
    if mode in "013":
        out += (f"{len(data):02X}" if length is None else length).encode() + data + b";"
    out += cryptogram
    if mode in "12":
        out += arc
    if mode in "34":
        out += csu + (str(len(proprietary)) if proprietary_length is None else proprietary_length).encode() + proprietary
    return out + tail


def flip(value: bytes) -> bytes:
    return value[:-1] + bytes([value[-1] ^ 0x01])


def test_vectors_agree_with_an_independent_implementation() -> None:
    assert oracle.from_lmk("109", MK_AC) == MK
    card = oracle.icc_key(MK, "A", PAN, PSN)
    card_b = oracle.icc_key(MK, "B", LONG_PAN, PSN)
    keys = {
        "common": oracle.emv_session_key(card, "common", ATC),
        "tree-2-16": oracle.emv_session_key(card, "tree-2-16", ATC, iv=ZERO_IV),
        "tree-2-16 IV": oracle.emv_session_key(card, "tree-2-16", ATC, iv=IV),
        "tree-4-8": oracle.emv_session_key(card, "tree-4-8", ATC, iv=ZERO_IV),
        "tree-4-8 IV": oracle.emv_session_key(card, "tree-4-8", ATC, iv=IV),
        "tree-4-8 B": oracle.emv_session_key(card_b, "tree-4-8", ATC, iv=ZERO_IV),
    }
    assert keys["common"].hex().upper() == "DC43A16846233E20CB1ACD7A0D0BC485"
    for name, key in keys.items():
        cryptogram = oracle.emv_arqc(key, DATA)
        assert cryptogram == arqc(name), name
        assert oracle.emv_arpc_1(key, cryptogram, ARC) == arpc1(name), name
        assert oracle.emv_arpc_2(key, cryptogram, CSU, PROPRIETARY) == arpc2(name), name
    assert oracle.emv_arpc_2(keys["common"], arqc("common"), bytes(4)).hex().upper() == CSK_ARPC2_BARE


def _tree(name: str, mode: str) -> bytes:
    iv = IV if "IV" in name else ZERO_IV
    tree = "1" if name.startswith("tree-4-8") else "0"
    if name.endswith(" B"):
        return request(mode, "1", arqc(name), iv=iv, tree=tree, block=LONG_BLOCK)
    return request(mode, "0", arqc(name), iv=iv, tree=tree)


CASES: list[tuple[bytes, bytes]] = [
    # Scheme 2: the EMV common session key.
    (request("0", "2", arqc("common")), b"00"),
    (request("1", "2", arqc("common")), b"00" + arpc1("common")),
    (request("2", "2", arqc("common")), b"00" + arpc1("common")),
    (request("3", "2", arqc("common")), b"00" + field2(arpc2("common"))),
    (request("4", "2", arqc("common")), b"00" + field2(arpc2("common"))),
    (request("4", "2", arqc("common"), csu=bytes(4), proprietary=b""), b"00" + field2(bytes.fromhex(CSK_ARPC2_BARE))),
    (request("1", "2", arqc("common"), tail=b"%00"), b"00" + arpc1("common")),
    # Schemes 0 and 1: the EMV2000 tree, both shapes, with and without an IV; Option B for 19 digits.
    *[(_tree(name, "1"), b"00" + arpc1(name)) for name in VECTORS if name != "common"],
    *[(_tree(name, "3"), b"00" + field2(arpc2(name))) for name in VECTORS if name != "common"],
    (_tree("tree-2-16", "0"), b"00"),
    (_tree("tree-4-8 IV", "2"), b"00" + arpc1("tree-4-8 IV")),
    (_tree("tree-4-8 B", "4"), b"00" + field2(arpc2("tree-4-8 B"))),
    # Scheme 1 with a PAN of 16 digits: Option B is Option A.
    (request("1", "1", arqc("tree-2-16"), block=bytes.fromhex("476173900101001001")), b"00" + arpc1("tree-2-16")),
    # Verification failures.
    (request("0", "2", flip(arqc("common"))), b"01"),
    (request("1", "2", flip(arqc("common"))), b"01"),
    (request("3", "2", arqc("common"), atc=b"\x00\x02"), b"01"),
    (request("1", "2", arqc("common"), flip(DATA)), b"01"),
    (request("1", "0", arqc("tree-2-16"), iv=IV), b"01"),  # another IV
    (request("1", "0", arqc("tree-2-16"), tree="1"), b"01"),  # another tree
    (request("1", "0", arqc("common")), b"01"),  # a common-session-key cryptogram is no tree one
    (request("1", "1", arqc("tree-4-8 B"), tree="1", block=LONG_BLOCK[1:] + b"\x01"), b"01"),
    # Mode, scheme, branch/height.
    (request("5", "2", arqc("common")), b"04"),
    (request("G", "2", arqc("common")), b"04"),
    (request("0", "3", arqc("common")), b"05"),
    (request("0", "0", arqc("tree-2-16"), tree="2"), b"52"),
    (request("0", "1", arqc("tree-2-16"), tree="X"), b"52"),
    # Keys.
    (request("0", "2", arqc("common"), mk=EVEN_MK_AC), b"10"),
    (request("0", "2", arqc("common"), tail=b"%01"), b"13"),
    # Transaction data and other fields.
    (request("0", "2", arqc("common"), length="00"), b"81"),
    (request("0", "2", arqc("common"), length="Z0"), b"80"),
    (request("1", "2", arqc("common"), length="FF"), b"80"),
    (request("0", "2", arqc("common"), length="27"), b"15"),
    (request("3", "2", arqc("common"), proprietary_length="9", proprietary=bytes(9)), b"15"),
    (request("3", "2", arqc("common"), proprietary_length="A"), b"15"),
    (request("4", "2", arqc("common"), csu=bytes(3), proprietary=b""), b"15"),
    (request("1", "1", arqc("tree-2-16"), pan_length="1A"), b"15"),
    (request("1", "1", arqc("tree-2-16"), pan_length="07"), b"15"),  # the ; is not where the length says
    (request("1", "2", arqc("common"), block=bytes.fromhex("61739001010010FF")), b"15"),
    (request("1", "2", arqc("common"), tail=b"0"), b"15"),
    (b"1", b"15"),
]


@pytest.mark.parametrize(("request_", "answer"), CASES)
def test_kw_known_answers_and_error_codes(host: Host, request_: bytes, answer: bytes) -> None:
    assert native(kw, host, request_) == answer


def test_kw_agrees_with_pyemv_visa_cvn18(host: Host) -> None:
    """pyemv's VisaCVN18 (Option B, EMV common session key, ARPC method 2) against scheme 2, mode 3."""
    amount, other, country, tvr, currency, date, kind, un, aip = (
        bytes.fromhex(h) for h in ("000000012345", "000000000000", "0826", "8000048000", "0826", "240615", "00", "9BADBCAB", "5800")
    )
    iad = bytes.fromhex("06011203A0B000")
    visa = cvn.VisaCVN18(MK, MK, MK, PAN, PSN)
    atc = bytes.fromhex("0102")
    cryptogram = visa.generate_ac(amount, other, country, tvr, currency, date, kind, un, aip, atc, iad)
    data = amount + other + country + tvr + currency + date + kind + un + aip + atc + iad + b"\x80"
    data += bytes(-len(data) % 8)
    csu = bytes.fromhex("00820000")
    expected = visa.generate_arpc(cryptogram, atc, csu, b"\x01\x02")
    assert native(kw, host, request("3", "2", cryptogram, data, atc=atc, csu=csu, proprietary=b"\x01\x02")) == b"00" + field2(expected)
    assert native(kw, host, request("3", "2", flip(cryptogram), data, atc=atc, csu=csu, proprietary=b"\x01\x02")) == b"01"


def test_kw_takes_the_mk_ac_as_a_key_block() -> None:
    """ut-codec-payshield's generateArqc4 fixtures 3-5 send the MK-AC as a key block of usage E0 under LMK 01
    (tests/test_cmd_kq.py has it); opened by the key-block oracle, pyemv's Visa CVN 18 makes the card's side."""
    host = kb_oracle.make_host()
    _header, mk = kb_oracle.open_block(kb_oracle.K3, MK_AC_BLOCK)
    amount, other, country, tvr, currency, date, kind, un, aip = (
        bytes.fromhex(h) for h in ("000000012345", "000000000000", "0826", "8000048000", "0826", "240615", "00", "9BADBCAB", "5800")
    )
    iad, atc, csu = bytes.fromhex("06011203A0B000"), bytes.fromhex("0102"), bytes.fromhex("00820000")
    visa = cvn.VisaCVN18(mk, mk, mk, PAN, PSN)
    cryptogram = visa.generate_ac(amount, other, country, tvr, currency, date, kind, un, aip, atc, iad)
    data = amount + other + country + tvr + currency + date + kind + un + aip + atc + iad + b"\x80"
    data += bytes(-len(data) % 8)
    expected = visa.generate_arpc(cryptogram, atc, csu, b"")
    for given, answer in ((cryptogram, b"00" + field2(expected)), (flip(cryptogram), b"01")):
        wire = request("3", "2", given, data, mk=MK_AC_BLOCK, atc=atc, csu=csu, proprietary=b"", tail=b"%01")
        assert native(kw, host, wire) == answer


def test_kw_diagnostics_in_the_authorised_state() -> None:
    authorised = Host(LmkSet({0: TEST_LMK}), "0007-E000", pin_settings=PinSettings(authorised=True))
    assert native(kw, authorised, request("3", "2", flip(arqc("common")))) == b"01" + arqc("common")
    assert native(kw, authorised, _tree("tree-4-8 IV", "0")) == b"00"


def test_kw_replays_the_wire_layout_of_a_client_codec(host: Host) -> None:
    """ut-codec-payshield's generateArqc4 fixtures (scheme 2, modes 0 and 4): the whole request parses;
    their MK-AC is under another LMK, so parity fails under the test LMK (10), not a field (15)."""
    mode0 = bytes.fromhex(
        "3032553531383736334143363146423533453232333036433144383539373843333943"
        "3239010000012101005B3230"
        "0FA501A13102000000000000000000000F010000000000000000000000000000"
        "3BDDA6BCC881C093AD"
    )
    mode4 = bytes.fromhex(
        "34325535313837363341433631464235334532323330364331443835393738433339433239010000012101005BDDA6BCC881C093AD00000000358080040000"
    )
    assert native(kw, host, mode0) == b"10"
    assert native(kw, host, mode4) == b"10"
    assert native(kw, host, mode4[:-1]) == b"15"


@pytest.mark.wasm
def test_kw_component_answers_exactly_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "KW.wasm")
    for request_, _ in CASES:
        assert in_component(runtime, plugin, request_) == native(kw, host, request_), request_


@pytest.mark.wasm
async def test_kw_over_tcp(built_plugins: Path) -> None:
    requests = [request("1", "2", arqc("common")), _tree("tree-4-8 B", "4"), request("0", "2", flip(arqc("common")))]
    answers = await exchange(built_plugins, *(b"KW" + r for r in requests))
    # The second ARPC ends in 0x19: a reply may hold one (binary fields), the client reads it back whole.
    assert answers == [b"KX00" + arpc1("common"), b"KX00" + field2(arpc2("tree-4-8 B")), b"KX01"]
