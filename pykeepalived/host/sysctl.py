"""A network namespace's sysctl settings (``/proc/sys/net/...``), read and written by name
(``net.ipv4.igmp_link_local_mcast_reports``).  OSError when the setting is missing or cannot be
written; the caller decides whether that matters."""

from __future__ import annotations

PROC_SYS = "/proc/sys"
MAX_VALUE = 4096


class Sysctl:
    """Settings under ``root`` (``/proc/sys``; a directory in tests)."""

    def __init__(self, root: str = PROC_SYS) -> None:
        self.root = root

    def _path(self, name: str) -> str:
        if not name or "/" in name or ".." in name:
            raise ValueError(f"sysctl name {name!r}")
        return f"{self.root}/{name.replace('.', '/')}"

    def read(self, name: str) -> str:
        with open(self._path(name), encoding="utf-8") as handle:
            return handle.read(MAX_VALUE).strip()

    def write(self, name: str, value: str) -> None:
        with open(self._path(name), "w", encoding="utf-8") as handle:
            handle.write(value)
