"""Tests for hsmd.protocol, the sans-IO frame codec.

Every parser case goes through :func:`decode_three_ways`: the whole input at once, one byte
at a time, and followed by the first bytes of a next frame that must stay buffered.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hsmd import protocol
from hsmd.protocol import (
    MAX_FRAME_LEN,
    NEED_DATA,
    BadDatagram,
    Frame,
    FrameDecoder,
    FrameTooLarge,
    ShortFrame,
    encode,
    parse_datagram,
    parse_message,
    response_code,
    split_trailer,
)

# The first 3 bytes of a 5-byte frame: left over after the frames under test.
NEXT_PART = b"\x00\x05abc"
NEXT_REST = b"de"


def drain(decoder: FrameDecoder) -> list[Frame | ShortFrame]:
    events: list[Frame | ShortFrame] = []
    while (event := decoder.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def decode_three_ways(data: bytes, header_len: int) -> list[Frame | ShortFrame]:
    """Decode ``data`` whole, byte by byte and with a partial next frame; all must agree."""
    whole = FrameDecoder(header_len)
    whole.receive_data(data)
    expected = drain(whole)
    assert not whole.in_frame

    bytewise = FrameDecoder(header_len)
    events: list[Frame | ShortFrame] = []
    for i in range(len(data)):
        bytewise.receive_data(data[i : i + 1])
        events += drain(bytewise)
    assert events == expected
    assert not bytewise.in_frame

    trailing = FrameDecoder(header_len)
    trailing.receive_data(data + NEXT_PART)
    assert drain(trailing) == expected
    assert trailing.in_frame
    assert trailing.buffered == len(NEXT_PART)
    trailing.receive_data(NEXT_REST)
    assert drain(trailing) == [parse_message(b"abcde", header_len)]
    assert not trailing.in_frame
    return expected


def load_fuzz_harness() -> ModuleType:
    # Loaded by path so this works whether or not tests/ is a package.
    path = Path(__file__).with_name("fuzz_protocol.py")
    spec = importlib.util.spec_from_file_location("fuzz_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz_harness = load_fuzz_harness()


# --- public API -----------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    """The module exports exactly these names."""
    assert sorted(protocol.__all__) == sorted(
        [
            "MAX_FRAME_LEN",
            "MAX_HEADER_LEN",
            "MAX_TRAILER_LEN",
            "NEED_DATA",
            "TRAILER_MARK",
            "BadDatagram",
            "Event",
            "Frame",
            "FrameDecoder",
            "FrameTooLarge",
            "NeedData",
            "ProtocolError",
            "ShortFrame",
            "encode",
            "parse_datagram",
            "parse_message",
            "response_code",
            "split_trailer",
        ]
    )


def test_need_data_is_a_singleton_with_a_readable_repr() -> None:
    """NEED_DATA is returned by identity and prints as its name."""
    assert FrameDecoder(4).next_event() is NEED_DATA
    assert repr(NEED_DATA) == "NEED_DATA"


# --- parsing, each case three ways ----------------------------------------------------


def test_parses_the_payshield_diagnostics_example() -> None:
    """The manual's NC request with a 4-byte header becomes one frame."""
    data = bytes.fromhex("0006 48454144 4E43")
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", b"", None)]


def test_parses_a_frame_without_header() -> None:
    """With H = 0 the command code starts right after the length."""
    assert decode_three_ways(b"\x00\x04B2xy", 0) == [Frame(b"", b"B2", b"xy", None)]


def test_parses_the_longest_header() -> None:
    """A 32-byte header is taken verbatim, including 0x19 bytes."""
    header = b"\x19" * 32
    data = encode(header + b"NCabc")
    assert decode_three_ways(data, 32) == [Frame(header, b"NC", b"abc", None)]


def test_parses_pipelined_frames_in_order() -> None:
    """Several frames in one input come out in order, one event each."""
    data = encode(b"0001NC") + encode(b"0002A0data") + encode(b"0003B2")
    assert decode_three_ways(data, 4) == [
        Frame(b"0001", b"NC", b"", None),
        Frame(b"0002", b"A0", b"data", None),
        Frame(b"0003", b"B2", b"", None),
    ]


def test_parses_a_frame_of_the_maximum_length() -> None:
    """A 65535-byte frame is accepted whole."""
    body = b"x" * (MAX_FRAME_LEN - 6)
    data = b"\xff\xff" + b"HEADNC" + body
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", body, None)]


def test_takes_a_printable_tail_after_0x19_as_the_trailer() -> None:
    """The bytes after the last 0x19 are the trailer, without the mark."""
    data = encode(b"HEADNCfields\x19trailer 1")
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", b"fields", b"trailer 1")]


def test_takes_a_32_byte_trailer() -> None:
    """A trailer of exactly 32 printable bytes is a trailer."""
    trailer = b" ~" * 16
    data = encode(b"HEADNC\x19" + trailer)
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", b"", trailer)]


def test_a_33_byte_tail_is_data() -> None:
    """A 33-byte tail is too long for a trailer, so the 0x19 stays in the body."""
    body = b"\x19" + b"A" * 33
    assert decode_three_ways(encode(b"HEADNC" + body), 4) == [Frame(b"HEAD", b"NC", body, None)]


def test_a_tail_with_a_non_printable_byte_is_data() -> None:
    """0x7F (and anything outside 0x20-0x7E) after 0x19 means no trailer."""
    body = b"ab\x19cd\x7f"
    assert decode_three_ways(encode(b"HEADNC" + body), 4) == [Frame(b"HEAD", b"NC", body, None)]


def test_only_the_last_0x19_can_start_a_trailer() -> None:
    """An earlier 0x19 belongs to the body; the last one starts the trailer."""
    data = encode(b"HEADNCa\x19b\x19tr")
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", b"a\x19b", b"tr")]


def test_a_binary_tail_after_the_last_0x19_hides_an_earlier_trailer_like_part() -> None:
    """If the last 0x19 is followed by binary, there is no trailer even if an earlier one
    would have qualified."""
    body = b"\x19ok\x19\x00"
    assert decode_three_ways(encode(b"HEADNC" + body), 4) == [Frame(b"HEAD", b"NC", body, None)]


def test_a_final_0x19_is_an_empty_trailer() -> None:
    """0x19 as the last byte gives the empty trailer."""
    data = encode(b"HEADNCab\x19")
    assert decode_three_ways(data, 4) == [Frame(b"HEAD", b"NC", b"ab", b"")]


def test_0x19_in_the_header_or_command_is_not_a_trailer_mark() -> None:
    """The trailer is searched in the fields only."""
    data = encode(b"H\x19ABN\x19") + encode(b"HEAD\x19A")
    assert decode_three_ways(data, 4) == [
        Frame(b"H\x19AB", b"N\x19", b"", None),
        Frame(b"HEAD", b"\x19A", b"", None),
    ]


def test_a_payload_shorter_than_the_header_is_a_short_frame() -> None:
    """Shorter than H: payload padded with spaces to H, then ZZ51."""
    assert decode_three_ways(b"\x00\x02AB", 4) == [ShortFrame(b"AB  ZZ51", "shorter than the message header")]


def test_a_zero_length_frame_with_a_header_is_a_short_frame() -> None:
    """An empty frame with H = 4 is answered with four spaces and ZZ51."""
    assert decode_three_ways(b"\x00\x00", 4) == [ShortFrame(b"    ZZ51", "shorter than the message header")]


def test_a_zero_length_frame_without_a_header_is_a_short_frame() -> None:
    """An empty frame with H = 0 has no command code: ZZ15."""
    assert decode_three_ways(b"\x00\x00", 0) == [ShortFrame(b"ZZ15", "no command code")]


def test_a_frame_with_only_the_header_is_a_short_frame() -> None:
    """Header present, no command code: header then ZZ15."""
    assert decode_three_ways(b"\x00\x04HEAD", 4) == [ShortFrame(b"HEADZZ15", "no command code")]


def test_a_frame_with_one_command_byte_is_a_short_frame() -> None:
    """Header and one command byte: header then ZZ15."""
    assert decode_three_ways(b"\x00\x05HEADN", 4) == [ShortFrame(b"HEADZZ15", "no command code")]


def test_short_frames_do_not_disturb_the_frames_around_them() -> None:
    """A short frame between two frames yields exactly one event of its own."""
    data = encode(b"0001NC") + b"\x00\x00" + encode(b"0003NC")
    assert decode_three_ways(data, 4) == [
        Frame(b"0001", b"NC", b"", None),
        ShortFrame(b"    ZZ51", "shorter than the message header"),
        Frame(b"0003", b"NC", b"", None),
    ]


# --- decoder state ---------------------------------------------------------------------


def test_in_frame_is_false_until_a_byte_arrives_and_after_the_frame_completes() -> None:
    """in_frame tracks buffered bytes of an unfinished frame, starting at its first byte."""
    decoder = FrameDecoder(0)
    assert not decoder.in_frame
    decoder.receive_data(b"\x00")
    assert decoder.next_event() is NEED_DATA
    assert decoder.in_frame
    decoder.receive_data(b"\x02NC")
    assert decoder.next_event() == Frame(b"", b"NC", b"", None)
    assert not decoder.in_frame


def test_receiving_nothing_changes_nothing() -> None:
    """receive_data(b"") is a no-op."""
    decoder = FrameDecoder(0)
    decoder.receive_data(b"")
    assert decoder.next_event() is NEED_DATA
    assert not decoder.in_frame


def test_a_long_stream_survives_buffer_compaction() -> None:
    """Over many chunks (well past the compaction threshold) no frame is lost or altered."""
    frames = [encode(b"%04dN%c" % (i, 0x30 + i % 10) + b"x" * (i % 50)) for i in range(5000)]
    stream = b"".join(frames)
    decoder = FrameDecoder(4)
    events: list[Frame | ShortFrame] = []
    for start in range(0, len(stream), 997):
        decoder.receive_data(stream[start : start + 997])
        events += drain(decoder)
    assert len(events) == 5000
    assert events[4999] == Frame(b"4999", b"N9", b"x" * 49, None)
    assert not decoder.in_frame


def test_a_length_over_the_configured_limit_raises_and_stays_raised() -> None:
    """With max_frame_len set, an oversized prefix raises FrameTooLarge at once, every time."""
    decoder = FrameDecoder(4, max_frame_len=100)
    decoder.receive_data(encode(b"HEADNC") + b"\x00\x65")
    assert decoder.next_event() == Frame(b"HEAD", b"NC", b"", None)
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_event()
    assert (info.value.length, info.value.limit) == (101, 100)
    with pytest.raises(FrameTooLarge):
        decoder.next_event()


def test_next_message_gives_each_payload_unparsed_whole_or_byte_by_byte() -> None:
    """The client side's entry point: payloads in order, a short one as it is, a partial one held back."""
    data = encode(b"HEADND00") + encode(b"AB") + encode(b"") + encode(b"HEADB300\x19x")
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        decoder = FrameDecoder(4)
        messages = []
        for chunk in [*chunks, NEXT_PART]:
            decoder.receive_data(chunk)
            while (message := decoder.next_message()) is not NEED_DATA:
                messages.append(message)
        assert messages == [b"HEADND00", b"AB", b"", b"HEADB300\x19x"]
        assert decoder.buffered == len(NEXT_PART)


def test_next_message_raises_frame_too_large_as_next_event_does() -> None:
    decoder = FrameDecoder(4, max_frame_len=100)
    decoder.receive_data(b"\x00\x65")
    with pytest.raises(FrameTooLarge):
        decoder.next_message()


@pytest.mark.parametrize("header_len", [-1, 33])
def test_rejects_a_header_length_outside_0_to_32(header_len: int) -> None:
    """The header length must be 0-32."""
    with pytest.raises(ValueError, match="header length"):
        FrameDecoder(header_len)


def test_rejects_a_max_frame_len_above_65535() -> None:
    """The length prefix cannot express more than 65535."""
    with pytest.raises(ValueError, match="max frame length"):
        FrameDecoder(4, max_frame_len=MAX_FRAME_LEN + 1)


# --- exact bytes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"NC", b"ND"),
        (b"A0", b"A1"),
        (b"B2", b"B3"),
        (b"CA", b"CB"),
        (b"MS", b"MT"),
        (b"NZ", b"N["),
        (b"N9", b"N:"),
        (b"N\xff", b"N\x00"),
    ],
)
def test_response_code_increments_the_second_byte(command: bytes, expected: bytes) -> None:
    """The second byte goes up by one with no carry; 0xFF wraps to 0x00."""
    assert response_code(command) == expected


@pytest.mark.parametrize("command", [b"", b"N", b"NCX"])
def test_response_code_rejects_codes_that_are_not_2_bytes(command: bytes) -> None:
    """Only 2-byte command codes have a response code."""
    with pytest.raises(ValueError, match="2 bytes"):
        response_code(command)


def test_reply_without_trailer() -> None:
    """header + response code + error code + fields."""
    frame = Frame(b"HEAD", b"NC", b"", None)
    assert frame.reply(b"00", b"1234567890ABCDEF") == b"HEADND001234567890ABCDEF"


def test_reply_echoes_the_trailer() -> None:
    """A request trailer comes back after 0x19 at the end of the reply."""
    frame = Frame(b"HEAD", b"A0", b"x", b"T1")
    assert frame.reply(b"15") == b"HEADA115\x19T1"


def test_reply_echoes_an_empty_trailer_as_a_lone_mark() -> None:
    """An empty trailer is echoed as just 0x19."""
    assert Frame(b"", b"B2", b"", b"").reply(b"00") == b"B300\x19"


def test_reply_rejects_an_error_code_that_is_not_2_bytes() -> None:
    """Error codes are exactly two bytes."""
    with pytest.raises(ValueError, match="error code"):
        Frame(b"", b"NC", b"", None).reply(b"0")


def test_reply_raw_takes_the_error_code_from_the_payload() -> None:
    """reply_raw adds header, response code and trailer around a ready payload."""
    frame = Frame(b"HH", b"B2", b"", b"t")
    assert frame.reply_raw(b"00abc") == b"HHB300abc\x19t"


def test_to_message_rebuilds_the_request() -> None:
    """to_message is the inverse of parsing for a frame with a trailer."""
    assert Frame(b"HEAD", b"NC", b"ab", b"T").to_message() == b"HEADNCab\x19T"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", (b"", None)),
        (b"abc", (b"abc", None)),
        (b"abc\x19", (b"abc", b"")),
        (b"abc\x19 ~", (b"abc", b" ~")),
        (b"abc\x19\x1f", (b"abc\x19\x1f", None)),
        (b"\x19" + b"A" * 32, (b"", b"A" * 32)),
        (b"\x19" + b"A" * 33, (b"\x19" + b"A" * 33, None)),
    ],
)
def test_split_trailer_follows_the_trailer_rule(payload: bytes, expected: tuple[bytes, bytes | None]) -> None:
    """Last 0x19, then at most 32 bytes of 0x20-0x7E, or no trailer at all."""
    assert split_trailer(payload) == expected


def test_encode_prefixes_the_big_endian_length() -> None:
    """The prefix counts every byte after itself."""
    assert encode(b"HEADNC") == b"\x00\x06HEADNC"
    assert encode(b"") == b"\x00\x00"
    assert encode(b"x" * 0x1234)[:2] == b"\x12\x34"


def test_encode_accepts_65535_bytes_and_rejects_65536() -> None:
    """65535 is the largest length the prefix can carry."""
    assert encode(b"x" * MAX_FRAME_LEN)[:2] == b"\xff\xff"
    with pytest.raises(FrameTooLarge, match="65536 bytes exceeds the limit of 65535"):
        encode(b"x" * (MAX_FRAME_LEN + 1))


# --- datagrams (UDP) -------------------------------------------------------------------


def test_a_datagram_holding_one_frame_decodes_as_that_frame() -> None:
    """The same Frame a TCP stream would give, trailer included."""
    assert parse_datagram(encode(b"HEADNC\x19ab"), 4) == Frame(b"HEAD", b"NC", b"", b"ab")


def test_a_datagram_holding_one_short_frame_gets_the_tcp_answer() -> None:
    """Short frames follow the short frame rule, exactly as on TCP."""
    assert parse_datagram(b"\x00\x02AB", 4) == ShortFrame(b"AB  ZZ51", "shorter than the message header")
    assert parse_datagram(b"\x00\x05HEADN", 4) == ShortFrame(b"HEADZZ15", "no command code")
    assert parse_datagram(b"\x00\x00", 0) == ShortFrame(b"ZZ15", "no command code")


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [
        (b"", BadDatagram("empty", 0, None)),
        (b"\x00", BadDatagram("shorter than the length prefix", 1, None)),
        (b"\x00\x07HEADNC", BadDatagram("truncated frame", 8, 7)),
        (b"\x00\x05HEADNC", BadDatagram("bytes after the frame", 8, 5)),
        (encode(b"HEADNC") * 2, BadDatagram("bytes after the frame", 16, 6)),
        (b"\xff\xff", BadDatagram("truncated frame", 2, 65535)),
    ],
)
def test_a_datagram_that_is_not_exactly_one_frame_is_bad(datagram: bytes, expected: BadDatagram) -> None:
    """Empty, one byte, truncated, or with bytes after the frame: a BadDatagram naming why."""
    assert parse_datagram(datagram, 4) == expected


@given(header_len=st.integers(0, 32), datagram=st.binary(max_size=80))
def test_a_datagram_is_bad_exactly_when_its_prefix_does_not_match_its_size(header_len: int, datagram: bytes) -> None:
    """Anything with a matching prefix parses as its message; anything else is bad; never raises."""
    event = parse_datagram(datagram, header_len)
    if len(datagram) >= 2 and int.from_bytes(datagram[:2], "big") == len(datagram) - 2:
        assert event == parse_message(datagram[2:], header_len)
    else:
        assert isinstance(event, BadDatagram)


# --- properties --------------------------------------------------------------------------

headers = st.integers(0, 32).flatmap(lambda n: st.binary(min_size=n, max_size=n))
trailers = st.none() | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=32).map(str.encode)


@given(
    header=headers,
    command=st.binary(min_size=2, max_size=2),
    body=st.binary(max_size=300),
    trailer=trailers,
)
def test_encode_then_decode_round_trips(header: bytes, command: bytes, body: bytes, trailer: bytes | None) -> None:
    """Any frame whose body does not itself look like it ends in a trailer round-trips."""
    if trailer is None:
        assume(split_trailer(body)[1] is None)
    frame = Frame(header, command, body, trailer)
    assert decode_three_ways(encode(frame.to_message()), len(header)) == [frame]


# Streams made of real frames, short frames and raw noise, so that splits land in headers,
# trailers and length prefixes alike.
stream_parts = st.one_of(
    st.binary(max_size=80).map(encode),
    st.binary(max_size=6),
    st.builds(
        lambda body, tail: encode(b"HEADNC" + body + b"\x19" + tail),
        st.binary(max_size=20),
        st.binary(max_size=34),
    ),
)


@given(
    header_len=st.sampled_from([0, 4, 6, 12]),
    parts=st.lists(stream_parts, max_size=12),
    data=st.data(),
)
def test_splitting_a_stream_anywhere_gives_the_same_events(header_len: int, parts: list[bytes], data: st.DataObject) -> None:
    """Chunking never changes the events or the final in_frame state."""
    stream = b"".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert fuzz_harness.decode_chunks(chunks, header_len) == fuzz_harness.decode_chunks([stream], header_len)


@given(header_len=st.integers(0, 32), stream=st.binary(max_size=400), data=st.data())
def test_arbitrary_bytes_only_ever_yield_frames_short_frames_or_need_data(header_len: int, stream: bytes, data: st.DataObject) -> None:
    """The fuzz invariant: never raises, one event per complete frame, nothing else."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    fuzz_harness.check(stream, header_len, cuts)


@given(header_len=st.integers(0, 32), parts=st.lists(stream_parts, max_size=8))
def test_the_fuzz_invariant_holds_for_structured_streams(header_len: int, parts: list[bytes]) -> None:
    """Same invariant on streams that actually contain frames."""
    stream = b"".join(parts)
    fuzz_harness.check(stream, header_len, [len(stream) // 2])


def test_fuzz_harness_runs() -> None:
    """The standalone harness runs cases and finds no violation (short budget)."""
    assert fuzz_harness.run(0.2, seed=0) > 0
