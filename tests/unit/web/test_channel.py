"""The daemon <-> web child channel (web/channel.py): frames split anywhere reassemble, malformed frames
are counted drops, a frame longer than allowed ends the stream."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.web.channel import ChannelError, FrameDecoder, encode


def raw(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


MESSAGES = [{"t": "event", "kind": "instance", "data": {"name": "VI_1", "é": [1, 2.5, None]}},
            {"t": "reply", "id": 3, "body": None}, {"t": "ask", "id": 4, "what": "metrics", "full": True}]


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=20))
def test_frames_split_anywhere_come_out_whole(cuts: list[int]) -> None:
    stream = b"".join(encode(m) for m in MESSAGES)
    decoder = FrameDecoder(1 << 16)
    out, offset = [], 0
    for cut in cuts:
        out += decoder.feed(stream[offset:offset + cut])
        offset += cut
    out += decoder.feed(stream[offset:])
    assert out == MESSAGES and decoder.pending == 0 and decoder.drops == 0


def test_malformed_frames_are_counted_drops_and_the_stream_goes_on() -> None:
    decoder = FrameDecoder(1 << 20)
    stream = b"".join([raw(b"\xff\xfe"), raw(b"not json"), raw(b"[1]"), raw(b'{"t": 5}'), raw(b'{"x": 1}'),
                       raw(b"[" * 100_000), raw(b""), encode({"t": "ok"})])
    assert decoder.feed(stream) == [{"t": "ok"}]
    assert (decoder.drops, decoder.frames) == (7, 8)


def test_a_frame_longer_than_allowed_ends_the_stream() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(encode({"t": "a" * 80})) == [{"t": "a" * 80}]
    with pytest.raises(ChannelError):
        decoder.feed(struct.pack(">I", 101))
