"""Logging set-up for the daemon: the only place that configures handlers.

``-l`` logs to the console (stderr), otherwise to syslog when ``/dev/log`` exists (keepalived's
default) and to stderr when it does not.  ``-D`` turns on detail (DEBUG).  keepalived's other log
flags are :class:`LogTargets`: ``-S/--log-facility`` (syslog facility), ``-g/--log-file [FILE]``
(also to a file; every line is flushed, so ``--flush-log-file`` is always in effect) and
``-G/--no-syslog`` (never syslog; the console then, unless a file is given).  Per-instance messages
go through :class:`InstanceLogger`, which prefixes ``[VRID n][iface][v4]``.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from pykeepalived.errors import UsageError

if TYPE_CHECKING:
    from pykeepalived.net.netlink_watch import AddressEvent

LogKwargs = MutableMapping[str, object]
"""A logging call's keyword arguments (``exc_info``, ``extra`` ...), as LoggerAdapter.process takes them."""
ROOT_LOGGER = "pykeepalived"
SYSLOG_SOCKET = "/dev/log"
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SYSLOG_FORMAT = "pykeepalived[%(process)d]: %(message)s"


_FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON, "user": logging.handlers.SysLogHandler.LOG_USER,
    **{f"local{n}": logging.handlers.SysLogHandler.LOG_LOCAL0 + n for n in range(8)},
}


@dataclass(frozen=True, slots=True)
class LogTargets:
    """keepalived's ``-S``, ``-g`` and ``-G``: syslog facility, an extra log file, no syslog."""

    facility: int = logging.handlers.SysLogHandler.LOG_DAEMON
    file: str | None = None
    syslog: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LogTargets:
        """From the command line (``log_facility``, ``log_file``, ``no_syslog``); UsageError for a
        facility keepalived does not know (0-7 and local0-7 are LOG_LOCAL0-7, or daemon, user)."""
        given = vars(args)
        facility, log_file = given.get("log_facility"), given.get("log_file")
        daemon = logging.handlers.SysLogHandler.LOG_DAEMON
        return cls(daemon if facility is None else parse_facility(str(facility)),
                   None if log_file is None else str(log_file), not given.get("no_syslog", False))


def parse_facility(text: str) -> int:
    name = f"local{text}" if text.isdigit() else text.lower()
    if name not in _FACILITIES:
        raise UsageError(f"unknown log facility {text!r} (0-7, local0-7, daemon or user)")
    return _FACILITIES[name]


def setup_logging(
    *, console: bool, detail: bool, stream: TextIO | None = None, syslog_socket: str = SYSLOG_SOCKET,
    targets: LogTargets | None = None,
) -> logging.Logger:
    """Configure the ``pykeepalived`` logger tree and return its root; idempotent."""
    targets = targets or LogTargets()
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    if targets.file is not None:
        handlers.append(logging.FileHandler(targets.file))  # flushes every record
        handlers[-1].setFormatter(logging.Formatter(CONSOLE_FORMAT))
    use_syslog = targets.syslog and not console and os.path.exists(syslog_socket)
    if use_syslog:
        handlers.append(logging.handlers.SysLogHandler(address=syslog_socket, facility=targets.facility))
        handlers[-1].setFormatter(logging.Formatter(SYSLOG_FORMAT))
    if console or not handlers:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
        handlers[-1].setFormatter(logging.Formatter(CONSOLE_FORMAT))
    for new in handlers:
        logger.addHandler(new)
    logger.setLevel(logging.DEBUG if detail else logging.INFO)
    logger.propagate = False
    return logger


def family_name(family: int | str) -> str:
    """``4``/``"v4"``/``"ipv4"`` -> ``"v4"`` (and the same for 6)."""
    text = str(family).lower().removeprefix("ip").removeprefix("v")
    return f"v{text}"


class InstanceLogger(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every message with ``[VRID n][iface][v4]``."""

    def __init__(self, logger: logging.Logger, vrid: int, interface: str, family: int | str) -> None:
        super().__init__(logger, {"vrid": vrid, "interface": interface, "family": family_name(family)})
        self.prefix = f"[VRID {vrid}][{interface}][{family_name(family)}]"

    def process(self, msg: object, kwargs: LogKwargs) -> tuple[object, LogKwargs]:
        return f"{self.prefix} {msg}", kwargs


def set_syslog_ident(ident: str) -> None:
    """Name the daemon in syslog as ``ident[PID]`` (keepalived's ``Keepalived_NS_INSTANCE``)."""
    for handler in logging.getLogger(ROOT_LOGGER).handlers:
        if isinstance(handler, logging.handlers.SysLogHandler):
            handler.setFormatter(logging.Formatter(SYSLOG_FORMAT.replace("pykeepalived", ident, 1)))


def log_address(on_address: Callable[[AddressEvent], None]) -> Callable[[AddressEvent], None]:
    """``-a``: every address event is logged as keepalived logs it, then handled as usual."""
    watch_log = logging.getLogger(f"{ROOT_LOGGER}.netlink")

    def logged(event: AddressEvent) -> None:
        watch_log.info("Netlink reflector reports IP %s %s %s", event.address.ip,
                       "added to" if event.present else "removed from", event.ifname or event.ifindex)
        on_address(event)

    return logged
