"""The host facts keepalived.data's ``Interfaces`` section shows, read from the kernel when a dump is
written (``/sys/class/net``, ``/proc/net/if_inet6`` and ``SIOCGIFADDR``; no netlink, no daemon state)."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

SIOCGIFFLAGS, SIOCGIFADDR = 0x8913, 0x8915
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST = 0x1, 0x2, 0x8, 0x40, 0x1000
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772
IPV6_SCOPE_LINK = 0x20


@dataclass(frozen=True, slots=True)
class InterfaceFacts:
    name: str
    index: int
    ipv4: str | None
    ipv6: str | None
    mac: str | None
    broadcast_mac: str | None
    flags: int
    mtu: int
    hw_type: int

    @property
    def state(self) -> str:
        """keepalived's ``State`` value: ``UP, RUNNING`` / ``not UP, not RUNNING`` and extras."""
        parts = ["UP" if self.flags & IFF_UP else "not UP",
                 "RUNNING" if self.flags & IFF_RUNNING else "not RUNNING"]
        if not self.flags & IFF_BROADCAST:
            parts.append("no broadcast")
        if self.flags & IFF_LOOPBACK:
            parts.append("loopback")
        if not self.flags & IFF_MULTICAST:
            parts.append("no multicast")
        return ", ".join(parts)

    @property
    def hw_type_name(self) -> str:
        return {ARPHRD_ETHER: "ETHERNET", ARPHRD_LOOPBACK: "LOOPBACK"}.get(self.hw_type, "UNKNOWN")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _int(text: str | None, base: int = 10) -> int:
    try:
        return int(text or "0", base)
    except ValueError:
        return 0


def _ipv4(name: str) -> str | None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("256s", name.encode()[:15])
        return socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)[20:24])
    return None


def _flags(name: str, fallback: int) -> int:
    """The flags as the kernel reports them to SIOCGIFFLAGS (with IFF_RUNNING, which sysfs lacks)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", name.encode()[:15], 0)
        return int(struct.unpack_from("H", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request), 16)[0])
    return fallback


def _link_local_ipv6() -> dict[str, str]:
    """Interface name -> its first link-local IPv6 address."""
    found: dict[str, str] = {}
    text = _read(Path("/proc/net/if_inet6")) or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or _int(fields[3], 16) != IPV6_SCOPE_LINK:
            continue
        with contextlib.suppress(ValueError):
            found.setdefault(fields[5], str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    return found


def interfaces(sys_net: Path = Path("/sys/class/net")) -> list[InterfaceFacts]:
    """Every interface of the current network namespace, by index."""
    try:
        names = socket.if_nameindex()
    except OSError:
        return []
    v6 = _link_local_ipv6()
    out = []
    for index, name in sorted(names):
        base = sys_net / name
        hw_type = _int(_read(base / "type"))
        out.append(InterfaceFacts(
            name, index, _ipv4(name), v6.get(name),
            _read(base / "address") if hw_type == ARPHRD_ETHER else None,
            _read(base / "broadcast") if hw_type == ARPHRD_ETHER else None,
            _flags(name, _int(_read(base / "flags"), 16)), _int(_read(base / "mtu")), hw_type))
    return out
