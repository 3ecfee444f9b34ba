"""keepalived's ``enable_script_security`` rule, in one place for the validator, notify scripts and checks.

A script run as root must be one that only root can change: the file and every directory above it
owned by root, not writable by others (a sticky directory such as /tmp excepted) and not writable by
a group other than root's.  ``stat`` is injected so the validator can judge a described file system.
"""

from __future__ import annotations

import os
import stat as st
from collections.abc import Callable

StatFn = Callable[[str], os.stat_result | None]


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
