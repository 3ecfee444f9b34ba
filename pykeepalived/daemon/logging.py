"""Logging set-up for the daemon: the only place that configures handlers.

``-l`` logs to the console (stderr), otherwise to syslog when ``/dev/log`` exists (keepalived's
default) and to stderr when it does not.  ``-D`` turns on detail (DEBUG).  Per-instance messages go
through :class:`InstanceLogger`, which prefixes ``[VRID n][iface][v4]``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

LogKwargs = MutableMapping[str, Any]  # Any: a logging call's keyword arguments (logging.LoggerAdapter's type)
ROOT_LOGGER = "pykeepalived"
SYSLOG_SOCKET = "/dev/log"
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SYSLOG_FORMAT = "pykeepalived[%(process)d]: %(message)s"


def setup_logging(
    *, console: bool, detail: bool, stream: TextIO | None = None, syslog_socket: str = SYSLOG_SOCKET
) -> logging.Logger:
    """Configure the ``pykeepalived`` logger tree and return its root; idempotent."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    new: logging.Handler
    if console or not os.path.exists(syslog_socket):
        new = logging.StreamHandler(stream or sys.stderr)
        new.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    else:
        new = logging.handlers.SysLogHandler(
            address=syslog_socket, facility=logging.handlers.SysLogHandler.LOG_DAEMON
        )
        new.setFormatter(logging.Formatter(SYSLOG_FORMAT))
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
