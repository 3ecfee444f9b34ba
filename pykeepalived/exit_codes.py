"""Exit codes of every pykeepalived command, in one place (documented in docs/cli.md)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit statuses."""

    OK = 0
    """Success (a valid config; a decoded packet; a clean shutdown)."""
    INVALID = 1
    """Invalid input: a config with errors, a malformed packet."""
    USAGE = 2
    """Bad command line, or a file that is missing or unreadable."""
