"""A virtual address as one value, from the config to netlink.

:class:`Vip` is what a ``virtual_ipaddress`` (or ``virtual_ipaddress_excluded``) line says: the address
with its prefix, the device, label and scope, and whether it is advertised.  The mapping from the
config (:mod:`pykeepalived.vrrp.from_config`) builds it, the executor hands it to the VIP adapter
unchanged, and the adapter (:mod:`pykeepalived.net.addresses`) encodes its netlink request from it.
The state machine only sees the bare addresses (the advert's address list).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_interface
from typing import Literal

from pykeepalived.config.model_extras import AddressOptions
from pykeepalived.config.types import check_ifname
from pykeepalived.errors import UsageError

IPInterface = IPv4Interface | IPv6Interface
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
"""Address scopes by name (iproute2's names) -> the kernel's numbers."""
MAX_LABEL_LEN = 15


@dataclass(frozen=True, slots=True)
class Vip:
    """One virtual address as keepalived's ``virtual_ipaddress`` line describes it.

    ``address`` carries the prefix (``198.51.100.10/24``; a bare address means /32 or /128).
    ``broadcast``: an address, or True to derive it from the prefix (``brd +``).  ``scope``: a name
    from :data:`SCOPES` or a number.  ``preferred_lft_s`` 0 marks an IPv6 VIP deprecated (never
    chosen as a source address); None means forever (IPv4 addresses have no preferred lifetime:
    it is not sent for them, as keepalived).  ``peer``: the far end of a point-to-point address
    (``peer IP/PREFIX``: ``address`` then carries the peer's prefix).  ``home``, ``mngtmpaddr``,
    ``noprefixroute``, ``autojoin``: the kernel's address flags of those names (iproute2's words).
    ``no_track``: deleted from outside, the address is left deleted (see :func:`restore_on_delete`).
    ``excluded``: a ``virtual_ipaddress_excluded`` address, held while MASTER but not listed in
    adverts.
    """

    address: IPInterface
    dev: str
    label: str | None = None
    scope: int | str | None = None
    broadcast: IPv4Address | bool | None = None
    nodad: bool = True
    preferred_lft_s: int | None = None
    excluded: bool = False
    peer: IPv4Address | IPv6Address | None = None
    home: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    no_track: bool = False

    def __post_init__(self) -> None:
        check_ifname(self.dev)
        if isinstance(self.scope, str) and self.scope not in SCOPES:
            raise UsageError(f"unknown scope {self.scope!r}; expected one of {', '.join(SCOPES)}")
        label = self.label
        if label is not None and (len(label) > MAX_LABEL_LEN or not label.startswith(self.dev)):
            raise UsageError(f"label {self.label!r} must start with the device name and be < 16 chars")
        if self.broadcast not in (None, False) and self.address.version == 6:
            raise UsageError("IPv6 addresses have no broadcast address")
        if self.peer is not None:
            if self.peer.version != self.address.version:
                raise UsageError(f"peer {self.peer} is not of the family of {self.address.ip}")
            if self.broadcast not in (None, False):
                raise UsageError("an address with a peer has no broadcast address")

    @classmethod
    def parse(cls, text: str, dev: str, *, label: str | None = None, scope: int | str | None = None,
              broadcast: IPv4Address | bool | None = None, nodad: bool = True,
              preferred_lft_s: int | None = None, excluded: bool = False) -> Vip:
        """``Vip.parse("198.51.100.10/24", "eth0", label=...)``; UsageError for a bad address."""
        try:
            address = ip_interface(text)
        except ValueError as exc:
            raise UsageError(f"invalid VIP {text!r}: {exc}") from None
        return cls(address, dev, label, scope, broadcast, nodad, preferred_lft_s, excluded)

    @property
    def ip(self) -> IPv4Address | IPv6Address:
        """The bare address (what adverts list)."""
        return self.address.ip

    @property
    def family(self) -> Literal[4, 6]:
        return 4 if self.address.version == 4 else 6

    @property
    def scope_number(self) -> int | None:
        """The scope as the kernel's number (None: not set, the kernel's default)."""
        return SCOPES[self.scope] if isinstance(self.scope, str) else self.scope


def restore_on_delete(vips: Iterable[Vip], address: IPInterface, ifname: str | None) -> tuple[Vip, ...]:
    """The VIPs of a MASTER to add back when ``address`` vanished from ``ifname`` (None: unknown
    device) behind the daemon's back: every one it names but those marked ``no_track``, which stay
    deleted without any other consequence (no FAULT, no new announcement), as in keepalived."""
    return tuple(vip for vip in vips
                 if vip.address == address and ifname in (None, vip.dev) and not vip.no_track)


def vip_of(line: AddressOptions, dev: str, *, label: str | None = None, scope: int | str | None = None,
           excluded: bool = False) -> Vip:
    """The :class:`Vip` of a ``virtual_ipaddress`` / ``static_ipaddress`` line on ``dev``: with a
    peer the address takes the peer's prefix; ``brd +`` / ``brd -`` are the prefix's broadcast /
    network address; ``preferred_lft`` applies to IPv6 only (``forever``: None)."""
    address: IPInterface = line.address
    peer = None
    if line.peer is not None:
        address = ip_interface(f"{line.address.ip}/{line.peer.network.prefixlen}")
        peer = line.peer.ip
    broadcast: IPv4Address | None = None
    if isinstance(address, IPv4Interface):
        if line.brd == "+":
            broadcast = address.network.broadcast_address
        elif line.brd == "-":
            broadcast = address.network.network_address
        elif isinstance(line.brd, IPv4Address):
            broadcast = line.brd
    preferred = line.preferred_lft if address.version == 6 and line.preferred_lft != "forever" else None
    assert not isinstance(preferred, str)
    return Vip(address, dev, label, scope, broadcast, preferred_lft_s=preferred, excluded=excluded,
               peer=peer, home=line.home, mngtmpaddr=line.mngtmpaddr, noprefixroute=line.noprefixroute,
               autojoin=line.autojoin, no_track=line.no_track)
