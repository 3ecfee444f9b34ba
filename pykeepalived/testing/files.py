"""A file system for config checks (:class:`pykeepalived.config.semantic.FileInspector`) that needs
no real scripts: every path is a root-owned executable, unless it contains one of ``missing``."""

from __future__ import annotations

import os
import stat


class RootOwnedScripts:
    """``stat``: a root-owned executable for every path, None for one containing a ``missing`` part;
    ``which``: ``<path_dir>/<name>``, or nothing found when ``path_dir`` is None."""

    def __init__(self, *, missing: tuple[str, ...] = ("/nonexistent",), path_dir: str | None = None) -> None:
        self.missing = missing
        self.path_dir = path_dir

    def which(self, name: str) -> str | None:
        return None if self.path_dir is None else f"{self.path_dir}/{name}"

    def stat(self, path: str) -> os.stat_result | None:
        if any(part in path for part in self.missing):
            return None
        return os.stat_result((stat.S_IFREG | 0o755, 0, 0, 1, 0, 0, 0, 0, 0, 0))
