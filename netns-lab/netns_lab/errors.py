"""The lab's exceptions: one small tree, separate from pykeepalived's (the lab is test infrastructure)."""

from __future__ import annotations


class LabError(Exception):
    """Anything the lab could not do: a command failed, a deadline passed, a name was bad."""


class AddressRefused(LabError, ValueError):
    """An address outside the lab's documentation ranges (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)."""


class CommandFailed(LabError):
    """A command run in a namespace exited non-zero (argv, return code and output are kept)."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"command {argv!r} exited {returncode}: {stderr.strip() or stdout.strip()}")


class WaitTimeout(LabError, TimeoutError):
    """wait_until() gave up: the predicate never became true before the deadline."""


class ProcessExited(LabError):
    """A process the lab waits on exited early; wait_until() stops at once when a predicate raises this."""
