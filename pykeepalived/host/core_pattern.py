"""``kernel.core_pattern`` for ``-M/--core-dump-pattern[=PATTERN]`` (keepalived's flag).

keepalived writes PATTERN (default ``core``) into ``/proc/sys/kernel/core_pattern`` at start, so that
a crash leaves a core file where the operator expects it, and writes the original value back when it
exits.  So does pykeepalived (``commands/run.py``).  The setting is the whole machine's (not a network
namespace's); a failure to read or write it is a warning, never a reason not to run.
"""

from __future__ import annotations

CORE_PATTERN = "/proc/sys/kernel/core_pattern"
DEFAULT_PATTERN = "core"
CORENAME_MAX_SIZE = 128
"""The kernel's limit on the pattern's length (include/linux/binfmts.h)."""


def set_core_pattern(pattern: str, path: str = CORE_PATTERN) -> str:
    """Write ``pattern``; returns the value it replaced.  OSError when the file cannot be read or
    written, ValueError for a pattern the kernel would refuse (too long, a newline)."""
    if not pattern or len(pattern) >= CORENAME_MAX_SIZE or "\n" in pattern:
        raise ValueError(f"core pattern {pattern!r} must be 1-{CORENAME_MAX_SIZE - 1} characters on one line")
    with open(path, encoding="utf-8") as handle:
        original = handle.read(CORENAME_MAX_SIZE).rstrip("\n")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(pattern)
    return original


def restore_core_pattern(original: str, path: str = CORE_PATTERN) -> None:
    """Write the value :func:`set_core_pattern` replaced back (OSError if it cannot)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(original)
