"""The one channel between the daemon and its web child (``web/child.py``): length-prefixed JSON frames.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON, an object with a ``"t"``
(its type) key.  :class:`FrameDecoder` is pure (bytes in, messages out): a frame that is not valid
UTF-8 JSON, not an object or has no string ``"t"`` is a counted drop (``drops``) and the stream goes
on with the next frame; a length above ``max_frame`` cannot be skipped safely (the stream may be
desynchronised) and raises :class:`ChannelError`: the reader closes the channel (the daemon then
restarts the child).  The daemon never trusts what the child sends: it decodes with a small
``max_frame`` and checks every field it reads (``web/supervisor.py``).

Messages, daemon -> child: ``{"t": "event", "id", "kind", "data", "at"}`` (for ``/events``) and
``{"t": "reply", "id", "body"}``; child -> daemon: ``{"t": "ask", "id", "what": "metrics" | "status" |
"health", "full": bool}`` and ``{"t": "counters", ...}`` (the endpoint's own counts, for the status
document's ``web`` part).  Standard library only: the daemon imports this module.
"""

from __future__ import annotations

import array
import base64
import json
import struct
import sys
from collections.abc import Mapping

HEADER = struct.Struct(">I")
MAX_FROM_CHILD = 64 * 1024
"""What the daemon accepts in one frame from the child (asks and counters are small)."""
MAX_FROM_DAEMON = 256 * 1024 * 1024
"""What the child accepts from the daemon (a whole status document of many instances)."""

Message = dict[str, object]
COUNTER_FIELDS = ("pri_zero_sent", "pri_zero_rcvd", "become_master", "release_master", "addr_list_err",
                  "split_brain_detected", "master_down_timer_expired")
"""A VRRP instance's other counters (``VrrpStats`` fields), in the order of a row's ``counters``
(``web/values.py`` writes them, ``web/vrrp_metrics.py`` reads them)."""


def pack_counters(values: list[int]) -> str:
    """Counters as base64 of little-endian unsigned 64-bit integers: a fifth of the time JSON takes
    to write a list of 255 numbers."""
    packed = array.array("Q", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def unpack_counters(text: str) -> list[int]:
    """:func:`pack_counters` undone; ``ValueError`` for anything else."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 8:
        raise ValueError("counters: not a whole number of 64-bit integers")
    values = array.array("Q")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


class ChannelError(Exception):
    """The stream cannot be read on (a frame longer than allowed): close the channel."""


_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""One encoder for every frame: ``json.dumps`` with arguments builds a new encoder (and its C
scanner) at each call, which costs more than a small frame's encoding when the code is cold."""


def encode(message: Mapping[str, object]) -> bytes:
    """One frame: the length, then compact JSON."""
    body = _ENCODER.encode(message).encode()
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Feed it bytes as they come; it returns the whole messages among them (see the module
    docstring for what is dropped and what raises)."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self.drops = 0
        """Frames dropped: not JSON, not an object, no ``"t"``."""
        self.frames = 0

    def feed(self, data: bytes) -> list[Message]:
        buffer = self._buffer
        buffer += data
        out: list[Message] = []
        offset = 0
        size = HEADER.size
        while len(buffer) - offset >= size:
            (length,) = HEADER.unpack_from(buffer, offset)
            if length > self.max_frame:
                raise ChannelError(f"frame of {length} bytes (at most {self.max_frame})")
            end = offset + size + length
            if len(buffer) < end:
                break
            message = self._message(bytes(buffer[offset + size:end]))
            offset = end
            if message is not None:
                out.append(message)
        del buffer[:offset]
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame kept for the next ``feed``."""
        return len(self._buffer)

    def _message(self, body: bytes) -> Message | None:
        self.frames += 1
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            value = None
        if not isinstance(value, dict) or not isinstance(value.get("t"), str):
            self.drops += 1
            return None
        return value
