"""Per-interface kernel settings under ``/proc/sys/net`` (read, write, and restore on exit).

``/proc/sys/net`` shows the network namespace of the process that opens the file, so these helpers
act on the *current* namespace, like every adapter in ``pykeepalived.net``.  Interface names are
used as directory names verbatim (``vrrp.1`` stays ``vrrp.1``; only the ``sysctl`` command turns
dots into slashes).
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pykeepalived.errors import DriverError, UsageError

log = logging.getLogger(__name__)

Family = Literal[4, 6]
PROC_SYS = Path("/proc/sys")
ADDR_GEN_MODE_NONE = 1
"""``net.ipv6.conf.IF.addr_gen_mode`` ``IN6_ADDR_GEN_MODE_NONE``: the kernel adds no link-local address
of its own (a VMAC, the BGP part's announce interface)."""


def _check_component(name: str, what: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        raise UsageError(f"invalid {what} for a sysctl path: {name!r}")


def iface_key(family: Family, ifname: str, setting: str) -> str:
    """The sysctl key (relative to ``/proc/sys``) of ``setting`` for one interface.

    >>> iface_key(4, "vrrp.1", "arp_ignore")
    'net/ipv4/conf/vrrp.1/arp_ignore'
    """
    _check_component(ifname, "interface name")
    _check_component(setting, "setting")
    return f"net/ipv{family}/conf/{ifname}/{setting}"


@dataclass(slots=True)
class Sysctl:
    """Reads and writes sysctl keys such as ``net/ipv4/conf/eth0/arp_ignore``.

    ``root`` is injectable so unit tests can point it at a temporary directory.
    """

    root: Path = PROC_SYS

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise UsageError(f"invalid sysctl key: {key!r}")
        return self.root.joinpath(*parts)

    def read(self, key: str) -> str:
        """The current value, stripped; raises DriverError if the key cannot be read."""
        try:
            return self._path(key).read_text().strip()
        except OSError as exc:
            raise DriverError("sysctl read", f"{key}: {exc.strerror}", exc.errno) from exc

    def write(self, key: str, value: str | int) -> None:
        """Set a value; raises DriverError if the kernel refuses it."""
        try:
            self._path(key).write_text(f"{value}\n")
        except OSError as exc:
            raise DriverError("sysctl write", f"{key}={value}: {exc.strerror}", exc.errno) from exc

    def iface_read(self, family: Family, ifname: str, setting: str) -> str:
        return self.read(iface_key(family, ifname, setting))

    def ipv6_forwarding(self, ifname: str) -> bool:
        """Whether IPv6 forwarding is on for ``ifname`` (unsolicited NA then carries the Router flag)."""
        try:
            return self.iface_read(6, ifname, "forwarding") == "1"
        except DriverError:
            return False


@dataclass(slots=True)
class SysctlChanges:
    """Sets sysctl values and remembers the originals so :meth:`restore` can put them back.

    The first original seen for a key is the one restored, so setting a key twice (two VMACs on one
    parent) does not lose the value from before the daemon started.
    """

    sysctl: Sysctl = field(default_factory=Sysctl)
    _originals: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: str | int) -> None:
        current = self.sysctl.read(key)
        self._originals.setdefault(key, current)
        if current != str(value):
            self.sysctl.write(key, value)
            log.debug("sysctl set key=%s old=%s new=%s", key, current, value)

    def set_iface(self, family: Family, ifname: str, setting: str, value: str | int) -> None:
        self.set(iface_key(family, ifname, setting), value)

    @property
    def changed_keys(self) -> tuple[str, ...]:
        return tuple(self._originals)

    def forget_iface(self, family: Family, ifname: str) -> None:
        """Drop the saved originals of an interface that is gone (a deleted VMAC)."""
        prefix = f"net/ipv{family}/conf/{ifname}/"
        for key in [k for k in self._originals if k.startswith(prefix)]:
            del self._originals[key]

    def restore(self, prefix: str = "") -> list[DriverError]:
        """Restore every saved key under ``prefix``; returns the failures instead of raising."""
        errors: list[DriverError] = []
        for key in [k for k in self._originals if k.startswith(prefix)]:
            original = self._originals.pop(key)
            try:
                self.sysctl.write(key, original)
            except DriverError as exc:
                if exc.errno != errno.ENOENT:  # the interface is gone, nothing to restore
                    log.warning("sysctl restore failed key=%s error=%s", key, exc)
                    errors.append(exc)
        return errors
