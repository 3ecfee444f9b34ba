"""FILE_CHECK (keepalived 2.2.7): a real server's state and weight from the number in a ``track_file``.

The file is read (its first 127 bytes, as C's ``strtol(text, NULL, 0)`` reads them: leading blanks,
a sign, ``0x`` hex or ``0`` octal, digits up to the first other character; a missing, empty or
non-numeric file is 0; a number outside the 32-bit range is ignored and the previous value kept).
With weight 0 a non-zero value is down (``reverse``: a zero value); otherwise
``value x weight`` (negated with ``reverse``), clamped to 32 bits, is added to the real server's
weight, and the lowest value, -2147483648, is down.

keepalived watches the file with inotify; the scheduler reads it every second instead (a change is
seen within a second), which also catches a file replaced or edited in any way.
"""

from __future__ import annotations

import os
import re

from pykeepalived.check.probes import FileSpec
from pykeepalived.check.results import CheckResult

READ_BYTES = 127
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
_STRTOL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])|0)?([0-9a-fA-F]*)")


def parse_track_value(data: bytes) -> int | None:
    """The value in a track file's first bytes, as keepalived reads it; None if it is out of range
    (keepalived ignores it)."""
    match = _STRTOL.match(data[:READ_BYTES])
    assert match is not None  # the pattern matches the empty string
    sign, prefix, digits = match.groups()
    if prefix and prefix.lower() == b"0x":
        base, valid = 16, digits
    elif prefix:
        base, valid = 8, _leading(digits, b"01234567")
    else:
        base, valid = 10, _leading(digits, b"0123456789")
    value = int(valid, base) if valid else 0
    if sign == b"-":
        value = -value
    if value < INT32_MIN or value > INT32_MAX + 1:
        return None
    return value


def _leading(digits: bytes, allowed: bytes) -> bytes:
    end = 0
    while end < len(digits) and digits[end] in allowed:
        end += 1
    return digits[:end]


def file_status(value: int, weight: int, reverse: bool) -> int | None:
    """The weight offset ``value`` gives, or None when it means down."""
    if weight == 0:
        return None if (value != 0) != reverse else 0
    offset = value * weight * (-1 if reverse else 1)
    offset = max(INT32_MIN, min(INT32_MAX, offset))
    return None if offset == INT32_MIN else offset


def read_track_file(path: str) -> bytes:
    """The first bytes of the file; empty when it cannot be read (keepalived reads that as 0)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        return os.read(fd, READ_BYTES)
    except OSError:
        return b""
    finally:
        os.close(fd)


def file_offset(spec: FileSpec) -> int | None:
    """The file's verdict now: the weight offset, or None when down (the state a FILE_CHECK starts in)."""
    return file_status(parse_track_value(read_track_file(spec.path)) or 0, spec.weight, spec.reverse)


class FileProbe:
    """A callable FILE_CHECK probe: reads the file and judges its value (keeping the last valid one)."""

    __slots__ = ("spec", "value")

    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        self.value = 0

    async def __call__(self) -> CheckResult:
        value = parse_track_value(read_track_file(self.spec.path))
        if value is not None:
            self.value = value
        offset = file_status(self.value, self.spec.weight, self.spec.reverse)
        reason = f"track_file {self.spec.name} value {self.value}"
        if offset is None:
            return CheckResult.failure(reason)
        return CheckResult.success(0.0, reason, weight_offset=offset)
