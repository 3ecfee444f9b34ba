"""The project's one exception tree.

Every error pykeepalived raises on purpose derives from :class:`PykaError`.  Library code raises
these (or logs) and never prints; only the command line turns them into messages and exit codes.
This module imports nothing from the package.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~4 ms of import: `pykeepalived run` imports this before listening
if TYPE_CHECKING:
    from collections.abc import Sequence


class PykaError(Exception):
    """Base of every error pykeepalived raises on purpose."""


class UsageError(PykaError):
    """The caller (a person at the command line, or code using the API) asked for something invalid."""


class PacketError(PykaError):
    """Bytes from the wire that are not a valid VRRP advertisement.

    ``reason`` is a short stable code (``"checksum_err"``, ``"ip_ttl_err"`` ...) used for drop counters;
    the message says what was wrong in words.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ConfigError(PykaError):
    """A configuration that cannot be used; ``diagnostics`` lists every problem found.

    They are :class:`pykeepalived.config.diagnostics.Diagnostic` objects, typed ``object`` here
    because this module imports nothing from the package: a reader narrows with ``isinstance``."""

    def __init__(self, message: str, diagnostics: Sequence[object] | None = None) -> None:
        super().__init__(message)
        self.diagnostics: list[object] = list(diagnostics or [])


class DriverError(PykaError):
    """A kernel or system operation failed (netlink, IPVS, sockets)."""

    def __init__(self, op: str, message: str, errno: int | None = None) -> None:
        super().__init__(f"{op}: {message}")
        self.op = op
        self.errno = errno
