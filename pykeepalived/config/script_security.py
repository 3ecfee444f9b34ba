"""keepalived's script rules, in one place for the validator, notify scripts, vrrp_scripts and checks.

* ``enable_script_security``: :func:`unsafe_component`.
* Who a script runs as: :func:`script_identity` (``script_user`` / a script's own ``user``).
* How a script line becomes an argument list: :func:`split_command` (quotes honoured, no shell).

A script run as root must be one that only root can change: the file and every directory above it
owned by root, not writable by others (a sticky directory such as /tmp excepted) and not writable by
a group other than root's.  ``stat`` is injected so the validator can judge a described file system.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat as st
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

StatFn = Callable[[str], os.stat_result | None]

#: keepalived's default script user, used when it exists and ``script_user`` is not set
DEFAULT_SCRIPT_USER = "keepalived_script"


class SubprocessIdentity(TypedDict, total=False):
    """The keyword arguments of ``subprocess``/``asyncio.create_subprocess_exec`` that set who runs."""

    user: int
    group: int
    extra_groups: list[int]


class PasswdEntry(Protocol):
    """What is read of a ``pwd.getpwnam`` entry."""

    @property
    def pw_uid(self) -> int: ...

    @property
    def pw_gid(self) -> int: ...


class GroupEntry(Protocol):
    """What is read of a ``grp.getgrnam`` entry."""

    @property
    def gr_gid(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ScriptIdentity:
    """Who a script runs as: ``uid`` None means as the daemon itself; ``error`` set means the
    configured user or group does not exist, and the script must not run."""

    user: str | None = None
    uid: int | None = None
    gid: int | None = None
    error: str | None = None

    def subprocess_kwargs(self) -> SubprocessIdentity:
        """Keyword arguments for ``subprocess``/``asyncio.create_subprocess_exec``: the user, its group
        and no supplementary groups (keepalived's ``setgid``, ``setgroups``, ``setuid``)."""
        if self.uid is None or self.gid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


AS_DAEMON = ScriptIdentity()


def script_identity(
    user: str | None = None,
    group: str | None = None,
    *,
    default_user: str | None = None,
    default_group: str | None = None,
    euid: int | None = None,
    getpwnam: Callable[[str], PasswdEntry] = pwd.getpwnam,
    getgrnam: Callable[[str], GroupEntry] = grp.getgrnam,
) -> ScriptIdentity:
    """keepalived's rule for who runs a script, when the daemon runs as root (else: as the daemon).

    The script's own ``user [group]`` wins; else ``global_defs.script_user [group]``; else the user
    ``keepalived_script`` if it exists; else root.  The group defaults to the user's primary group.
    Running as root (uid 0 and gid 0) is :data:`AS_DAEMON`.
    """
    if (os.geteuid() if euid is None else euid) != 0:
        return AS_DAEMON
    if user is None:
        user, group = default_user, default_group
    if user is None:
        try:
            entry = getpwnam(DEFAULT_SCRIPT_USER)
        except KeyError:
            return AS_DAEMON
        return _identity(DEFAULT_SCRIPT_USER, entry.pw_uid, entry.pw_gid)
    try:
        entry = getpwnam(user)
    except KeyError:
        return ScriptIdentity(user, error=f"script user '{user}' does not exist")
    gid = entry.pw_gid
    if group is not None:
        try:
            gid = getgrnam(group).gr_gid
        except KeyError:
            return ScriptIdentity(user, error=f"script group '{group}' does not exist")
    return _identity(user, entry.pw_uid, gid)


def _identity(user: str, uid: int, gid: int) -> ScriptIdentity:
    return AS_DAEMON if uid == 0 and gid == 0 else ScriptIdentity(user, uid, gid)


def os_stat(path: str) -> os.stat_result | None:
    """``os.stat``, or None when the path cannot be examined."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def unsafe_component(path: str, stat: StatFn = os_stat, *, missing_is_unsafe: bool = True) -> str | None:
    """The first of ``path`` and its parent directories a non-root user could change, or None.

    A component that does not exist is returned as unsafe (a script that is not there cannot be
    trusted) unless ``missing_is_unsafe`` is False, when it is skipped (the validator reports missing
    scripts on its own).
    """
    current = os.path.normpath(path)
    while True:
        info = stat(current)
        if info is None:
            if missing_is_unsafe:
                return current
        elif _changeable_by_non_root(info):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _changeable_by_non_root(info: os.stat_result) -> bool:
    sticky_dir = st.S_ISDIR(info.st_mode) and bool(info.st_mode & st.S_ISVTX)
    if info.st_uid != 0:
        return True
    if info.st_mode & st.S_IWGRP and info.st_gid != 0:
        return True
    return bool(info.st_mode & st.S_IWOTH) and not sticky_dir


def split_command(command: str) -> list[str]:
    """A keepalived script line -> argv (quotes honoured, no shell)."""
    return shlex.split(command)


def script_argv(command: str | Sequence[str]) -> tuple[str, ...]:
    """A script given as one line or as a list -> argv."""
    return tuple(split_command(command)) if isinstance(command, str) else tuple(command)
