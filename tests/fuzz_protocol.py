"""Fuzz harness for hsmd.protocol.FrameDecoder.

Invariant: for any byte stream, any header length 0-32 and any way of splitting the stream
into chunks, the decoder never raises, and every complete frame yields exactly one event:
either a Frame (which we dispatch) or a ShortFrame (a payShield error answer, 51 or 15).
Nothing else.  The events are the same however the stream is chunked, they equal those of
a naive reference parser, and the decoder reports ``in_frame`` exactly when bytes of an
incomplete frame remain.

Run from the repository root for a time budget (default 10 s)::

    .venv/bin/python -m tests.fuzz_protocol --seconds 60 [--seed N]

The test suite also runs :func:`run` for a fraction of a second.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time

from hsmd.protocol import (
    MAX_HEADER_LEN,
    NEED_DATA,
    Frame,
    FrameDecoder,
    ShortFrame,
    encode,
    parse_message,
)


def reference_events(stream: bytes, header_len: int) -> tuple[list[Frame | ShortFrame], int]:
    """Naive oracle: slice out each complete frame; return its events and the bytes used."""
    events: list[Frame | ShortFrame] = []
    pos = 0
    while len(stream) - pos >= 2:
        end = pos + 2 + int.from_bytes(stream[pos : pos + 2], "big")
        if end > len(stream):
            break
        events.append(parse_message(stream[pos + 2 : end], header_len))
        pos = end
    return events, pos


def decode_chunks(chunks: list[bytes], header_len: int) -> tuple[list[object], bool]:
    """Feed ``chunks`` one by one, pulling every event after each; return events, in_frame."""
    decoder = FrameDecoder(header_len)
    events: list[object] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while (event := decoder.next_event()) is not NEED_DATA:
            events.append(event)
    return events, decoder.in_frame


def check(stream: bytes, header_len: int, cuts: list[int]) -> None:
    """Assert the invariant for one stream split at ``cuts`` (sorted offsets)."""
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    expected, used = reference_events(stream, header_len)
    for events, in_frame in (
        decode_chunks([stream], header_len),
        decode_chunks(chunks, header_len),
    ):
        assert events == expected, (stream, header_len, cuts)
        assert in_frame == (used < len(stream)), (stream, header_len, cuts)
        for event in events:
            if isinstance(event, Frame):
                assert len(event.header) == header_len
                assert len(event.command) == 2
                encode(event.reply(b"00"))
            else:
                assert isinstance(event, ShortFrame)
                assert event.message[header_len + 2 :] in (b"51", b"15")
                assert len(event.message) == header_len + 4


def _random_frame(rng: random.Random, header_len: int) -> bytes:
    """A frame that is well formed, short, truncated or plain noise, biased to edge cases."""
    kind = rng.randrange(6)
    if kind == 0:  # noise, including absurd length prefixes
        return rng.randbytes(rng.randrange(8))
    if kind == 1:  # short frame: below header + command length
        return encode(rng.randbytes(rng.randrange(header_len + 2)))
    alphabet = b"\x19 ~\x7f\x00AZ09"
    body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(40)))
    if rng.random() < 0.3:
        body += rng.randbytes(rng.randrange(300))
    if kind == 2:  # trailer-like tail of random length around the 32-byte limit
        body += b"\x19" + bytes(rng.choice(b" A~") for _ in range(rng.randrange(36)))
    message = rng.randbytes(header_len) + rng.randbytes(2) + body
    wire = encode(message)
    if kind == 3:  # truncated: the next frame's bytes get read as this one's
        wire = wire[: rng.randrange(len(wire) + 1)]
    return wire


def one_case(rng: random.Random) -> None:
    header_len = rng.choice([0, 1, 4, 6, 12, MAX_HEADER_LEN, rng.randrange(33)])
    stream = b"".join(_random_frame(rng, header_len) for _ in range(rng.randrange(12)))
    cuts = sorted(rng.randrange(len(stream) + 1) for _ in range(rng.randrange(10)))
    check(stream, header_len, cuts)


def run(seconds: float, seed: int | None = None) -> int:
    """Check random cases for ``seconds``; return how many ran.  Raises on a violation."""
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    cases = 0
    while time.monotonic() < deadline:
        try:
            one_case(rng)
        except BaseException:
            print(f"invariant violated (seed={seed}, case={cases})")
            raise
        cases += 1
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz hsmd.protocol.FrameDecoder.")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    cases = run(args.seconds, args.seed)
    print(f"ok: {cases} cases, invariant held")


if __name__ == "__main__":
    main()
