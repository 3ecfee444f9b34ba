"""Interface facts and raw Ethernet frame transmission, in the current network namespace.

* :func:`parse_mac` / :func:`format_mac`: MAC address text <-> 6 bytes.
* :func:`interface_index` and :func:`interface_mac`: ``if_nametoindex`` and the ``SIOCGIFHWADDR``
  ioctl, both answered by the namespace of the socket used, i.e. the current one (``/sys/class/net``
  is avoided on purpose: it shows the namespace sysfs was mounted in).
* :func:`primary_address`: the one way to find the address adverts are sent from when none is
  configured: the interface's primary IPv4 address (``SIOCGIFADDR``) or its IPv6 link-local
  address (``/proc/net/if_inet6``, which also answers for the current namespace).
* :class:`SystemHost`: the host facts ``pykeepalived check --host`` checks a configuration against
  (:mod:`pykeepalived.config.host`): the interfaces of the current namespace.
* :class:`FrameSender`: a send-only ``AF_PACKET``/``SOCK_RAW`` socket bound to one interface that
  sends frames of one EtherType, used by the gratuitous ARP and unsolicited NA senders.  Send
  errors are logged (once per errno until a send succeeds again) and counted; they never raise.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.config.types import check_ifname
from pykeepalived.errors import DriverError, PykaError, UsageError
from pykeepalived.wire import MAC_LEN

log = logging.getLogger(__name__)

ETH_HEADER_LEN = 14
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST_MAC = b"\xff" * MAC_LEN
SIOCGIFHWADDR = 0x8927
SIOCGIFADDR = 0x8915
IF_INET6 = "/proc/net/if_inet6"


def parse_mac(text: str) -> bytes:
    """``"00:00:5e:00:01:0a"`` (or ``-`` separated) -> 6 bytes; UsageError if malformed."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != MAC_LEN or not all(len(p) in (1, 2) for p in parts):
        raise UsageError(f"invalid MAC address: {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise UsageError(f"invalid MAC address: {text!r}") from None


def format_mac(mac: bytes) -> str:
    if len(mac) != MAC_LEN:
        raise UsageError(f"a MAC address has 6 bytes, got {len(mac)}")
    return ":".join(f"{b:02x}" for b in mac)


def interface_index(ifname: str) -> int:
    """The ifindex of ``ifname`` in the current namespace; DriverError(ENODEV) if absent."""
    check_ifname(ifname)
    try:
        return socket.if_nametoindex(ifname)
    except OSError as exc:
        raise DriverError("if_nametoindex", f"no interface {ifname!r}", errno.ENODEV) from exc


class SystemHost:
    """The current network namespace, as :class:`pykeepalived.config.host.HostFacts`."""

    def interfaces(self) -> frozenset[str]:
        return frozenset(name for _, name in socket.if_nameindex())

    def mpls(self) -> bool:
        return os.path.isdir("/proc/sys/net/mpls")


def interface_mac(ifname: str) -> bytes:
    """The hardware address of ``ifname`` (SIOCGIFHWADDR); DriverError if it has none or is absent."""
    check_ifname(ifname)
    request = struct.pack("16s16x", ifname.encode())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, request)
        except OSError as exc:
            raise DriverError("SIOCGIFHWADDR", f"{ifname}: {exc.strerror}", exc.errno) from exc
    # struct ifreq: 16-byte name, then struct sockaddr {u16 sa_family; char sa_data[14]}
    return bytes(reply[18 : 18 + MAC_LEN])


def link_mac(ifname: str) -> bytes | None:
    """:func:`interface_mac`, or None when ``ifname`` has no MAC or does not exist (the plans'
    ``parent_mac``: an IPv6 VMAC's address is made from it when its parent has no link-local one)."""
    try:
        return interface_mac(ifname)
    except PykaError:
        return None


def primary_address(ifname: str, family: int) -> IPv4Address | IPv6Address | None:
    """The address adverts are sent from when no ``unicast_src_ip``/``mcast_src_ip`` is set (as
    keepalived): the interface's primary IPv4 address, or its first IPv6 link-local address; None
    when it has none (or does not exist)."""
    if family == 4:
        request = struct.pack("256s", ifname.encode()[:15])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
        except OSError:
            return None
        return IPv4Address(raw[20:24])
    try:
        with open(IF_INET6) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[5] == ifname:
            address = IPv6Address(bytes.fromhex(fields[0]))
            if address.is_link_local:
                return address
    return None


@dataclass(slots=True)
class SendCounters:
    """What a sender did; the daemon copies these into ``status --json``."""

    sent: int = 0
    errors: int = 0
    errors_by_errno: dict[str, int] = field(default_factory=dict)

    def count_error(self, err: int | None) -> None:
        self.errors += 1
        name = errno.errorcode.get(err or 0, str(err))
        self.errors_by_errno[name] = self.errors_by_errno.get(name, 0) + 1


@dataclass(slots=True)
class _ErrorLog:
    """Logs an errno once, then stays quiet about it until a send succeeds (no log floods)."""

    last: int | None = None

    def failed(self, what: str, exc: OSError) -> None:
        if exc.errno != self.last:
            log.warning("%s failed errno=%s error=%s", what, errno.errorcode.get(exc.errno or 0), exc)
        self.last = exc.errno

    def succeeded(self) -> None:
        self.last = None


class FrameSender:
    """Sends complete Ethernet frames on one interface through an AF_PACKET raw socket.

    The socket is non-blocking; a frame that cannot be queued (EAGAIN, ENETDOWN, ENXIO ...) is
    logged and counted, never raised.  Opening needs CAP_NET_RAW and raises DriverError otherwise.

    The socket is opened and bound with protocol 0, so it never registers a receive hook: it gets
    no copies of the interface's traffic, and binding does not wait for an RCU grace period
    (``synchronize_net``), which re-binding a receiving packet socket to a device does -- 10-20 ms
    measured, paid on the first GARP of a takeover when the sender is created then.  Each frame is
    sent with ``sendto`` naming the interface and the EtherType (``skb->protocol``).
    """

    def __init__(self, ifname: str, ethertype: int) -> None:
        self.ifname = ifname
        self.ethertype = ethertype
        self.counters = SendCounters()
        self._errors = _ErrorLog()
        self._ifindex = interface_index(ifname)
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as exc:
            raise DriverError("AF_PACKET socket", exc.strerror or str(exc), exc.errno) from exc
        self._address = (ifname, ethertype)
        try:
            self._sock.setblocking(False)
            self._sock.bind((ifname, 0))
        except OSError as exc:
            self._sock.close()
            raise DriverError("AF_PACKET bind", f"{ifname}: {exc.strerror}", exc.errno) from exc

    def send(self, frame: bytes) -> bool:
        """Send one frame; True if the kernel took it."""
        try:
            self._sock.sendto(frame, self._address)
        except OSError as exc:
            self.counters.count_error(exc.errno)
            self._errors.failed(f"frame send ifname={self.ifname}", exc)
            return False
        self.counters.sent += 1
        self._errors.succeeded()
        return True

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> FrameSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
