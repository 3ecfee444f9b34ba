"""What ``pykeepalived run`` reads of the configuration before it listens for VRRP: which file, and
whether the file may name a ``net_namespace`` or an ``instance`` (or include a file that does).

Standard library only (``os``, ``re``): this runs before the early VRRP listener opens
(``net/early_listen.py``), and every import here delays it; importing the configuration's reader
and models (``config/load.py``) took ~250 ms.  Only a file that may have such a line is read in
full, by :func:`pykeepalived.config.load.early_settings`.
"""

from __future__ import annotations

import os
import re

DEFAULT_YAML_PATH = "/etc/pykeepalived/pykeepalived.yaml"
DEFAULT_KEEPALIVED_PATH = "/etc/keepalived/keepalived.conf"
EARLY_LINE = re.compile(rb"^[ \t]*(?:@\^?\S+[ \t]+)?(?:net_namespace|instance|include)\b", re.MULTILINE)
"""A line that may set ``net_namespace`` or ``instance`` (YAML or keepalived.conf, with an ``@ID``
prefix), or include a file that does."""


def default_config_path() -> str:
    """The YAML default if it exists, else keepalived's default path."""
    return DEFAULT_YAML_PATH if os.path.exists(DEFAULT_YAML_PATH) else DEFAULT_KEEPALIVED_PATH


def may_have_early_settings(raw: bytes) -> bool:
    """False when a configuration file's bytes cannot name a namespace or an instance."""
    return EARLY_LINE.search(raw) is not None


def file_may_have_early_settings(path: str, max_bytes: int = 16 << 20) -> bool:
    """:func:`may_have_early_settings` of the file at ``path`` (its first ``max_bytes``, the reader's
    limit); False when it cannot be read (the daemon's own load reports why)."""
    try:
        with open(path, "rb") as handle:
            return may_have_early_settings(handle.read(max_bytes))
    except (OSError, ValueError):
        return False
