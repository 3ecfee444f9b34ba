"""Entering a named network namespace (keepalived's ``-s/--namespace NAME``).

``enter(name)`` moves the calling process into ``/run/netns/NAME`` (what ``ip netns add NAME``
creates) with ``setns(2)``; everything opened afterwards (VRRP sockets, netlink, IPVS) belongs to
that namespace.  It must happen before any socket is opened, and a failure is fatal for the caller:
a daemon meant for a namespace must never run in the one it was started from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re

from pykeepalived.errors import UsageError

NETNS_DIRS = ("/run/netns", "/var/run/netns")
CLONE_NEWNET = 0x40000000
_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}\Z")


def path_of(name: str) -> str:
    """The bind mount of a named namespace; UsageError for a name that cannot be one."""
    if not _NAME.match(name) or name in (".", ".."):
        raise UsageError(f"invalid network namespace name {name!r}")
    for directory in NETNS_DIRS:
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            return candidate
    raise UsageError(f"network namespace {name!r} does not exist (ip netns add {name})")


def enter(name: str) -> None:
    """Join the network namespace ``name``; UsageError if it does not exist or cannot be joined."""
    path = path_of(name)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(fd)
    except OSError as exc:
        raise UsageError(f"cannot enter network namespace {name!r}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
